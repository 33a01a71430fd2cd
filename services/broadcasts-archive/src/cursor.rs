//! Opaque keyset cursors: where the previous page stopped, as `(start, id)` of its last item and the
//! time group it belongs to. URL-safe base64 without padding; a page continues strictly after the
//! key, so no item is ever repeated (the original's cursors repeated one and held local dates).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use livestreamer_proto::broadcasts::TimeGroup;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub group: TimeGroup,
    pub start_us: i64,
    pub broadcast_id: i64,
}

const INVALID: &str = "nextCursor is not a cursor this API gave out";

impl Cursor {
    pub fn encode(&self) -> String {
        let raw = format!(
            "1.{}.{}.{}",
            self.group as i32, self.start_us, self.broadcast_id
        );
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The cursor of a request for `group`: empty means the first page.
    pub fn parse(raw: &str, group: TimeGroup) -> Result<Option<Self>, String> {
        if raw.is_empty() {
            return Ok(None);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(raw)
            .map_err(|_| INVALID.to_owned())?;
        let text = String::from_utf8(bytes).map_err(|_| INVALID.to_owned())?;
        let fields: Vec<&str> = text.split('.').collect();
        let [version, group_number, start, id] = fields[..] else {
            return Err(INVALID.to_owned());
        };
        let number = |s: &str| s.parse::<i64>().map_err(|_| INVALID.to_owned());
        if version != "1" || number(group_number)? != group as i64 {
            return Err("nextCursor belongs to another listing".to_owned());
        }
        Ok(Some(Self {
            group,
            start_us: number(start)?,
            broadcast_id: number(id)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_url_safe() {
        let cursor = Cursor {
            group: TimeGroup::Past,
            start_us: 1_700_000_000_123,
            broadcast_id: 42,
        };
        let raw = cursor.encode();
        assert!(
            raw.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{raw}"
        );
        assert_eq!(Cursor::parse(&raw, TimeGroup::Past), Ok(Some(cursor)));
        assert_eq!(Cursor::parse("", TimeGroup::Past), Ok(None));
    }

    #[test]
    fn foreign_or_forged_cursors_are_refused() {
        let raw = Cursor {
            group: TimeGroup::Future,
            start_us: 1,
            broadcast_id: 2,
        }
        .encode();
        assert!(
            Cursor::parse(&raw, TimeGroup::Past)
                .unwrap_err()
                .contains("another")
        );
        assert!(Cursor::parse("not base64!", TimeGroup::Past).is_err());
        assert!(Cursor::parse(&URL_SAFE_NO_PAD.encode("1.1.x.2"), TimeGroup::Past).is_err());
    }
}
