//! One live broadcast: its fan-out channel, its recording, and the source streaming into it.
//!
//! Why the source is a slot and not the owner: a source's connection may break (a DJ's Wi-Fi, a
//! restarted encoder) while hundreds listen. The broadcast outlives its source for a grace period
//! (default 10 s): listeners stay connected, and the same user reconnecting to the same broadcast takes
//! the slot again and the stream continues. A source that ends its body properly (a chunked body's
//! last chunk, a `Content-Length` reached) or a relay shutting down ends the broadcast at once. Each
//! attachment gets a generation number, so a stale grace timer never ends a resumed stream.
//!
//! With several relay replicas the same `Live` type is both the broadcast whose source streams here
//! (the owner: it records and sends each frame to the other replicas) and its mirror on the others
//! ([`crate::mirror`]). A dropped source may return to another replica: this one then becomes a
//! mirror of it, and its listeners hear the stream go on.

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use livestreamer_proto::broadcasts::Broadcast;
use service_kit::clock::now_ms;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{
    channel::{Limits, LiveChannel, lock},
    ownership::{Ownership, OwnershipError, Record},
    recording::Recorder,
    registry::Registered,
    replication::{Outbox, Replicas},
};

#[cfg(test)]
mod tests;

/// How a source's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEnd {
    /// The body ended as its framing says: the DJ stopped. The broadcast ends now.
    Finished,
    /// The connection broke, or was close-delimited (Icecast): wait for a return.
    Dropped,
    /// No whole frame for [`crate::source::SOURCE_STARVED_AFTER`] (silent, or trickling bytes):
    /// waits for a return like a drop; a chunked PUT is answered 408.
    Starved,
    /// The relay is shutting down.
    Shutdown,
    /// The body is not MP3 (megabytes without a frame): the broadcast ends now.
    NotAudio,
}

#[derive(Debug, Default)]
struct SourceSlot {
    attached: bool,
    generation: u64,
    /// This replica holds the broadcast's source, or waits for it to return; otherwise it mirrors
    /// the replica that does ([`crate::mirror`]).
    owner: bool,
}

/// What one source's stream into this replica writes: the recording and the other replicas.
#[derive(Debug)]
struct SourceSession {
    recorder: Recorder,
    outbox: Option<Outbox>,
}

/// A broadcast live in this relay.
#[derive(Debug)]
pub struct Live {
    pub channel: Arc<LiveChannel>,
    recordings: PathBuf,
    replicas: Option<Replicas>,
    source: Mutex<SourceSlot>,
    session: Mutex<Option<SourceSession>>,
    /// `false` while a dropped source's session is being closed (its recording synced): a source
    /// that returns, here or on another replica, waits for it so that one writer follows the other.
    settled: watch::Sender<bool>,
    /// Held while this replica writes its ownership record's state: the periodic refresh reads the
    /// state from the slot under it; a dropped source's grace is announced (and `settled` set), and
    /// a returning source takes the broadcast over and attaches, under it. Without it, a refresh
    /// that read "connected" just before a drop could reach Redis after the grace announcement (the
    /// calls go over a pool of connections, in no set order): the record then said "connected"
    /// until the next refresh, and a DJ who came back at once was refused 409. Likewise a refresh
    /// that read "grace" could undo a takeover's "connected".
    record_writes: Arc<tokio::sync::Mutex<()>>,
    ending: CancellationToken,
    grace: Duration,
    bytes_received: AtomicU64,
    recorded: AtomicU64,
}

impl Live {
    /// A broadcast this replica alone knows of, its source expected here.
    pub fn new(broadcast: Broadcast, limits: Limits, recordings: &Path, grace: Duration) -> Self {
        let record = Record {
            broadcast,
            started_at_ms: now_ms(),
        };
        Self::of_record(record, limits, recordings, grace, None, true)
    }

    /// A broadcast shared with the other replicas: `owner` when its source streams here.
    pub fn replicated(
        record: Record,
        state: &crate::AppState,
        replicas: Replicas,
        owner: bool,
    ) -> Self {
        let config = &state.config;
        let (recordings, grace) = (&config.recordings_dir, config.source_grace);
        Self::of_record(
            record,
            state.limits,
            recordings,
            grace,
            Some(replicas),
            owner,
        )
    }

    fn of_record(
        record: Record,
        limits: Limits,
        recordings: &Path,
        grace: Duration,
        replicas: Option<Replicas>,
        owner: bool,
    ) -> Self {
        Self {
            channel: LiveChannel::new(record.broadcast, record.started_at_ms, limits),
            recordings: recordings.to_owned(),
            replicas,
            source: Mutex::new(SourceSlot {
                owner,
                ..SourceSlot::default()
            }),
            session: Mutex::new(None),
            settled: watch::Sender::new(true),
            record_writes: Arc::default(),
            ending: CancellationToken::new(),
            grace,
            bytes_received: AtomicU64::new(0),
            recorded: AtomicU64::new(0),
        }
    }

    pub fn id(&self) -> i64 {
        self.channel.id()
    }

    pub fn broadcast(&self) -> &Broadcast {
        self.channel.broadcast()
    }

    /// What the ownership record says of this broadcast.
    pub fn record(&self) -> Record {
        Record {
            broadcast: self.broadcast().clone(),
            started_at_ms: self.channel.started_at_ms(),
        }
    }

    /// Takes the source slot; `None` while another source streams (or once the broadcast ends).
    pub fn attach_source(&self) -> Option<u64> {
        let mut slot = lock(&self.source);
        if slot.attached || self.ending.is_cancelled() {
            return None;
        }
        slot.attached = true;
        slot.owner = true;
        slot.generation += 1;
        let recorder = Recorder::start(&self.recordings, self.id());
        let outbox = self
            .replicas
            .as_ref()
            .map(|replicas| replicas.outbox(self.id()));
        *lock(&self.session) = Some(SourceSession { recorder, outbox });
        Some(slot.generation)
    }

    /// The source was taken over from another replica: frames go on from `next_seq`.
    pub fn take_over(&self, next_seq: u64) {
        self.channel.advance_to(next_seq);
        lock(&self.source).owner = true;
    }

    /// Another replica holds the source now: this one mirrors it.
    pub fn disown(&self) {
        let mut slot = lock(&self.source);
        if !slot.attached {
            slot.owner = false;
        }
    }

    /// Whether this replica holds the source (or waits for it to return).
    pub fn is_owner(&self) -> bool {
        lock(&self.source).owner
    }

    /// Whether a source streams here, or its session is still being closed.
    pub fn is_streaming_here(&self) -> bool {
        lock(&self.source).attached || !*self.settled.borrow()
    }

    /// Resolves once a dropped source's session here is closed.
    pub async fn settled(&self) {
        let mut settled = self.settled.subscribe();
        let _ = settled.wait_for(|settled| *settled).await;
    }

    /// Counts bytes received from sources, frames or not.
    pub fn received(&self, bytes: usize) {
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Bytes received from every source of this broadcast.
    pub fn bytes_received(&self) -> u64 {
        self.bytes_received.load(Ordering::Relaxed)
    }

    /// Whole frames from the source (what one read held): to every listener, the recording and
    /// the other replicas.
    pub fn publish(&self, frames: &[Bytes]) {
        let first = self.channel.publish_all(frames);
        if let Some(session) = lock(&self.session).as_ref() {
            for frame in frames {
                session.recorder.write(frame.clone());
            }
            if let Some(outbox) = &session.outbox {
                outbox.send(first, frames);
            }
        }
    }

    /// Numbered frames from the replica that holds the source; ignored while a source streams
    /// here.
    pub fn mirror(&self, frames: &[(u64, Bytes)]) {
        if !lock(&self.source).attached {
            self.channel.publish_at(frames);
        }
    }

    /// The source of `generation` left; ends the broadcast now or after the grace period.
    pub fn detach_source(self: &Arc<Self>, generation: u64, end: SourceEnd) {
        {
            let mut slot = lock(&self.source);
            if slot.generation != generation || !slot.attached {
                return;
            }
            slot.attached = false;
        }
        if !matches!(end, SourceEnd::Dropped | SourceEnd::Starved) || self.grace.is_zero() {
            self.end();
            return;
        }
        tracing::info!(broadcast_id = self.id(), grace = ?self.grace, "source dropped; waiting for it");
        self.settled.send_replace(false);
        let live = self.clone();
        tokio::spawn(async move {
            live.finish_session().await;
            {
                let _writing = live.writing_record().await;
                live.announce_grace().await;
                live.settled.send_replace(true);
            }
            tokio::select! {
                _ = tokio::time::sleep(live.grace) => {}
                _ = live.ending.cancelled() => return,
            }
            let slot = lock(&live.source);
            if !slot.attached && slot.generation == generation && slot.owner {
                tracing::info!(broadcast_id = live.id(), "the source did not come back");
                live.ending.cancel();
            }
        });
    }

    /// The right to write this replica's ownership record's state (see `record_writes`), held
    /// while the guard lives.
    pub async fn writing_record(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.record_writes.clone().lock_owned().await
    }

    /// The owner's periodic refresh of its ownership record: "connected" while a source streams here
    /// (or its session is still being closed), "grace" while it is awaited; `false` when another
    /// replica took the broadcast over.
    pub async fn refresh_record(&self, ownership: &Ownership) -> Result<bool, OwnershipError> {
        let _writing = self.writing_record().await;
        ownership
            .assert(&self.record(), self.is_streaming_here())
            .await
    }

    /// Tells the other replicas that the source may now return to any of them.
    async fn announce_grace(&self) {
        let Some(replicas) = &self.replicas else {
            return;
        };
        match replicas.ownership.assert(&self.record(), false).await {
            Ok(true) => {}
            Ok(false) => self.disown(),
            Err(error) => {
                tracing::warn!(broadcast_id = self.id(), %error, "the source may return here only")
            }
        }
    }

    /// Ends the broadcast; [`crate::lifecycle`] then closes and announces it.
    pub fn end(&self) {
        self.ending.cancel();
    }

    /// Resolves once the broadcast is to end.
    pub async fn ending(&self) {
        self.ending.cancelled().await;
    }

    /// Closes the current source's session: its recording completed, its frames sent to the other
    /// replicas.
    async fn finish_session(&self) {
        let Some(session) = lock(&self.session).take() else {
            return;
        };
        let written = session.recorder.finish().await;
        self.recorded.fetch_add(written, Ordering::Relaxed);
        let dropped = session.recorder.dropped();
        if dropped > 0 {
            tracing::warn!(
                broadcast_id = self.id(),
                dropped,
                "recording dropped frames"
            );
        }
        if let Some(outbox) = session.outbox {
            outbox.flush().await;
        }
    }

    /// Completes the recording; the bytes this replica wrote to it for this broadcast.
    pub async fn finish_recording(&self) -> u64 {
        self.finish_session().await;
        self.settled().await;
        self.recorded.load(Ordering::Relaxed)
    }
}

impl Registered for Live {
    fn id(&self) -> i64 {
        self.channel.id()
    }

    fn username(&self) -> &str {
        &self.channel.broadcast().username
    }
}
