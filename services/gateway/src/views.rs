//! The public JSON shapes of API.md, built from the services' protobuf messages.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use livestreamer_proto::{auth::User, broadcasts::Broadcast, chat::ChatMessage};
use serde::Serialize;

/// ISO-8601 UTC with milliseconds.
pub fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An ISO-8601 time with any offset, as Unix milliseconds; `field` names it in the error.
pub fn parse_time(field: &str, raw: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|_| format!("{field} must be an ISO-8601 date-time such as 2026-11-27T20:00:00Z"))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    user_id: i64,
    username: String,
    email: String,
    display_name: String,
    about: String,
    website_url: String,
    profile_picture_url: String,
    created_at: String,
    last_login_at: Option<String>,
    is_email_confirmed: bool,
    role: String,
    permissions: BTreeMap<String, Vec<String>>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            user_id: u.user_id,
            username: u.username,
            email: u.email,
            display_name: u.display_name,
            about: u.about,
            website_url: u.website_url,
            profile_picture_url: u.profile_picture_url,
            created_at: iso(u.created_at_ms),
            last_login_at: u.last_login_at_ms.map(iso),
            is_email_confirmed: u.is_email_confirmed,
            role: u.role,
            permissions: u
                .permissions
                .into_iter()
                .map(|p| (p.resource, p.actions))
                .collect(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BroadcastView {
    broadcast_id: i64,
    user_id: i64,
    username: String,
    title: String,
    description: String,
    start_at: String,
    end_at: String,
    artwork_url: String,
    is_visible: bool,
    is_live: bool,
    listener_peak_count: i64,
    like_count: i64,
    duration_sec: i64,
    recording_url: Option<String>,
}

impl From<Broadcast> for BroadcastView {
    fn from(b: Broadcast) -> Self {
        Self {
            broadcast_id: b.broadcast_id,
            user_id: b.user_id,
            username: b.username,
            title: b.title,
            description: b.description,
            start_at: iso(b.start_at_ms),
            end_at: iso(b.end_at_ms),
            artwork_url: b.artwork_url,
            is_visible: b.is_visible,
            is_live: b.is_live,
            listener_peak_count: b.listener_peak_count,
            like_count: b.like_count,
            duration_sec: b.duration_sec,
            recording_url: Some(b.recording_url).filter(|u| !u.is_empty()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessageView {
    message_id: i64,
    broadcast_id: i64,
    user_id: i64,
    username: String,
    created_at: String,
    message: String,
    liked_by_user_id: Vec<i64>,
}

impl From<ChatMessage> for ChatMessageView {
    fn from(m: ChatMessage) -> Self {
        Self {
            message_id: m.message_id,
            broadcast_id: m.broadcast_id,
            user_id: m.user_id,
            username: m.username,
            created_at: iso(m.created_at_ms),
            message: m.message,
            liked_by_user_id: m.liked_by_user_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_utc_with_milliseconds_and_any_offset_parses() {
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            parse_time("startAt", "2023-11-14T23:13:20.123+01:00"),
            Ok(1_700_000_000_123)
        );
        assert!(
            parse_time("startAt", "tomorrow")
                .unwrap_err()
                .starts_with("startAt")
        );
    }
}
