//! The source side: a `PUT` whose chunked `audio/mpeg` body is the live stream.
//!
//! The request is checked (media type, same-site origin, session, not already live here), then
//! broadcasts-archive decides whether this user may stream into this broadcast now. From then on the
//! stream runs in a task of its own, so that however the connection ends (the source stops, the network
//! drops, the relay shuts down) the channel is removed, listeners' bodies end and `stream.ended` is
//! published exactly once. The response, with a small summary, is sent when the stream ends.

use service_kit::clock::now_ms;
use std::{fmt::Display, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;
use livestreamer_mp3::FrameSplitter;
use livestreamer_proto::events::{StreamEnded, StreamStarted, routing};
use serde_json::json;
use service_kit::{amqp::EventPublisher, backoff::Backoff, shutdown::Shutdown};

use crate::{
    AppState,
    channel::LiveChannel,
    error::RelayError,
    response::{self, Body},
    upstream::session_cookie,
};

#[cfg(test)]
mod tests;

/// A source that sends nothing for this long is considered gone (the next issue adds a short
/// reconnection window that keeps listeners connected).
const SOURCE_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to keep trying to publish an event before giving up (and logging it).
const PUBLISH_BUDGET: Duration = Duration::from_secs(5);

/// `PUT /api/v1/users/me/broadcasts/{id}/stream`.
pub async fn handle<B>(
    state: Arc<AppState>,
    headers: &HeaderMap,
    body: B,
    broadcast_id: i64,
) -> Result<Response<Body>, RelayError>
where
    B: HttpBody<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Display,
{
    require_audio_mpeg(headers)?;
    require_same_site(headers)?;
    let session_id = session_cookie(headers)
        .ok_or_else(|| RelayError::Unauthenticated("You are not signed in".into()))?
        .to_owned();
    let stream = tokio::spawn(go_live(state, session_id, broadcast_id, body));
    let summary = stream
        .await
        .map_err(|_| RelayError::Unavailable("The stream ended unexpectedly".into()))??;
    let results = json!({ "results": {
        "broadcastId": summary.broadcast_id,
        "bytesReceived": summary.bytes_received,
        "durationSec": summary.duration_sec,
    }});
    Ok(response::json(StatusCode::OK, &results))
}

/// The media type must be `audio/mpeg`; parameters (`; charset=...`) are allowed.
fn require_audio_mpeg(headers: &HeaderMap) -> Result<(), RelayError> {
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

/// What the source's response reports.
#[derive(Debug)]
struct Summary {
    broadcast_id: i64,
    bytes_received: u64,
    duration_sec: i64,
}

/// Authorises, goes live, streams until the end, then ends the broadcast. Runs in its own task.
async fn go_live<B>(
    state: Arc<AppState>,
    session_id: String,
    broadcast_id: i64,
    body: B,
) -> Result<Summary, RelayError>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Display,
{
    let session = state.upstream.resolve_session(&session_id).await?;
    if state.registry.get(broadcast_id).is_some() {
        return Err(RelayError::Conflict(
            "This broadcast is already live".into(),
        ));
    }
    let mut broadcast = state
        .upstream
        .authorize_stream(&session.token, broadcast_id)
        .await?;
    if broadcast.username.is_empty() {
        broadcast.username = session.username.clone(); // /live/{username} finds it by this name
    }
    let channel = LiveChannel::new(broadcast, now_ms(), state.limits);
    state
        .registry
        .insert(channel.clone())
        .map_err(|_| RelayError::Conflict("This broadcast is already live".into()))?;
    tracing::info!(broadcast_id, user = %session.username, "stream started");
    tokio::spawn(channel.clone().watch_listeners());
    let started = StreamStarted {
        broadcast: Some(channel.broadcast().clone()),
        started_at_ms: channel.started_at_ms(),
    };
    let publisher = state.publisher.clone();
    let announce =
        tokio::spawn(async move { publish(&publisher, routing::STREAM_STARTED, &started).await });

    let bytes_received = pump(&channel, body, &state.shutdown).await;

    state.registry.remove(channel.id());
    channel.close();
    let ended = ended_event(&channel, bytes_received);
    tracing::info!(
        broadcast_id,
        bytes_received,
        peak = ended.listener_peak_count,
        "stream ended"
    );
    let _ = announce.await; // stream.ended must follow stream.started
    publish(&state.publisher, routing::STREAM_ENDED, &ended).await;
    Ok(Summary {
        broadcast_id,
        bytes_received,
        duration_sec: ended.duration_sec,
    })
}

fn ended_event(channel: &LiveChannel, bytes_received: u64) -> StreamEnded {
    let ended_at_ms = now_ms();
    StreamEnded {
        broadcast_id: channel.id(),
        user_id: channel.broadcast().user_id,
        started_at_ms: channel.started_at_ms(),
        ended_at_ms,
        listener_peak_count: i64::try_from(channel.listener_peak()).unwrap_or(i64::MAX),
        duration_sec: (ended_at_ms - channel.started_at_ms()).max(0) / 1000,
        bytes_received: i64::try_from(bytes_received).unwrap_or(i64::MAX),
    }
}

/// Reads the source's body into the channel, whole frames only, until it ends, fails, idles too long
/// or the relay shuts down. Returns the bytes received.
pub async fn pump<B>(channel: &LiveChannel, mut body: B, shutdown: &Shutdown) -> u64
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Display,
{
    let mut splitter = FrameSplitter::new();
    let mut received = 0u64;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(SOURCE_IDLE_TIMEOUT, body.frame()) => next,
            _ = shutdown.requested() => break,
        };
        let data = match next {
            Ok(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
            Ok(Some(Err(error))) => {
                tracing::info!(broadcast_id = channel.id(), %error, "the source's body failed");
                break;
            }
            Ok(None) => break,
            Err(_) => {
                tracing::info!(broadcast_id = channel.id(), "the source went silent");
                break;
            }
        };
        received += data.len() as u64;
        splitter.push(&data);
        while let Some(frame) = splitter.next_frame() {
            channel.publish(frame);
        }
    }
    if let Some(last) = splitter.finish() {
        channel.publish(last);
    }
    if splitter.discarded() > 0 {
        tracing::debug!(
            broadcast_id = channel.id(),
            discarded = splitter.discarded(),
            "skipped non-audio bytes"
        );
    }
    received
}

/// Publishes an event, retrying with backoff for a while: a broker hiccup must not lose the end of a
/// broadcast (broadcasts-archive would keep it live).
async fn publish(publisher: &EventPublisher, routing_key: &str, event: &impl prost::Message) {
    let deadline = tokio::time::Instant::now() + PUBLISH_BUDGET;
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        let attempt =
            tokio::time::timeout_at(deadline, publisher.publish(routing_key, event)).await;
        let error = match attempt {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        let delay = backoff.next_delay();
        if tokio::time::Instant::now() + delay >= deadline {
            tracing::error!(routing_key, %error, "could not publish the event; giving up");
            return;
        }
        tracing::warn!(routing_key, %error, "could not publish the event; retrying");
        tokio::time::sleep(delay).await;
    }
}
