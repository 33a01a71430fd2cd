//! `schedule`: creates a broadcast in the DJ's calendar, with optional artwork.
//!
//! Times are what a person types: `now`, `+30m`, `+1h30m`, `2026-12-01 20:00` (local time) or full
//! ISO-8601; the end may also be `+2h`, which counts from the start. The server checks the rules
//! (future, at most 12 h, no overlap) and its message is shown as is.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Local, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

use crate::{
    api::{Api, results},
    error::CliError,
    session,
};

/// What `schedule` sends.
pub struct Schedule {
    pub title: String,
    pub start: String,
    pub end: String,
    pub description: Option<String>,
    pub artwork: Option<PathBuf>,
}

pub async fn schedule(api: &Api, request: Schedule) -> Result<(), CliError> {
    let session = session::load(api)?;
    let now = Utc::now();
    let start = parse_when(&request.start, now, now)?;
    let end = parse_when(&request.end, start, now)?;
    let mut broadcast = json!({
        "title": request.title,
        "startAt": start.to_rfc3339_opts(SecondsFormat::Millis, true),
        "endAt": end.to_rfc3339_opts(SecondsFormat::Millis, true),
    });
    if let Some(description) = request.description {
        broadcast["description"] = Value::String(description);
    }
    let post = api
        .http
        .post(api.url("/api/v1/users/me/broadcasts"))
        .header("cookie", &session.cookie);
    let post = match &request.artwork {
        None => post.json(&broadcast),
        Some(path) => post.multipart(artwork_form(&broadcast, path)?),
    };
    let created = results(api, api.send(post).await?).await?;
    let id = created["broadcastId"].as_i64().unwrap_or_default();
    println!("{id}");
    println!("{}", api.url(&format!("/broadcasts/{id}")));
    Ok(())
}

/// The multipart form of the API: a `broadcast` JSON part and the `artwork` image.
fn artwork_form(broadcast: &Value, path: &Path) -> Result<reqwest::multipart::Form, CliError> {
    let bytes = std::fs::read(path).map_err(|error| CliError::input(path, error))?;
    let name = path
        .file_name()
        .map_or("artwork".into(), |n| n.to_string_lossy().into_owned());
    let json_part = reqwest::multipart::Part::text(broadcast.to_string())
        .mime_str("application/json")
        .map_err(CliError::internal)?;
    Ok(reqwest::multipart::Form::new()
        .part("broadcast", json_part)
        .part(
            "artwork",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        ))
}

/// A time as typed: `now`, `+DURATION` (after `base`), local `YYYY-MM-DD HH:MM`, or ISO-8601.
pub fn parse_when(
    text: &str,
    base: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, CliError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some(duration) = text.strip_prefix('+') {
        return Ok(base + parse_duration(duration).ok_or_else(|| bad_time(text))?);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|local| local.with_timezone(&Utc))
                .ok_or_else(|| bad_time(text));
        }
    }
    Err(bad_time(text))
}

/// `90m`, `2h`, `1h30m`, `45s`: at least one number with its unit.
fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        total += match c {
            'h' => Duration::hours(n),
            'm' => Duration::minutes(n),
            's' => Duration::seconds(n),
            _ => return None,
        };
    }
    (number.is_empty() && total > Duration::zero()).then_some(total)
}

fn bad_time(text: &str) -> CliError {
    CliError::Usage(format!(
        "{text:?} is not a time: use now, +30m, +1h30m, \"2026-12-01 20:00\" or ISO-8601."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn times_are_read_as_typed() {
        let now = at("2026-12-01T18:00:00Z");
        let start = at("2026-12-01T20:00:00Z");
        assert_eq!(parse_when("now", now, now).unwrap(), now);
        assert_eq!(
            parse_when("+90m", now, now).unwrap(),
            at("2026-12-01T19:30:00Z")
        );
        assert_eq!(
            parse_when("+1h30m", start, now).unwrap(),
            at("2026-12-01T21:30:00Z")
        );
        assert_eq!(
            parse_when("2026-12-01T21:00:00+01:00", now, now).unwrap(),
            at("2026-12-01T20:00:00Z")
        );
        let local = parse_when("2026-12-01 20:00", now, now).unwrap();
        assert_eq!(
            local.with_timezone(&Local).format("%H:%M").to_string(),
            "20:00"
        );
    }

    #[test]
    fn nonsense_is_a_usage_error() {
        let now = Utc::now();
        for text in ["tomorrow", "+", "+5", "+5x", "+0m", "2026-13-01 20:00"] {
            let error = parse_when(text, now, now).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{text}");
        }
    }
}
