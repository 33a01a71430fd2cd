//! Fan-out: one [`LiveChannel`] per live broadcast, shared by its source and all its listeners.
//!
//! Why it is built this way (DESIGN.md, "The relay's hot path"):
//! - Every frame is one `Bytes`, put once into a `tokio::sync::broadcast` ring; listeners clone the
//!   handle, never the audio, so ten thousand listeners cost ten thousand pointers, not copies.
//! - A burst buffer keeps the most recent whole frames (about `burst_bytes`), so a new listener's player
//!   starts at once, on a frame boundary. The burst snapshot and the subscription are taken under one
//!   lock, so a listener gets the burst and then exactly the frames after it: no gap, no repeat.
//! - The std `Mutex`es are held for a few pointer operations and never across an await or a socket
//!   write, so a slow listener cannot slow the source or the others.
//! - A listener more than `queue_bytes` behind the live edge (Icecast's queue-size) is dropped: when he
//!   next reads (the byte count, or the ring's `Lagged`), or, if he has stopped reading altogether,
//!   by the channel's watcher, which closes his connection.

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock, PoisonError, Weak,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use livestreamer_proto::broadcasts::Broadcast;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::{
    metrics,
    shard::{Joining, Shards},
};

#[cfg(test)]
pub(crate) mod tests;

/// A 128 kbit/s, 44.1 kHz frame: sizes the ring from `queue_bytes`.
const TYPICAL_FRAME_BYTES: usize = 418;
/// At least about 25 s of audio. A source may hand over many frames at once (a burst after a
/// stall, a client that sends ahead): with a small `queue_bytes` a ring of a few frames overflows
/// before the write loops run, and a loop that misses frames cannot tell that a listener who did not
/// read is behind by them. A slot is a pointer, so 1,024 of them cost about 40 KiB per broadcast.
const MIN_RING_FRAMES: usize = 1024;
/// How often the watcher looks for listeners who stopped reading.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// After the end, how long listeners have to read what is left before their connection is closed.
const END_GRACE: Duration = Duration::from_secs(5);

/// How much a channel keeps for newcomers and tolerates from laggards.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub burst_bytes: usize,
    pub queue_bytes: usize,
}

/// Takes a std lock; a panic elsewhere while holding it leaves plain data behind, still usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The most recent whole frames, at most `limit` bytes of them, each with its sequence number.
#[derive(Debug)]
struct Burst {
    frames: VecDeque<(u64, Bytes)>,
    bytes: usize,
    limit: usize,
}

impl Burst {
    fn push(&mut self, seq: u64, frame: Bytes) {
        self.bytes += frame.len();
        self.frames.push_back((seq, frame));
        while self.bytes > self.limit {
            let Some((_, oldest)) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= oldest.len();
        }
    }

    /// The frames, oldest first, as handles to the same audio.
    fn snapshot<C: FromIterator<Bytes>>(&self) -> C {
        self.frames.iter().map(|(_, frame)| frame.clone()).collect()
    }
}

/// What the source side changes under one lock.
#[derive(Debug)]
struct Fanout {
    /// `None` once the stream has ended: receivers then drain the ring and see `Closed`.
    sender: Option<broadcast::Sender<Bytes>>,
    burst: Burst,
    /// Frames published so far: the sequence number of the next one.
    frames: u64,
}

/// What the watcher knows of one listener.
#[derive(Debug)]
struct ListenerState {
    /// Live bytes delivered, counted on the channel's `published` scale.
    position: AtomicU64,
    /// Closes the listener's connection.
    abort: CancellationToken,
}

/// One live broadcast's audio.
#[derive(Debug)]
pub struct LiveChannel {
    broadcast: Broadcast,
    started_at_ms: i64,
    limits: Limits,
    fanout: Mutex<Fanout>,
    /// Bytes of frames published so far; changed only under the `fanout` lock.
    published: AtomicU64,
    listeners: AtomicUsize,
    peak: AtomicUsize,
    watched: Mutex<Vec<Weak<ListenerState>>>,
    ended: CancellationToken,
    /// The fast path's write loops ([`crate::shard`]), started by the first listener they serve.
    shards: OnceLock<Option<Shards>>,
    next_shard: AtomicUsize,
    /// Listeners dropped for falling more than `queue_bytes` behind (fast path).
    dropped: AtomicU64,
}

impl LiveChannel {
    pub fn new(broadcast: Broadcast, started_at_ms: i64, limits: Limits) -> Arc<Self> {
        let ring = (limits.queue_bytes / TYPICAL_FRAME_BYTES).max(MIN_RING_FRAMES);
        let (sender, _) = broadcast::channel(ring);
        let burst = Burst {
            frames: VecDeque::new(),
            bytes: 0,
            limit: limits.burst_bytes,
        };
        Arc::new(Self {
            broadcast,
            started_at_ms,
            limits,
            fanout: Mutex::new(Fanout {
                sender: Some(sender),
                burst,
                frames: 0,
            }),
            published: AtomicU64::new(0),
            listeners: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            watched: Mutex::new(Vec::new()),
            ended: CancellationToken::new(),
            shards: OnceLock::new(),
            next_shard: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    pub fn broadcast(&self) -> &Broadcast {
        &self.broadcast
    }

    pub fn id(&self) -> i64 {
        self.broadcast.broadcast_id
    }

    pub fn started_at_ms(&self) -> i64 {
        self.started_at_ms
    }

    /// Listeners connected now.
    pub fn listener_count(&self) -> usize {
        self.listeners.load(Ordering::Relaxed)
    }

    /// The most listeners connected at once since the stream started.
    pub fn listener_peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    /// Sends one whole frame to every listener and keeps it for the burst. Never waits. Returns the
    /// frame's sequence number.
    pub fn publish(&self, frame: Bytes) -> u64 {
        self.publish_all(std::slice::from_ref(&frame))
    }

    /// Sends whole frames (what one read from the source held) to every listener under one lock,
    /// so that a write loop woken by the first one writes them all in one pass ([`Self::settle`]):
    /// a source that writes ten frames at once must not have its listeners wait for the rest.
    /// Never waits. Returns the first frame's sequence number.
    pub fn publish_all(&self, frames: &[Bytes]) -> u64 {
        let mut guard = lock(&self.fanout);
        let seq = guard.frames;
        for frame in frames {
            Self::send(&self.published, &mut guard, frame.clone());
        }
        seq
    }

    /// Returns once no [`Self::publish_all`] is half done: a write loop calls it between the first
    /// frame that woke it and draining the rest. The lock is held for a few sends, never across
    /// an await.
    pub(crate) fn settle(&self) {
        drop(lock(&self.fanout));
    }

    /// Frames numbered by another replica ([`crate::mirror`]), in order and under one lock as
    /// [`Self::publish_all`]: each is published unless it is older than the last one (a repeat).
    /// Frames missed in between are skipped, the stream goes on.
    pub fn publish_at(&self, frames: &[(u64, Bytes)]) {
        let mut guard = lock(&self.fanout);
        for (seq, frame) in frames {
            if *seq >= guard.frames {
                guard.frames = *seq;
                Self::send(&self.published, &mut guard, frame.clone());
            }
        }
    }

    /// The next frame published here will be at least `next_seq` (a source taken over from another
    /// replica continues its numbering).
    pub fn advance_to(&self, next_seq: u64) {
        let mut guard = lock(&self.fanout);
        guard.frames = guard.frames.max(next_seq);
    }

    fn send(published: &AtomicU64, fanout: &mut Fanout, frame: Bytes) {
        let Fanout {
            sender,
            burst,
            frames,
        } = fanout;
        let Some(sender) = sender else { return };
        published.fetch_add(frame.len() as u64, Ordering::AcqRel);
        burst.push(*frames, frame.clone());
        *frames += 1;
        // An error only means that nobody listens right now.
        let _ = sender.send(frame);
    }

    /// Ends the stream: listeners receive what is queued for them, then their bodies end.
    pub fn close(&self) {
        lock(&self.fanout).sender = None;
        self.ended.cancel();
    }

    /// A new listener: the burst first, then live frames. `abort` closes his connection should he
    /// stop reading. `None` once the stream has ended.
    pub fn subscribe(self: &Arc<Self>, abort: CancellationToken) -> Option<Listener> {
        let (burst, receiver, position) = {
            let fanout = lock(&self.fanout);
            let receiver = fanout.sender.as_ref()?.subscribe();
            let burst: VecDeque<Bytes> = fanout.burst.snapshot();
            (burst, receiver, self.published.load(Ordering::Acquire))
        };
        let state = Arc::new(ListenerState {
            position: AtomicU64::new(position),
            abort,
        });
        lock(&self.watched).push(Arc::downgrade(&state));
        self.listener_joined();
        Some(Listener {
            channel: self.clone(),
            burst,
            receiver,
            state,
            unreported_bytes: 0,
        })
    }

    /// Hands a listener, his response head written, to one of the broadcast's write loops (round
    /// robin), which the first listener starts, writing at most once per `write_every`; gives him
    /// back once the stream has ended.
    pub fn join_fast(
        self: &Arc<Self>,
        joining: Joining,
        write_every: Duration,
    ) -> Result<(), Joining> {
        let Some(shards) = self.shards.get_or_init(|| Shards::start(self, write_every)) else {
            return Err(joining);
        };
        let n = self.next_shard.fetch_add(1, Ordering::Relaxed);
        shards.join(n, joining)
    }

    /// For a write loop: the ring's receiver and the burst before the first frame it will get.
    pub(crate) fn subscribe_shard(&self) -> Option<(broadcast::Receiver<Bytes>, Vec<Bytes>)> {
        let fanout = lock(&self.fanout);
        let receiver = fanout.sender.as_ref()?.subscribe();
        let burst = fanout.burst.snapshot();
        Some((receiver, burst))
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    /// A listener is in.
    pub(crate) fn listener_joined(&self) {
        let now = self.listeners.fetch_add(1, Ordering::AcqRel) + 1;
        self.peak.fetch_max(now, Ordering::AcqRel);
        metrics::listener_joined();
    }

    /// A listener is out.
    pub(crate) fn listener_left(&self) {
        self.listeners.fetch_sub(1, Ordering::AcqRel);
        metrics::listener_left();
    }

    /// A fast-path listener fell more than `queue_bytes` behind and was dropped.
    pub(crate) fn listener_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        metrics::listener_dropped_slow();
    }

    /// Fast-path listeners dropped for falling behind, since the stream started.
    pub fn listeners_dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Until the stream has ended and a grace period passed: closes the connections of listeners who
    /// fell more than `queue_bytes` behind without reading (a paused player, a dead peer).
    pub async fn watch_listeners(self: Arc<Self>) {
        let mut tick = tokio::time::interval(WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.drop_laggards(),
                _ = self.ended.cancelled() => break,
            }
        }
        tokio::time::sleep(END_GRACE).await;
        let stalled = self.live_listener_states();
        if !stalled.is_empty() {
            tracing::info!(
                broadcast_id = self.id(),
                count = stalled.len(),
                "closing listeners who did not read the end"
            );
        }
        for state in stalled {
            state.abort.cancel();
        }
    }

    fn drop_laggards(&self) {
        let published = self.published.load(Ordering::Acquire);
        for state in self.live_listener_states() {
            let lag = published.saturating_sub(state.position.load(Ordering::Acquire));
            if lag > self.limits.queue_bytes as u64 && !state.abort.is_cancelled() {
                metrics::listener_dropped_slow();
                tracing::info!(
                    broadcast_id = self.id(),
                    lag,
                    "dropping a listener who stopped reading"
                );
                state.abort.cancel();
            }
        }
    }

    /// The listeners still connected; forgets the others.
    fn live_listener_states(&self) -> Vec<Arc<ListenerState>> {
        let mut watched = lock(&self.watched);
        let live: Vec<_> = watched.iter().filter_map(Weak::upgrade).collect();
        watched.retain(|weak| weak.strong_count() > 0);
        live
    }
}

/// A listener fell more than the queue limit behind the live stream.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the listener fell {0} bytes behind the live stream")]
pub struct Lagged(pub u64);

/// One listener's view of a channel; dropping it counts him out.
#[derive(Debug)]
pub struct Listener {
    channel: Arc<LiveChannel>,
    burst: VecDeque<Bytes>,
    receiver: broadcast::Receiver<Bytes>,
    state: Arc<ListenerState>,
    /// Bytes handed out but not yet added to the relay's `sent_bytes` (see [`metrics`]).
    unreported_bytes: u64,
}

impl Listener {
    /// The next frame: burst first, then live; `None` when the stream has ended.
    pub async fn next(&mut self) -> Result<Option<Bytes>, Lagged> {
        let next = self.next_frame().await;
        if let Ok(Some(frame)) = &next {
            self.unreported_bytes += frame.len() as u64;
            if self.unreported_bytes >= metrics::SENT_BATCH_BYTES {
                metrics::bytes_sent(std::mem::take(&mut self.unreported_bytes));
            }
        }
        next
    }

    async fn next_frame(&mut self) -> Result<Option<Bytes>, Lagged> {
        if let Some(frame) = self.burst.pop_front() {
            return Ok(Some(frame));
        }
        let received = self.receiver.recv().await;
        let position = match &received {
            Ok(frame) => {
                self.state
                    .position
                    .fetch_add(frame.len() as u64, Ordering::AcqRel)
                    + frame.len() as u64
            }
            Err(_) => self.state.position.load(Ordering::Acquire),
        };
        let lag = self
            .channel
            .published
            .load(Ordering::Acquire)
            .saturating_sub(position);
        match received {
            Err(RecvError::Closed) => Ok(None),
            Err(RecvError::Lagged(_)) => Err(Lagged(lag)),
            Ok(_) if lag > self.channel.limits.queue_bytes as u64 => Err(Lagged(lag)),
            Ok(frame) => Ok(Some(frame)),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        metrics::bytes_sent(self.unreported_bytes);
        self.channel.listener_left();
    }
}

impl crate::registry::Registered for LiveChannel {
    fn id(&self) -> i64 {
        self.broadcast.broadcast_id
    }

    fn username(&self) -> &str {
        &self.broadcast.username
    }
}
