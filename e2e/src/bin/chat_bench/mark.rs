//! The benchmark's chat message text, `bench#SEQ#UNIX_MICROS#`: written by the posters, found again
//! by the clients in whatever frame each hub wraps it in, so that every receipt is one delivery time
//! and a client can tell a message it already has.

/// The text of message `seq`, posted at `sent_us`.
pub fn text(seq: u64, sent_us: u64) -> String {
    format!("bench#{seq}#{sent_us}#")
}

/// `(seq, sent_us)` from a frame whose text holds `bench#SEQ#MICROS`; other frames (presence, state)
/// are skipped without parsing.
pub fn bench_mark(frame: &str) -> Option<(u64, u64)> {
    let start = frame.find("bench#")? + "bench#".len();
    let mut parts = frame[start..].splitn(3, '#');
    let seq = parts.next()?.parse().ok()?;
    let sent: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((seq, sent.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_found_in_both_hubs_frames() {
        let ours = r#"{"data":{"message":"bench#42#1700000000000000#","messageId":1},"event":"chat:created_message"}"#;
        assert_eq!(bench_mark(ours), Some((42, 1_700_000_000_000_000)));
        assert_eq!(
            bench_mark(r#"{"event":"chat:client_count","data":{"count":3}}"#),
            None
        );
    }

    #[test]
    fn a_posted_text_reads_back() {
        assert_eq!(bench_mark(&text(7, 123)), Some((7, 123)));
    }
}
