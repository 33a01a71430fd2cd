//! The synthetic stream: valid MPEG-1 Layer III frames (128 kbit/s, 48 kHz, stereo, no CRC), each
//! 384 bytes and 24 ms long, that decode as silence (all-zero side information: every granule has no
//! main data) and carry, as ancillary data after the side information, a marker, a sequence number
//! and the time the source sent them.
//!
//! 48 kHz is chosen over 44.1 kHz because its frames need no padding: every frame has the same length,
//! so a listener in sync reads fixed-size frames, and one out of sync (an Icecast burst that begins
//! mid-frame) finds the next frame by its header and marker.

/// Bytes of one frame: 144 × 128,000 / 48,000.
pub const FRAME_LEN: usize = 384;
/// Nanoseconds of audio in one frame: 1152 samples at 48 kHz.
pub const FRAME_NANOS: u64 = 24_000_000;
/// The header: sync, MPEG-1, Layer III, no CRC; 128 kbit/s, 48 kHz, no padding; stereo, original.
pub const HEADER: [u8; 4] = [0xFF, 0xFB, 0x94, 0x04];
/// Where the ancillary data starts: after the header and 32 bytes of stereo side information.
const PAYLOAD_AT: usize = 4 + 32;
const MARKER: &[u8; 8] = b"LSBENCH1";

/// Frame number `seq`, sent at `sent_ns` (nanoseconds since the Unix epoch).
pub fn frame(seq: u64, sent_ns: u64) -> [u8; FRAME_LEN] {
    let mut frame = [0u8; FRAME_LEN];
    frame[..4].copy_from_slice(&HEADER);
    frame[PAYLOAD_AT..PAYLOAD_AT + 8].copy_from_slice(MARKER);
    frame[PAYLOAD_AT + 8..PAYLOAD_AT + 16].copy_from_slice(&seq.to_le_bytes());
    frame[PAYLOAD_AT + 16..PAYLOAD_AT + 24].copy_from_slice(&sent_ns.to_le_bytes());
    frame
}

/// The sequence number and send time of a whole frame, if `bytes` begins with one of ours.
pub fn read(bytes: &[u8]) -> Option<(u64, u64)> {
    if bytes.len() < FRAME_LEN
        || bytes[..4] != HEADER
        || &bytes[PAYLOAD_AT..PAYLOAD_AT + 8] != MARKER
    {
        return None;
    }
    let number = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    Some((number(PAYLOAD_AT + 8), number(PAYLOAD_AT + 16)))
}

/// Where the next frame of ours starts in `bytes` (a whole one or a truncated one at the end).
pub fn find(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&at| {
        let rest = &bytes[at..];
        let n = rest.len().min(PAYLOAD_AT + 8);
        let header_ok = rest[..n.min(4)] == HEADER[..n.min(4)];
        header_ok && (n <= PAYLOAD_AT || rest[PAYLOAD_AT..n] == MARKER[..n - PAYLOAD_AT])
    })
}

/// Nanoseconds since the Unix epoch: the source and the listeners are processes of one machine.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_valid_layer_iii_frames_that_carry_their_number_and_time() {
        let frame = frame(7, 123_456);
        let header = livestreamer_mp3::FrameHeader::parse(&frame).expect("a valid header");
        assert_eq!(header.frame_len(), FRAME_LEN);
        assert_eq!(header.duration().as_nanos() as u64, FRAME_NANOS);
        assert_eq!(read(&frame), Some((7, 123_456)));
        let mut shifted = vec![1, 2, 3];
        shifted.extend_from_slice(&frame);
        assert_eq!(find(&shifted), Some(3));
        assert_eq!(
            find(&shifted[..10]),
            Some(3),
            "a truncated frame is found too"
        );
    }
}
