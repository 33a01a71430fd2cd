//! The HTTP ingest routes, through hyper: the CLI's chunked `PUT` with a session cookie, into a
//! scheduled broadcast or "go live now", and Icecast `PUT`s whose bodies are framed (chunked or with a
//! length) on `/live/{username}`.
//!
//! The request is checked (media type, same-site origin, credentials), then [`crate::source`] attaches
//! it to its broadcast. The stream runs in a task of its own, so that however the connection ends (the
//! source stops, the network drops, the relay shuts down) the source is detached exactly once. The
//! response, with a small summary, is sent when the source's body ends; a body that is not MP3 gets
//! 415 then.

use std::{sync::Arc, time::Instant};

use http::{HeaderMap, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;
use tracing::Instrument;

use crate::{
    AppState,
    error::RelayError,
    icecast,
    live::SourceEnd,
    response::{self, Body},
    source::{self, Credentials, Destination},
    upstream::session_cookie,
};

#[cfg(test)]
mod tests;

/// Which ingest route a `PUT` came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestRoute {
    /// `PUT /api/v1/users/me/broadcasts/{id}/stream`
    Scheduled(i64),
    /// `PUT /api/v1/users/me/stream`
    Now,
    /// `PUT /live/{username}`, Icecast with a framed body
    Icecast(String),
}

/// Answers an ingest `PUT` when its source's body ends.
pub async fn handle(
    state: Arc<AppState>,
    headers: &HeaderMap,
    body: Incoming,
    route: IngestRoute,
) -> Result<Response<Body>, RelayError> {
    let icecast = matches!(route, IngestRoute::Icecast(_));
    let result = stream(state, headers, body, route).await;
    if let Err(error) = &result {
        crate::metrics::source_refused(error.status());
    }
    if icecast {
        return Ok(icecast::challenge(
            result.unwrap_or_else(RelayError::into_response),
        ));
    }
    result
}

async fn stream(
    state: Arc<AppState>,
    headers: &HeaderMap,
    body: Incoming,
    route: IngestRoute,
) -> Result<Response<Body>, RelayError> {
    require_audio_mpeg(headers)?;
    let (credentials, destination) = match route {
        IngestRoute::Scheduled(id) => (cookie(headers)?, Destination::Broadcast(id)),
        IngestRoute::Now => (cookie(headers)?, icecast::destination(headers)),
        IngestRoute::Icecast(username) => (
            icecast::credentials(headers, &username)?,
            icecast::destination(headers),
        ),
    };
    let started = Instant::now();
    let streaming = tokio::spawn(
        async move {
            let (source, resumed) = source::attach(&state, credentials, destination).await?;
            let broadcast_id = source.broadcast_id();
            let body = body.into_data_stream();
            let (bytes, end) = source
                .stream(body, SourceEnd::Finished, &state.shutdown)
                .await;
            Ok::<_, RelayError>((broadcast_id, bytes, end, resumed))
        }
        .in_current_span(),
    );
    let (broadcast_id, bytes, end, resumed) = streaming
        .await
        .map_err(|_| RelayError::Unavailable("The stream ended unexpectedly".into()))??;
    match end {
        SourceEnd::NotAudio => {
            return Err(RelayError::UnsupportedMediaType(
                "a body without MP3 frames".into(),
            ));
        }
        SourceEnd::Starved => {
            return Err(RelayError::Timeout(format!(
                "No whole MP3 frame arrived for {} s: the source is too slow to be live",
                source::SOURCE_STARVED_AFTER.as_secs()
            )));
        }
        _ => {}
    }
    let results = json!({ "results": {
        "broadcastId": broadcast_id,
        "bytesReceived": bytes,
        "durationSec": started.elapsed().as_secs(),
        "resumed": resumed,
    }});
    Ok(response::json(StatusCode::OK, &results))
}

/// A session cookie, from a same-site request.
fn cookie(headers: &HeaderMap) -> Result<Credentials, RelayError> {
    require_same_site(headers)?;
    let session_id = session_cookie(headers)
        .ok_or_else(|| RelayError::Unauthenticated("You are not signed in".into()))?;
    Ok(Credentials::Session(session_id.to_owned()))
}

/// The media type must be `audio/mpeg`; parameters (`; charset=...`) are allowed.
pub fn require_audio_mpeg(headers: &HeaderMap) -> Result<(), RelayError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()));
    let media_type = value
        .as_deref()
        .map(|v| v.split(';').next().unwrap_or("").trim());
    match media_type {
        Some(media_type) if media_type.eq_ignore_ascii_case("audio/mpeg") => Ok(()),
        Some(other) => Err(RelayError::UnsupportedMediaType(other.to_owned())),
        None => Err(RelayError::UnsupportedMediaType(
            "a body without Content-Type".into(),
        )),
    }
}

/// A browser's cross-site request carries an `Origin` naming another site: refused (CSRF). The CLI
/// and other tools send no `Origin`.
fn require_same_site(headers: &HeaderMap) -> Result<(), RelayError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, host)| host);
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match (origin_host, host) {
        (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(RelayError::Forbidden(
            "Cross-site requests may not stream".into(),
        )),
    }
}
