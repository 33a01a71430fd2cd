//! One live broadcast: its fan-out channel, its recording, and the source streaming into it.
//!
//! Why the source is a slot and not the owner: a source's connection may break (a DJ's Wi-Fi, a
//! restarted encoder) while hundreds listen. The broadcast outlives its source for a grace period
//! (default 10 s): listeners stay connected, and the same user reconnecting to the same broadcast takes
//! the slot again and the stream continues. A source that ends its body properly (a chunked body's
//! last chunk, a `Content-Length` reached) or a relay shutting down ends the broadcast at once. Each
//! attachment gets a generation number, so a stale grace timer never ends a resumed stream.

use std::{
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use livestreamer_proto::broadcasts::Broadcast;
use service_kit::clock::now_ms;
use tokio_util::sync::CancellationToken;

use crate::{
    channel::{Limits, LiveChannel, lock},
    recording::Recorder,
    registry::Registered,
};

#[cfg(test)]
mod tests;

/// How a source's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEnd {
    /// The body ended as its framing says: the DJ stopped. The broadcast ends now.
    Finished,
    /// The connection broke, went silent, or was close-delimited (Icecast): wait for a return.
    Dropped,
    /// The relay is shutting down.
    Shutdown,
    /// The body is not MP3 (megabytes without a frame): the broadcast ends now.
    NotAudio,
}

#[derive(Debug, Default)]
struct SourceSlot {
    attached: bool,
    generation: u64,
}

/// A broadcast live in this relay.
#[derive(Debug)]
pub struct Live {
    pub channel: Arc<LiveChannel>,
    recorder: Recorder,
    source: Mutex<SourceSlot>,
    ending: CancellationToken,
    grace: Duration,
    bytes_received: AtomicU64,
}

impl Live {
    pub fn new(broadcast: Broadcast, limits: Limits, recordings: &Path, grace: Duration) -> Self {
        let recorder = Recorder::start(recordings, broadcast.broadcast_id);
        Self {
            channel: LiveChannel::new(broadcast, now_ms(), limits),
            recorder,
            source: Mutex::new(SourceSlot::default()),
            ending: CancellationToken::new(),
            grace,
            bytes_received: AtomicU64::new(0),
        }
    }

    pub fn id(&self) -> i64 {
        self.channel.id()
    }

    pub fn broadcast(&self) -> &Broadcast {
        self.channel.broadcast()
    }

    /// Takes the source slot; `None` while another source streams (or once the broadcast ends).
    pub fn attach_source(&self) -> Option<u64> {
        let mut slot = lock(&self.source);
        if slot.attached || self.ending.is_cancelled() {
            return None;
        }
        slot.attached = true;
        slot.generation += 1;
        Some(slot.generation)
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

    /// One whole frame from the source: to every listener and to the recording.
    pub fn publish(&self, frame: Bytes) {
        self.recorder.write(frame.clone());
        self.channel.publish(frame);
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
        if end != SourceEnd::Dropped || self.grace.is_zero() {
            self.end();
            return;
        }
        tracing::info!(broadcast_id = self.id(), grace = ?self.grace, "source dropped; waiting for it");
        let live = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(live.grace) => {}
                _ = live.ending.cancelled() => return,
            }
            let slot = lock(&live.source);
            if !slot.attached && slot.generation == generation {
                tracing::info!(broadcast_id = live.id(), "the source did not come back");
                live.ending.cancel();
            }
        });
    }

    /// Ends the broadcast; [`crate::lifecycle`] then closes and announces it.
    pub fn end(&self) {
        self.ending.cancel();
    }

    /// Resolves once the broadcast is to end.
    pub async fn ending(&self) {
        self.ending.cancelled().await;
    }

    /// Completes the recording; the bytes this session wrote.
    pub async fn finish_recording(&self) -> u64 {
        let written = self.recorder.finish().await;
        let dropped = self.recorder.dropped();
        if dropped > 0 {
            tracing::warn!(
                broadcast_id = self.id(),
                dropped,
                "recording dropped frames"
            );
        }
        written
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
