//! A frame as the relay puts it on the channel (`replication::Message::Frame`), sized and timed as
//! one of a 128 kbit/s MP3 stream, its head carrying what the receivers measure with: the time it
//! was due and its broadcast.

/// 128 kbit/s MP3 at 44.1 kHz: 1,152 samples a frame, 417.96 bytes.
pub const FRAME_BYTES: usize = 418;
pub const FRAME_US: u64 = 1_152 * 1_000_000 / 44_100;

/// `F`, the sequence number, then 418 bytes whose head carries the time it was due and its
/// broadcast.
pub fn encode(broadcast: usize, seq: u64, due_us: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + FRAME_BYTES);
    out.push(b'F');
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&due_us.to_be_bytes());
    out.extend_from_slice(&(broadcast as u32).to_be_bytes());
    out.resize(9 + FRAME_BYTES, 0);
    out
}

/// `(broadcast, seq, due_us)`.
pub fn decode(bytes: &[u8]) -> Option<(usize, u64, u64)> {
    let (b'F', rest) = bytes.split_first()? else {
        return None;
    };
    let number = |at: usize| Some(u64::from_be_bytes(rest.get(at..at + 8)?.try_into().ok()?));
    let broadcast = u32::from_be_bytes(rest.get(16..20)?.try_into().ok()?);
    Some((broadcast as usize, number(0)?, number(8)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_broadcast_number_and_due_time() {
        let frame = encode(49, 760, 1_700_000_000_000_000);
        assert_eq!(frame.len(), 9 + FRAME_BYTES);
        assert_eq!(decode(&frame), Some((49, 760, 1_700_000_000_000_000)));
        assert_eq!(decode(b"E"), None);
    }
}
