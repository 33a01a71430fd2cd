use super::*;

/// MPEG-1 Layer III, no CRC, 128 kbit/s, 44.1 kHz, joint stereo: 417 bytes, 418 with padding.
const H128: [u8; 4] = [0xFF, 0xFB, 0x90, 0x64];
const H128_PADDED: [u8; 4] = [0xFF, 0xFB, 0x92, 0x64];

/// A frame with `header` and a payload of `fill` bytes.
fn frame(header: [u8; 4], fill: u8) -> Vec<u8> {
    let len = FrameHeader::parse(&header)
        .expect("a valid test header")
        .frame_len();
    let mut frame = header.to_vec();
    frame.resize(len, fill);
    frame
}

/// Alternating unpadded and padded 128 kbit/s frames, each payload filled with its index.
fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| frame(if i % 2 == 0 { H128 } else { H128_PADDED }, i as u8))
        .collect()
}

/// Feeds `stream` to a splitter in chunks of the given sizes (cycled) and collects every frame.
fn split(stream: &[u8], chunk_sizes: &[usize]) -> (Vec<Vec<u8>>, FrameSplitter) {
    let mut splitter = FrameSplitter::new();
    let mut out = Vec::new();
    let mut rest = stream;
    for size in chunk_sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at((*size).min(rest.len()));
        rest = tail;
        splitter.push(chunk);
        while let Some(frame) = splitter.next_frame() {
            out.push(frame.to_vec());
        }
    }
    out.extend(splitter.finish().map(|f| f.to_vec()));
    (out, splitter)
}

#[test]
fn parses_the_common_128k_header() {
    let header = FrameHeader::parse(&H128).unwrap();
    assert_eq!(header.version, Version::Mpeg1);
    assert_eq!(
        (header.bitrate_kbps, header.sample_rate, header.padding),
        (128, 44_100, false)
    );
    assert_eq!(header.frame_len(), 417);
    assert_eq!(FrameHeader::parse(&H128_PADDED).unwrap().frame_len(), 418);
    assert_eq!(header.duration(), Duration::from_micros(26_122));
}

#[test]
fn computes_lengths_for_every_version() {
    // MPEG-1, 320 kbit/s, 48 kHz: 144 * 320000 / 48000 = 960.
    assert_eq!(
        FrameHeader::parse(&[0xFF, 0xFB, 0xE4, 0x00])
            .unwrap()
            .frame_len(),
        960
    );
    // MPEG-2, 64 kbit/s, 22.05 kHz: 72 * 64000 / 22050 = 208.97.
    let mpeg2 = FrameHeader::parse(&[0xFF, 0xF3, 0x80, 0x00]).unwrap();
    assert_eq!(
        (mpeg2.version, mpeg2.bitrate_kbps, mpeg2.sample_rate),
        (Version::Mpeg2, 64, 22_050)
    );
    assert_eq!((mpeg2.frame_len(), mpeg2.samples()), (208, 576));
    // MPEG-2.5, 8 kbit/s, 8 kHz, padded: 72 * 8000 / 8000 + 1.
    let mpeg25 = FrameHeader::parse(&[0xFF, 0xE3, 0x1A, 0x00]).unwrap();
    assert_eq!(
        (mpeg25.version, mpeg25.sample_rate),
        (Version::Mpeg25, 8_000)
    );
    assert_eq!(mpeg25.frame_len(), 73);
}

#[test]
fn rejects_reserved_and_unsupported_headers() {
    let cases: [(&str, [u8; 4]); 9] = [
        ("reserved bitrate", [0xFF, 0xFB, 0xF0, 0x64]),
        ("free-format bitrate", [0xFF, 0xFB, 0x00, 0x64]),
        ("reserved sample rate", [0xFF, 0xFB, 0x9C, 0x64]),
        ("reserved version", [0xFF, 0xEB, 0x90, 0x64]),
        ("layer II", [0xFF, 0xFD, 0x90, 0x64]),
        ("reserved layer", [0xFF, 0xF9, 0x90, 0x64]),
        ("reserved emphasis", [0xFF, 0xFB, 0x90, 0x66]),
        ("broken sync", [0xFF, 0x7B, 0x90, 0x64]),
        ("not a header", *b"ID3\x04"),
    ];
    for (what, bytes) in cases {
        assert_eq!(FrameHeader::parse(&bytes), None, "{what}");
    }
    assert_eq!(FrameHeader::parse(&H128[..3]), None, "too short");
}

#[test]
fn splits_a_clean_stream_into_its_frames() {
    let frames = frames(6);
    let (out, splitter) = split(&frames.concat(), &[100_000]);
    assert_eq!(out, frames);
    assert_eq!((splitter.discarded(), splitter.pending()), (0, 0));
}

#[test]
fn any_chunking_gives_the_same_frames() {
    let frames = frames(8);
    let stream = frames.concat();
    for sizes in [
        &[1][..],
        &[2, 3],
        &[417],
        &[418, 1],
        &[419],
        &[1000, 7],
        &[4096],
    ] {
        let (out, _) = split(&stream, sizes);
        assert_eq!(out, frames, "chunks of {sizes:?}");
    }
}

#[test]
fn a_chunk_boundary_inside_a_header_or_a_frame_is_mended() {
    let frames = frames(4);
    let stream = frames.concat();
    let mut splitter = FrameSplitter::new();
    // The first chunk ends two bytes into the second frame's header: the first frame is not confirmed.
    splitter.push(&stream[..417 + 2]);
    assert_eq!(splitter.next_frame(), None);
    // The next ends in the middle of the second frame: the first is confirmed, the second incomplete.
    splitter.push(&stream[419..600]);
    assert_eq!(splitter.next_frame().as_deref(), Some(&frames[0][..]));
    assert_eq!(splitter.next_frame(), None);
    splitter.push(&stream[600..]);
    let rest: Vec<_> = std::iter::from_fn(|| splitter.next_frame())
        .map(|f| f.to_vec())
        .collect();
    assert_eq!(rest, frames[1..], "the push ended on the last frame's end");
    assert_eq!(splitter.finish(), None);
    assert_eq!((splitter.pending(), splitter.discarded()), (0, 0));
}

#[test]
fn a_push_that_ends_on_a_frame_end_releases_the_frame_at_once() {
    let frames = frames(5);
    let mut splitter = FrameSplitter::new();
    splitter.push(&frames[..2].concat()); // the first header is confirmed by the second
    assert_eq!(splitter.next_frame().as_deref(), Some(&frames[0][..]));
    assert_eq!(splitter.next_frame().as_deref(), Some(&frames[1][..]));
    for frame in &frames[2..] {
        splitter.push(frame);
        assert_eq!(splitter.next_frame().as_deref(), Some(&frame[..]), "no lag");
        assert_eq!(splitter.next_frame(), None);
    }
    assert_eq!((splitter.pending(), splitter.discarded()), (0, 0));
}

#[test]
fn a_frame_is_held_while_its_successor_header_is_partial() {
    let frames = frames(3);
    let stream = frames.concat();
    let two = frames[0].len() + frames[1].len();
    let mut splitter = FrameSplitter::new();
    splitter.push(&stream[..two + 2]); // two frames and two bytes of the third's header
    assert_eq!(splitter.next_frame().as_deref(), Some(&frames[0][..]));
    assert_eq!(
        splitter.next_frame(),
        None,
        "two bytes cannot confirm a header"
    );
    splitter.push(&stream[two + 2..]);
    assert_eq!(splitter.next_frame().as_deref(), Some(&frames[1][..]));
    assert_eq!(splitter.next_frame().as_deref(), Some(&frames[2][..]));
}

#[test]
fn finish_drops_a_truncated_last_frame() {
    let frames = frames(3);
    let mut stream = frames.concat();
    stream.truncate(stream.len() - 1);
    let (out, splitter) = split(&stream, &[100_000]);
    assert_eq!(out, frames[..2]);
    assert_eq!(splitter.discarded(), 416);
}

#[test]
fn skips_an_id3v2_tag_split_over_chunks() {
    let mut stream = b"ID3\x04\x00\x00\x00\x00\x02\x01".to_vec(); // syncsafe size 2 * 128 + 1
    stream.extend(std::iter::repeat_n(0xFF, 257)); // a tag body full of false syncs
    let frames = frames(3);
    stream.extend(frames.concat());
    for sizes in [&[5][..], &[12], &[100_000]] {
        let (out, splitter) = split(&stream, sizes);
        assert_eq!(out, frames, "chunks of {sizes:?}");
        assert_eq!(splitter.discarded(), 267);
    }
}

#[test]
fn skips_garbage_and_a_false_sync_before_the_first_frame() {
    let mut stream = b"garbage\xFF\xFB\x90\x64 and a header whose successor is missing".to_vec();
    let garbage = stream.len();
    stream.resize(garbage + 600, 0x55);
    let garbage = stream.len();
    let frames = frames(3);
    stream.extend(frames.concat());
    let (out, splitter) = split(&stream, &[64]);
    assert_eq!(out, frames);
    assert_eq!(splitter.discarded(), garbage as u64);
}

#[test]
fn payload_bytes_that_look_like_headers_do_not_break_the_chain() {
    let mut frames = frames(4);
    for frame in &mut frames {
        for (i, byte) in frame.iter_mut().enumerate().skip(4) {
            *byte = H128[i % 4];
        }
    }
    let (out, _) = split(&frames.concat(), &[7]);
    assert_eq!(out, frames);
}

#[test]
fn resyncs_after_garbage_in_the_middle() {
    let frames = frames(6);
    let mut stream = frames[..3].concat();
    stream.extend_from_slice(&frames[3][..200]); // a truncated frame, as after a source hiccup
    stream.extend_from_slice(&frames[4..].concat());
    let (out, splitter) = split(&stream, &[50]);
    assert_eq!(out[..3], frames[..3], "the frames before the break");
    assert_eq!(
        out[3..],
        frames[4..],
        "the truncated frame is dropped, not passed on"
    );
    assert_eq!(splitter.discarded(), 200);
}

#[test]
fn a_change_of_sample_rate_is_confirmed_then_followed() {
    // In sync at 44.1 kHz, a 48 kHz header breaks the chain: the last 44.1 kHz frame, unconfirmed, is
    // dropped, and the new stream is confirmed by its second header before it is followed.
    let mut frames = frames(3);
    let other = frame([0xFF, 0xFB, 0x94, 0x64], 9); // 128 kbit/s at 48 kHz
    frames.push(other.clone());
    frames.push(other);
    let (out, splitter) = split(&frames.concat(), &[100_000]);
    assert_eq!(out[..2], frames[..2]);
    assert_eq!(out[2..], frames[3..]);
    assert_eq!(splitter.discarded(), 417);
}

#[test]
fn id3_detection_needs_a_plausible_header() {
    assert_eq!(id3v2(b"ID"), Id3::NeedMore);
    assert_eq!(id3v2(b"ID3\x04\x00\x00\x00\x00"), Id3::NeedMore);
    assert_eq!(id3v2(b"ID3\x04\x00\x00\x00\x00\x00\x0A"), Id3::Tag(20));
    assert_eq!(
        id3v2(b"ID3\x04\x00\x10\x00\x00\x00\x0A"),
        Id3::Tag(30),
        "with a footer"
    );
    assert_eq!(
        id3v2(b"ID3\x09\x00\x00\x00\x00\x00\x0A"),
        Id3::NotATag,
        "version 9"
    );
    assert_eq!(
        id3v2(b"ID3\x04\x00\x00\x80\x00\x00\x0A"),
        Id3::NotATag,
        "not syncsafe"
    );
    assert_eq!(id3v2(b"IDX"), Id3::NotATag);
}
