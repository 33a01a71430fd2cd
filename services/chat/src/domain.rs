//! Chat values that parse, not validate.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// 1 to 500 characters after trimming; line breaks and tabs allowed, other control characters not.
/// Stored as text and never interpreted: markup in a message stays literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        let length = text.chars().count();
        if length == 0 {
            return Err("message must not be empty".to_owned());
        }
        if length > 500 {
            return Err(format!(
                "message must be at most 500 characters long, not {length}"
            ));
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err("message must not contain control characters".to_owned());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a history page ends: the (created_at in microseconds, message id) of its last message.
/// Opaque and URL-safe to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at_us: i64,
    pub message_id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.created_at_us, self.message_id))
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let invalid = || "nextCursor is not a valid cursor".to_owned();
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (time, id) = text.split_once('.').ok_or_else(invalid)?;
        Ok(Self {
            created_at_us: time.parse().map_err(|_| invalid())?,
            message_id: id.parse().map_err(|_| invalid())?,
        })
    }
}

/// 1 to 50 messages a page, 20 unless asked.
pub fn page_size(requested: u32) -> Result<i64, String> {
    match requested {
        0 => Ok(20),
        1..=50 => Ok(requested as i64),
        _ => Err(format!("limit must be between 1 and 50, not {requested}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_trimmed_and_bounded() {
        assert_eq!(MessageText::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(MessageText::parse("   ").unwrap_err().contains("empty"));
        assert!(MessageText::parse(&"é".repeat(500)).is_ok());
        assert!(
            MessageText::parse(&"é".repeat(501))
                .unwrap_err()
                .contains("not 501")
        );
        assert!(MessageText::parse("bell\u{7}").is_err());
        assert_eq!(
            MessageText::parse("<b>x</b>\nline").unwrap().as_str(),
            "<b>x</b>\nline"
        );
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor {
            created_at_us: 1_700_000_000_123_456,
            message_id: 42,
        };
        let encoded = cursor.encode();
        assert!(
            encoded
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(Cursor::parse(&encoded).unwrap(), cursor);
        for bad in [
            "",
            "!!!",
            "bm90LWEtY3Vyc29y",
            &URL_SAFE_NO_PAD.encode("1.x"),
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0), Ok(20));
        assert_eq!(page_size(50), Ok(50));
        assert!(page_size(51).is_err());
    }
}
