//! Property tests ("fuzzing" with proptest) of the frame splitter, the code every source's bytes go
//! through: whatever arrives (garbage, tags, broken and valid frames, in any chunking), it never
//! panics, holds a bounded amount of memory, passes on only whole frames whose headers parse, accounts
//! for every byte, and cuts a clean stream into the same frames however the bytes are chunked. The
//! seed corpus in `fuzz-corpus/` (inputs that once mattered: tags, truncated frames, false syncs) runs
//! first, on every test run; proptest keeps the failing cases it finds in `proptest-regressions/` next
//! to this file, which is committed too.

use std::path::PathBuf;

use livestreamer_mp3::{FrameHeader, FrameSplitter};
use proptest::prelude::*;

/// The longest Layer III frame (MPEG-1, 320 kbit/s, 32 kHz, padded) plus a header and a tag header.
const MAX_PENDING: usize = 1441 + 4 + 10;

/// Splits `stream` fed in chunks of `sizes` (cycled), checking the invariants on the way.
fn split_checked(stream: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    split_counted(stream, sizes).0
}

/// [`split_checked`], also giving the bytes the splitter discarded.
fn split_counted(stream: &[u8], sizes: &[usize]) -> (Vec<Vec<u8>>, u64) {
    let mut splitter = FrameSplitter::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    for size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).max(1).min(rest.len()));
        rest = tail;
        splitter.push(chunk);
        while let Some(frame) = splitter.next_frame() {
            frames.push(frame.to_vec());
        }
        assert!(
            splitter.pending() <= MAX_PENDING,
            "pending {} after a chunk of {}",
            splitter.pending(),
            chunk.len()
        );
    }
    frames.extend(splitter.finish().map(|f| f.to_vec()));
    for frame in &frames {
        let header = FrameHeader::parse(frame).expect("every frame starts with a header");
        assert_eq!(frame.len(), header.frame_len(), "every frame is whole");
    }
    assert_eq!(splitter.pending(), 0, "finish leaves nothing behind");
    (frames, splitter.discarded())
}

/// A valid Layer III frame from a few random choices.
fn valid_frame() -> impl Strategy<Value = Vec<u8>> {
    (1u8..15, 0u8..3, any::<bool>(), any::<u8>()).prop_map(|(bitrate, rate, padding, fill)| {
        let header = [
            0xFF,
            0xFB,
            (bitrate << 4) | (rate << 2) | (u8::from(padding) << 1),
            0x64,
        ];
        let len = FrameHeader::parse(&header).expect("valid").frame_len();
        let mut frame = header.to_vec();
        frame.resize(len, fill);
        frame
    })
}

/// Pieces of a hostile stream: frames, garbage, tags, truncated frames, false sync bytes.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => valid_frame(),
        1 => proptest::collection::vec(any::<u8>(), 0..600),
        1 => valid_frame().prop_flat_map(|f| {
            let len = f.len();
            (Just(f), 0..len).prop_map(|(f, cut)| f[..cut].to_vec())
        }),
        1 => (0u8..3, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(flags, body)| {
            let size = body.len();
            let mut tag = b"ID3\x03\x00".to_vec();
            tag.push(flags << 4);
            tag.extend([0, 0, (size >> 7) as u8 & 0x7F, size as u8 & 0x7F]);
            tag.extend(body);
            tag
        }),
        1 => Just(vec![0xFF, 0xFB, 0x90]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_in_any_chunks_never_break_the_splitter(
        bytes in proptest::collection::vec(any::<u8>(), 0..8192),
        sizes in proptest::collection::vec(1usize..2000, 1..8),
    ) {
        split_checked(&bytes, &sizes);
    }

    /// Chunking may change which frames of a hostile stream pass (a frame that a push ends on is passed
    /// before its successor is seen; see `FrameSplitter`), but no byte is ever invented or lost track of:
    /// each one leaves in a frame or is counted as discarded.
    #[test]
    fn every_byte_leaves_in_a_frame_or_as_discarded(
        pieces in proptest::collection::vec(piece(), 0..40),
        sizes in proptest::collection::vec(1usize..1500, 1..8),
    ) {
        let stream = pieces.concat();
        let (frames, discarded) = split_counted(&stream, &sizes);
        let passed: usize = frames.iter().map(Vec::len).sum();
        prop_assert_eq!(passed as u64 + discarded, stream.len() as u64);
        for frame in &frames {
            prop_assert!(stream.windows(frame.len()).any(|w| w == &frame[..]), "a frame of the input");
        }
    }

    #[test]
    fn a_clean_run_of_frames_comes_out_whole_and_in_order(
        frames in proptest::collection::vec(valid_frame(), 2..30),
        sizes in proptest::collection::vec(1usize..1500, 1..8),
    ) {
        // Frames of one stream share their sample rate; the chain rule would drop the others.
        let rate = frames[0][2] & 0x0C;
        let frames: Vec<Vec<u8>> = frames
            .into_iter()
            .filter(|f| f[2] & 0x0C == rate)
            .collect();
        // A lone frame has no successor to confirm it: the splitter rightly waits for two.
        prop_assume!(frames.len() >= 2);
        let out = split_checked(&frames.concat(), &sizes);
        prop_assert_eq!(out, frames);
    }
}

#[test]
fn the_seed_corpus_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz-corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus folder") {
        let bytes = std::fs::read(entry.expect("an entry").path()).expect("a corpus file");
        for sizes in [&[1usize][..], &[7, 1, 300], &[4096]] {
            split_checked(&bytes, sizes);
        }
        seen += 1;
    }
    assert!(seen >= 5, "the corpus has its seeds");
}
