//! The source side, whatever the protocol: who is streaming, into which broadcast, and the pump that
//! turns the body into whole frames.
//!
//! Three ingest paths meet here: the CLI's chunked PUT with a session cookie (into a scheduled
//! broadcast, or "go live now"), and Icecast sources with a stream key (framed bodies through hyper,
//! close-delimited ones through [`crate::icecast`]). auth says who the source is; broadcasts-archive
//! says whether it may stream now; the relay decides only one thing itself: a broadcast already live
//! with a source attached, on any replica, refuses a second one (409), and one whose source dropped
//! takes its owner back (the grace period of [`crate::live`]), on whichever replica he reconnects to
//! ([`crate::ownership`]).

use std::{fmt::Display, sync::Arc, time::Duration};

use tokio::time::Instant;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use livestreamer_mp3::FrameSplitter;
use service_kit::{clock::now_ms, shutdown::Shutdown};

use crate::{
    AppState,
    error::RelayError,
    lifecycle,
    live::{Live, SourceEnd},
    mirror,
    ownership::{Record, Takeover},
    upstream::Session,
};

#[cfg(test)]
mod tests;

/// A source that delivers no whole frame for this long is not live any more, whether it sends nothing
/// or trickles bytes (one per second would complete a 128 kbit/s frame every seven minutes): it is
/// treated as dropped, so the grace period starts and a healthy reconnect resumes the stream. Timing
/// whole frames rather than bytes is what catches the trickle; 10 s is far beyond any encoder's pause.
pub const SOURCE_STARVED_AFTER: Duration = Duration::from_secs(10);
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

/// Identifies the source, then resumes its dropped broadcast (here or on another replica) or asks
/// broadcasts-archive to go live.
pub async fn attach(
    state: &Arc<AppState>,
    credentials: Credentials,
    destination: Destination,
) -> Result<(AttachedSource, bool), RelayError> {
    let session = identify(state, credentials).await?;
    if let Some((live, generation)) = resume(state, &session, &destination).await? {
        tracing::info!(broadcast_id = live.id(), "source resumed");
        crate::metrics::source_reconnected();
        return Ok((AttachedSource::new(live, generation), true));
    }
    let live = go_live(state, &session, &destination).await?;
    let generation = live.attach_source().expect("a new broadcast has no source");
    tokio::spawn(lifecycle::run(state.clone(), live.clone()));
    tokio::spawn(mirror::follow(state.clone(), live.clone()));
    Ok((AttachedSource::new(live, generation), false))
}

fn already_live() -> RelayError {
    RelayError::Conflict("This broadcast is already live".into())
}

/// The user's broadcast whose source dropped, here or on another replica, taken over by this one
/// and attached (its generation); `None` when there is none. 409 while its source streams, wherever.
async fn resume(
    state: &Arc<AppState>,
    session: &Session,
    destination: &Destination,
) -> Result<Option<(Arc<Live>, u64)>, RelayError> {
    let here = match destination {
        Destination::Broadcast(id) => state.registry.get(*id),
        Destination::Now { .. } => state.registry.by_username(&session.username),
    }
    .filter(|live| live.broadcast().user_id == session.user_id);
    if let Some(live) = &here {
        live.settled().await; // the dropped source's recording is closed before the next one writes
    }
    // From the takeover to the attach, no refresh of this replica's record may land: one that read
    // "grace" before would undo the takeover's "connected" (see `Live::record_writes`).
    let _writing = match &here {
        Some(live) => Some(live.writing_record().await),
        None => None,
    };
    let ownership = &state.replicas.ownership;
    let id = match (&here, destination) {
        (Some(live), _) => live.id(),
        (None, Destination::Broadcast(id)) => *id,
        (None, Destination::Now { .. }) => match ownership.id_of_user(&session.username).await {
            Ok(Some(id)) => id,
            Ok(None) => return Ok(None),
            Err(error) => {
                tracing::warn!(%error, "cannot look for a dropped source on other replicas");
                return Ok(None);
            }
        },
    };
    match ownership.take_over(id, session.user_id).await {
        Ok(Takeover::Busy) => Err(already_live()),
        Ok(Takeover::Taken { next_seq }) => {
            let live = match here {
                Some(live) => live,
                None => mirror::open(state, id).await.ok_or_else(|| {
                    RelayError::Unavailable("The broadcast could not be resumed here".into())
                })?,
            };
            live.take_over(next_seq);
            attached(live).map(Some)
        }
        // No record (Redis lost it) or no Redis: what this replica holds decides.
        Ok(Takeover::Absent) => here.map(attached).transpose(),
        Err(error) => {
            tracing::warn!(broadcast_id = id, %error, "resuming without the other replicas");
            here.map(attached).transpose()
        }
    }
}

/// `live` with the source slot taken, and its generation; 409 if another source has it.
fn attached(live: Arc<Live>) -> Result<(Arc<Live>, u64), RelayError> {
    let generation = live.attach_source().ok_or_else(already_live)?;
    Ok((live, generation))
}

/// Asks broadcasts-archive to go live, then claims the broadcast for this replica.
async fn go_live(
    state: &Arc<AppState>,
    session: &Session,
    destination: &Destination,
) -> Result<Arc<Live>, RelayError> {
    let mut broadcast = match destination {
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
    let record = Record {
        broadcast,
        started_at_ms: now_ms(),
    };
    match state.replicas.ownership.claim(&record).await {
        Ok(true) => {}
        Ok(false) => return Err(already_live()),
        Err(error) => tracing::warn!(%error, "streaming without the other replicas"),
    }
    let live = Arc::new(Live::replicated(
        record,
        state,
        state.replicas.clone(),
        true,
    ));
    state
        .registry
        .insert(live.clone())
        .map_err(|_| already_live())?;
    Ok(live)
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

/// Reads the source's body into the broadcast, whole frames only, until it ends, fails, starves
/// ([`SOURCE_STARVED_AFTER`]) or the relay shuts down. Returns the bytes received and how it ended.
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
    // The frames of one read, published together (`LiveChannel::publish_all`).
    let mut frames = Vec::new();
    let mut received = 0u64;
    let mut discarded_before_frame = 0;
    let mut frame_due = Instant::now() + SOURCE_STARVED_AFTER;
    let end = loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(frame_due, body.next()) => next,
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
                tracing::info!(
                    broadcast_id = live.id(),
                    "the source sent no whole frame in time"
                );
                break SourceEnd::Starved;
            }
        };
        received += data.len() as u64;
        live.received(data.len());
        crate::metrics::bytes_received(data.len() as u64);
        splitter.push(&data);
        while let Some(frame) = splitter.next_frame() {
            discarded_before_frame = splitter.discarded();
            frames.push(frame);
        }
        if !frames.is_empty() {
            frame_due = Instant::now() + SOURCE_STARVED_AFTER;
            live.publish(&frames);
            frames.clear();
        }
        if splitter.discarded() - discarded_before_frame > NOT_AUDIO_AFTER_BYTES {
            tracing::info!(broadcast_id = live.id(), "the source does not send MP3");
            break SourceEnd::NotAudio;
        }
    };
    if let Some(last) = splitter.finish() {
        live.publish(&[last]);
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
