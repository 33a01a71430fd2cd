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
