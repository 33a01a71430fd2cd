//! The source side, whatever the protocol: who is streaming, into which broadcast, and the pump that
//! turns the body into whole frames.
//!
//! Three ingest paths meet here: the CLI's chunked PUT with a session cookie (into a scheduled
//! broadcast, or "go live now"), and Icecast sources with a stream key (framed bodies through hyper,
//! close-delimited ones through [`crate::icecast`]). auth says who the source is; broadcasts-archive
//! says whether it may stream now; the relay decides only one thing itself: a broadcast already live
//! here with a source attached refuses a second one (409), and one whose source dropped takes its
//! owner back (the grace period of [`crate::live`]).

use std::{fmt::Display, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use livestreamer_mp3::FrameSplitter;
use service_kit::shutdown::Shutdown;

use crate::{
    AppState,
    error::RelayError,
    lifecycle,
    live::{Live, SourceEnd},
    upstream::Session,
};

#[cfg(test)]
mod tests;

/// A source that sends nothing for this long is considered gone (then the grace period starts).
const SOURCE_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A source that sends this many bytes without a single MP3 frame among them is not sending MP3 (an
/// ID3 tag counts: no live source needs a tag this large).
pub const NOT_AUDIO_AFTER_BYTES: u64 = 4 << 20;

/// How a source proves who it is.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// The `sess.sid` cookie of a signed-in user (the CLI, a browser).
    Session(String),
    /// Icecast's Basic auth: the user named in the path, the password his stream key.
    StreamKey { username: String, key: String },
}

/// Where a source streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A scheduled broadcast, by id.
    Broadcast(i64),
    /// "Go live now": the user's broadcast scheduled for now, or a new one with this title.
    Now { title: String, description: String },
}

/// A source holding a broadcast's source slot. Dropping it without [`AttachedSource::stream`] (the
/// connection failed before the body) counts as a dropped source.
#[derive(Debug)]
pub struct AttachedSource {
    live: Arc<Live>,
    generation: u64,
    detached: bool,
}

/// Identifies the source, then resumes its dropped broadcast or asks broadcasts-archive to go live.
pub async fn attach(
    state: &Arc<AppState>,
    credentials: Credentials,
    destination: Destination,
) -> Result<(AttachedSource, bool), RelayError> {
    let session = identify(state, credentials).await?;
    let here = match &destination {
        Destination::Broadcast(id) => state.registry.get(*id),
        Destination::Now { .. } => state.registry.by_username(&session.username),
    };
    if let Some(live) = here.filter(|live| live.broadcast().user_id == session.user_id) {
        let generation = live
            .attach_source()
            .ok_or_else(|| RelayError::Conflict("This broadcast is already live".into()))?;
        tracing::info!(broadcast_id = live.id(), "source resumed");
        crate::metrics::source_reconnected();
        return Ok((AttachedSource::new(live, generation), true));
    }
    let mut broadcast = match &destination {
        Destination::Broadcast(id) => state.upstream.authorize_stream(&session.token, *id).await?,
        Destination::Now { title, description } => {
            state
                .upstream
                .go_live_now(&session.token, title, description)
                .await?
        }
    };
    if broadcast.username.is_empty() {
        broadcast.username = session.username.clone(); // /live/{username} finds it by this name
    }
    let config = &state.config;
    let live = Arc::new(Live::new(
        broadcast,
        state.limits,
        &config.recordings_dir,
        config.source_grace,
    ));
    state
        .registry
        .insert(live.clone())
        .map_err(|_| RelayError::Conflict("This broadcast is already live".into()))?;
    let generation = live.attach_source().expect("a new broadcast has no source");
    tokio::spawn(lifecycle::run(state.clone(), live.clone()));
    Ok((AttachedSource::new(live, generation), false))
}

async fn identify(state: &AppState, credentials: Credentials) -> Result<Session, RelayError> {
    match credentials {
        Credentials::Session(session_id) => state.upstream.resolve_session(&session_id).await,
        Credentials::StreamKey { username, key } => {
            state
                .upstream
                .authenticate_stream_key(&username, &key)
                .await
        }
    }
}

impl AttachedSource {
    fn new(live: Arc<Live>, generation: u64) -> Self {
        Self {
            live,
            generation,
            detached: false,
        }
    }

    pub fn broadcast_id(&self) -> i64 {
        self.live.id()
    }

    /// Streams `body` into the broadcast until it ends; `end_of_body` says what its clean end means
    /// (a framed body's end is the DJ stopping; a close-delimited body's end may be a drop). Returns
    /// the bytes received and how the source ended.
    pub async fn stream<S, E>(
        mut self,
        body: S,
        end_of_body: SourceEnd,
        shutdown: &Shutdown,
    ) -> (u64, SourceEnd)
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Display,
    {
        let (received, end) = pump(&self.live, body, end_of_body, shutdown).await;
        crate::metrics::source_ended(end);
        self.detached = true;
        self.live.detach_source(self.generation, end);
        (received, end)
    }
}

impl Drop for AttachedSource {
    fn drop(&mut self) {
        if !self.detached {
            self.live.detach_source(self.generation, SourceEnd::Dropped);
        }
    }
}

/// Reads the source's body into the broadcast, whole frames only, until it ends, fails, idles too
/// long or the relay shuts down. Returns the bytes received and how it ended.
pub async fn pump<S, E>(
    live: &Live,
    mut body: S,
    end_of_body: SourceEnd,
    shutdown: &Shutdown,
) -> (u64, SourceEnd)
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Display,
{
    let mut splitter = FrameSplitter::new();
    let mut received = 0u64;
    let mut discarded_before_frame = 0;
    let end = loop {
        let next = tokio::select! {
            next = tokio::time::timeout(SOURCE_IDLE_TIMEOUT, body.next()) => next,
            _ = shutdown.requested() => break SourceEnd::Shutdown,
        };
        let data = match next {
            Ok(Some(Ok(data))) => data,
            Ok(Some(Err(error))) => {
                tracing::info!(broadcast_id = live.id(), %error, "the source's body failed");
                break SourceEnd::Dropped;
            }
            Ok(None) => break end_of_body,
            Err(_) => {
                tracing::info!(broadcast_id = live.id(), "the source went silent");
                break SourceEnd::Dropped;
            }
        };
        received += data.len() as u64;
        live.received(data.len());
        crate::metrics::bytes_received(data.len() as u64);
        splitter.push(&data);
        while let Some(frame) = splitter.next_frame() {
            discarded_before_frame = splitter.discarded();
            live.publish(frame);
        }
        if splitter.discarded() - discarded_before_frame > NOT_AUDIO_AFTER_BYTES {
            tracing::info!(broadcast_id = live.id(), "the source does not send MP3");
            break SourceEnd::NotAudio;
        }
    };
    if let Some(last) = splitter.finish() {
        live.publish(last);
    }
    if splitter.discarded() > 0 {
        tracing::debug!(
            broadcast_id = live.id(),
            discarded = splitter.discarded(),
            "skipped non-audio bytes"
        );
    }
    (received, end)
}
