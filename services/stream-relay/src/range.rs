//! `Range: bytes=...` of a file of known length (RFC 9110 §14), as players ask for recordings: one
//! range (`a-b`, `a-`, `-n`). Several ranges are answered with the whole file, which the RFC allows.

/// What a `Range` header asks of a file of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// No usable range: the whole file (200).
    Whole,
    /// Bytes `start..=end` (206).
    Part { start: u64, end: u64 },
    /// Nothing the file has (416).
    Unsatisfiable,
}

pub fn wanted(range: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        (true, true) => return Wanted::Whole,
        (true, false) => last
            .parse::<u64>()
            .ok()
            .map(|n| (len.saturating_sub(n), len.saturating_sub(1), n == 0)),
        (false, _) => {
            let start = first.parse::<u64>().ok();
            let end = if last.is_empty() {
                Some(u64::MAX)
            } else {
                last.parse::<u64>().ok()
            };
            start
                .zip(end)
                .map(|(s, e)| (s, e.min(len.saturating_sub(1)), s > e))
        }
    };
    match parsed {
        None => Wanted::Whole,
        Some((_, _, true)) => Wanted::Unsatisfiable,
        Some((start, _, _)) if start >= len => Wanted::Unsatisfiable,
        Some((start, end, false)) => Wanted::Part { start, end },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_ranges_of_every_form() {
        let part = |start, end| Wanted::Part { start, end };
        assert_eq!(wanted(Some("bytes=0-99"), 1000), part(0, 99));
        assert_eq!(wanted(Some("bytes=900-"), 1000), part(900, 999));
        assert_eq!(wanted(Some("bytes=-100"), 1000), part(900, 999));
        assert_eq!(wanted(Some("bytes=-5000"), 1000), part(0, 999));
        assert_eq!(wanted(Some("bytes=990-5000"), 1000), part(990, 999));
        assert_eq!(wanted(Some("bytes=999-999"), 1000), part(999, 999));
    }

    #[test]
    fn what_cannot_be_served_and_what_is_ignored() {
        assert_eq!(wanted(Some("bytes=1000-"), 1000), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=5-2"), 1000), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 1000), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-"), 0), Wanted::Unsatisfiable);
        assert_eq!(wanted(None, 1000), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-1"), 1000), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 1000), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=x-y"), 1000), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=-"), 1000), Wanted::Whole);
    }
}
