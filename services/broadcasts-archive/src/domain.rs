//! Broadcast fields that parse, not validate.

use std::time::Duration;

/// 5 to 70 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let title = raw.trim();
        let length = title.chars().count();
        if !(5..=70).contains(&length) {
            return Err(format!(
                "title must be 5 to 70 characters long, not {length}"
            ));
        }
        if title.chars().any(char::is_control) {
            return Err("title must not contain control characters".to_owned());
        }
        Ok(Self(title.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most 800 characters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let length = raw.chars().count();
        if length > 800 {
            return Err(format!(
                "description must be at most 800 characters long, not {length}"
            ));
        }
        Ok(Self(raw.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const MAX_LENGTH: Duration = Duration::from_secs(12 * 3600);
/// A broadcast "for now" may start a little in the past: the request took time to arrive.
pub const START_GRACE_MS: i64 = 5 * 60 * 1000;

/// A time window `[start, end)` in Unix milliseconds: starts before it ends, at most 12 h, not in the
/// past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub start_ms: i64,
    pub end_ms: i64,
}

impl Schedule {
    pub fn parse(start_ms: i64, end_ms: i64, now_ms: i64) -> Result<Self, String> {
        if start_ms >= end_ms {
            return Err("startAt must be before endAt".to_owned());
        }
        if end_ms - start_ms > MAX_LENGTH.as_millis() as i64 {
            return Err("a broadcast may last at most 12 hours".to_owned());
        }
        if start_ms < now_ms - START_GRACE_MS {
            return Err("startAt must not be in the past".to_owned());
        }
        Ok(Self { start_ms, end_ms })
    }

    /// The window after a partial update of `current`: a new start is held to every rule of a new
    /// broadcast; a new end alone must stay after the start, within 12 h, and not be in the past.
    pub fn change(
        current: Schedule,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<Self, String> {
        let end = end_ms.unwrap_or(current.end_ms);
        match start_ms {
            Some(start) => Self::parse(start, end, now_ms),
            None if end_ms.is_some() && end <= now_ms => {
                Err("endAt must not be in the past".to_owned())
            }
            None => Self::parse(current.start_ms, end, i64::MIN / 2),
        }
    }
}

/// Items per page: 1 to 50, 20 when not given (0 on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimit(pub i64);

impl PageLimit {
    pub const DEFAULT: i64 = 20;
    pub const MAX: i64 = 50;

    pub fn parse(raw: u32) -> Result<Self, String> {
        match i64::from(raw) {
            0 => Ok(Self(Self::DEFAULT)),
            n if n <= Self::MAX => Ok(Self(n)),
            n => Err(format!("limit must be between 1 and 50, not {n}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_counted_in_characters() {
        assert_eq!(Title::parse("  Night set  ").unwrap().as_str(), "Night set");
        assert!(Title::parse("🎧🎧🎧🎧🎧").is_ok());
        assert!(Title::parse("abcd").unwrap_err().contains("not 4"));
        assert!(
            Title::parse(&"x".repeat(71))
                .unwrap_err()
                .contains("not 71")
        );
        assert!(Title::parse("bad\u{7}title").is_err());
    }

    #[test]
    fn a_changed_end_alone_keeps_the_start_and_may_not_pass() {
        let now = 1_000_000_000_000;
        let hour = 3_600_000;
        let running = Schedule {
            start_ms: now - hour,
            end_ms: now + hour,
        };
        let longer = Schedule::change(running, None, Some(now + 2 * hour), now).unwrap();
        assert_eq!(longer.start_ms, now - hour);
        assert!(
            Schedule::change(running, None, Some(now - 1), now)
                .unwrap_err()
                .contains("past")
        );
        assert!(
            Schedule::change(running, None, Some(now + 12 * hour), now)
                .unwrap_err()
                .contains("12 hours")
        );
        assert!(
            Schedule::change(running, Some(now - hour), None, now)
                .unwrap_err()
                .contains("past")
        );
        assert_eq!(Schedule::change(running, None, None, now), Ok(running));
    }

    #[test]
    fn page_limits_default_to_20_and_stop_at_50() {
        assert_eq!(PageLimit::parse(0), Ok(PageLimit(20)));
        assert_eq!(PageLimit::parse(50), Ok(PageLimit(50)));
        assert!(PageLimit::parse(51).unwrap_err().contains("51"));
    }

    #[test]
    fn schedules_follow_the_rules() {
        let now = 1_000_000_000_000;
        let hour = 3_600_000;
        assert!(Schedule::parse(now, now + hour, now).is_ok());
        assert!(Schedule::parse(now - 60_000, now + hour, now).is_ok());
        assert!(
            Schedule::parse(now + hour, now, now)
                .unwrap_err()
                .contains("before")
        );
        assert!(
            Schedule::parse(now, now, now)
                .unwrap_err()
                .contains("before")
        );
        assert!(
            Schedule::parse(now, now + 13 * hour, now)
                .unwrap_err()
                .contains("12 hours")
        );
        assert!(
            Schedule::parse(now - hour, now + hour, now)
                .unwrap_err()
                .contains("past")
        );
    }
}
