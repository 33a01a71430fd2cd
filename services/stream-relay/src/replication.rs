//! Frames between relay replicas: Redis pub/sub, one channel per live broadcast.
//!
//! Why Redis pub/sub and not a RabbitMQ exchange: live audio wants no persistence: a frame that arrives
//! late is worth nothing, so at-most-once delivery is the right guarantee, and a replica that was not
//! subscribed has nothing to catch up on but the burst. Pub/sub gives exactly that with one `PUBLISH`
//! per frame and one message per subscribed replica (not per listener: each replica fans out locally,
//! [`crate::channel`]); the relay already depends on Redis for listener counts, ownership and the burst
//! list. A RabbitMQ exchange would add a queue per replica and per-message routing for durability we do
//! not want. Measured (BENCHMARKS.md, "Relay replicas", `e2e/bench/replication.sh`, 2026-11-27, 1–50
//! broadcasts × 1–3 replicas of 38 frames/s): Redis, burst list included, spent 12–60 ms of server CPU
//! per 1,000 delivered frames, RabbitMQ without confirms 35–115 ms (1.9–3.5× at 10 and 50 broadcasts),
//! with confirms and acks 80–300 ms; latency did not differ measurably (p50 1.1–1.4 ms against 1.3–2.1 ms,
//! p99 tails of both up to tens of ms on a shared machine), and neither lost or reordered a frame. So
//! the reason is CPU and simplicity, not latency.
//!
//! The owner replica's [`Outbox`] sends each frame with its sequence number, never waiting: a task
//! takes what was queued, the frames of a source's read together (so that a mirror gets them in one
//! burst and writes them to its listeners at once, [`crate::mirror`]), and pipelines batches of
//! `RPUSH` (the burst list, capped, so that a replica opening a mirror starts its listeners on
//! recent whole frames) then `PUBLISH`. Pushing before publishing on one connection means
//! that a mirror which subscribes, then reads the list, misses no frame; the sequence numbers drop the
//! ones it gets twice. Control messages share the channel, so they arrive in order with the frames:
//! `T<replica>` (a replica took the source over) and `E` (the broadcast ended).

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::{channel::lock, ownership::Ownership};
use bytes::{BufMut, Bytes, BytesMut};
use deadpool_redis::{Pool, redis};
use futures_util::{Stream, StreamExt};
use tokio::{sync::Notify, task::JoinHandle};

/// Frames that may wait for Redis (about 25 s of 128 kbit/s audio); more are dropped.
const OUTBOX_FRAMES: usize = 1024;
/// The burst list keeps about this many frames (a mirror trims to its own burst size).
const BURST_FRAMES_PER_KIB: usize = 4;
/// Frames per pipeline.
const BATCH: usize = 64;
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// The Redis keys of the relay replicas, under the deployment's prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: format!("{prefix}relay:"),
        }
    }

    /// The ownership record of a live broadcast ([`crate::ownership`]).
    pub fn record(&self, id: i64) -> String {
        format!("{}live:{id}", self.prefix)
    }

    /// The id of the broadcast live under a username (case-insensitive).
    pub fn user(&self, username: &str) -> String {
        format!("{}live-user:{}", self.prefix, username.to_lowercase())
    }

    /// The most recent frames, each as on the channel.
    pub fn burst(&self, id: i64) -> String {
        format!("{}burst:{id}", self.prefix)
    }

    /// The pub/sub channel of a broadcast's frames and control messages.
    pub fn frames(&self, id: i64) -> String {
        format!("{}frames:{id}", self.prefix)
    }
}

/// One message on a broadcast's channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Frame {
        seq: u64,
        frame: Bytes,
    },
    /// This replica holds the source now.
    TakenOver {
        replica: String,
    },
    Ended,
}

impl Message {
    pub fn encode(&self) -> Bytes {
        match self {
            Self::Frame { seq, frame } => {
                let mut out = BytesMut::with_capacity(9 + frame.len());
                out.put_u8(b'F');
                out.put_u64(*seq);
                out.put_slice(frame);
                out.freeze()
            }
            Self::TakenOver { replica } => Bytes::from(format!("T{replica}")),
            Self::Ended => Bytes::from_static(b"E"),
        }
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        match bytes.split_first()? {
            (b'F', rest) if rest.len() > 8 => Some(Self::Frame {
                seq: seq_of(&rest[..8])?,
                frame: Bytes::copy_from_slice(&rest[8..]),
            }),
            (b'T', rest) => Some(Self::TakenOver {
                replica: String::from_utf8_lossy(rest).into_owned(),
            }),
            (b'E', []) => Some(Self::Ended),
            _ => None,
        }
    }
}

/// A big-endian sequence number from its 8 bytes.
pub fn seq_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The owner's side: frames to the other replicas, in order, never waiting.
#[derive(Debug)]
pub struct Outbox {
    queue: Arc<OutboxQueue>,
    task: JoinHandle<()>,
}

/// Frames waiting for Redis, taken by the sending task all at once.
#[derive(Debug, Default)]
struct OutboxQueue {
    waiting: Mutex<Waiting>,
    /// Rung when frames are queued or the outbox is closed.
    ready: Notify,
}

#[derive(Debug, Default)]
struct Waiting {
    frames: Vec<(u64, Bytes)>,
    closed: bool,
}

impl Outbox {
    pub fn start(pool: Pool, keys: &Keys, id: i64, burst_bytes: usize) -> Self {
        let queue = Arc::new(OutboxQueue::default());
        let burst_frames = (burst_bytes / 1024 * BURST_FRAMES_PER_KIB).max(16);
        let task = tokio::spawn(send_frames(
            pool,
            keys.clone(),
            id,
            burst_frames,
            queue.clone(),
        ));
        Self { queue, task }
    }

    /// Queues the frames of one read, numbered from `first`; `false` when the queue is full (Redis
    /// is down or slow) and they were dropped.
    pub fn send(&self, first: u64, frames: &[Bytes]) -> bool {
        {
            let mut waiting = lock(&self.queue.waiting);
            if waiting.frames.len() + frames.len() > OUTBOX_FRAMES {
                return false;
            }
            waiting.frames.extend((first..).zip(frames.iter().cloned()));
        }
        self.queue.ready.notify_one();
        true
    }

    /// Sends what is queued, then stops.
    pub async fn flush(mut self) {
        self.close();
        let _ = (&mut self.task).await;
    }

    fn close(&self) {
        lock(&self.queue.waiting).closed = true;
        self.queue.ready.notify_one();
    }
}

impl Drop for Outbox {
    /// Without [`Outbox::flush`], what is queued is still sent, and the task then ends.
    fn drop(&mut self) {
        self.close();
    }
}

async fn send_frames(
    pool: Pool,
    keys: Keys,
    id: i64,
    burst_frames: usize,
    queue: Arc<OutboxQueue>,
) {
    let (burst, channel) = (keys.burst(id), keys.frames(id));
    loop {
        let (frames, closed) = {
            let mut waiting = lock(&queue.waiting);
            (std::mem::take(&mut waiting.frames), waiting.closed)
        };
        if frames.is_empty() {
            if closed {
                return;
            }
            queue.ready.notified().await;
            continue;
        }
        for batch in frames.chunks(BATCH) {
            let messages: Vec<Bytes> = batch
                .iter()
                .map(|(seq, frame)| {
                    Message::Frame {
                        seq: *seq,
                        frame: frame.clone(),
                    }
                    .encode()
                })
                .collect();
            send_batch(&pool, &burst, &channel, burst_frames, &messages, id).await;
        }
    }
}

/// One pipeline: the frames onto the burst list, the list trimmed, then the frames published.
async fn send_batch(
    pool: &Pool,
    burst: &str,
    channel: &str,
    burst_frames: usize,
    messages: &[Bytes],
    id: i64,
) {
    let mut pipe = redis::pipe();
    for message in messages {
        pipe.cmd("RPUSH").arg(burst).arg(message.as_ref()).ignore();
    }
    pipe.cmd("LTRIM")
        .arg(burst)
        .arg(-(burst_frames as i64))
        .arg(-1)
        .ignore();
    for message in messages {
        pipe.cmd("PUBLISH")
            .arg(channel)
            .arg(message.as_ref())
            .ignore();
    }
    let sent = async {
        let mut connection = pool.get().await.map_err(|e| e.to_string())?;
        pipe.query_async::<()>(&mut connection)
            .await
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(CALL_TIMEOUT, sent).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(broadcast_id = id, %error, "frames not replicated"),
        Err(_) => tracing::debug!(broadcast_id = id, "frames not replicated: Redis timed out"),
    }
}

/// A replica's subscription to one broadcast: the burst list as it was just after subscribing, then
/// every message.
pub struct Subscription {
    pub burst: Vec<(u64, Bytes)>,
    pub messages: Pin<Box<dyn Stream<Item = Message> + Send>>,
}

/// What a replica needs to share its broadcasts with the others.
#[derive(Clone)]
pub struct Replicas {
    pub ownership: Ownership,
    client: redis::Client,
    pool: Pool,
    keys: Keys,
    burst_bytes: usize,
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas")
            .field("replica", &self.ownership.replica())
            .finish()
    }
}

impl Replicas {
    /// `replica` names this process among the relay replicas; it must be unique.
    pub fn new(
        redis_url: &str,
        pool: Pool,
        prefix: &str,
        replica: String,
        burst_bytes: usize,
    ) -> anyhow::Result<Self> {
        let keys = Keys::new(prefix);
        Ok(Self {
            ownership: Ownership::new(pool.clone(), keys.clone(), replica),
            client: redis::Client::open(redis_url)?,
            pool,
            keys,
            burst_bytes,
        })
    }

    /// This replica's name.
    pub fn replica(&self) -> &str {
        self.ownership.replica()
    }

    /// An outbox for the frames of broadcast `id`, whose source streams here.
    pub fn outbox(&self, id: i64) -> Outbox {
        Outbox::start(self.pool.clone(), &self.keys, id, self.burst_bytes)
    }

    /// Subscribes to broadcast `id`'s channel, then reads its burst list.
    pub async fn subscribe(&self, id: i64) -> anyhow::Result<Subscription> {
        subscribe(&self.client, &self.pool, &self.keys, id).await
    }
}

async fn subscribe(
    client: &redis::Client,
    pool: &Pool,
    keys: &Keys,
    id: i64,
) -> anyhow::Result<Subscription> {
    let subscribing = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(keys.frames(id)).await?;
        let mut connection = pool.get().await?;
        let entries: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(keys.burst(id))
            .arg(0)
            .arg(-1)
            .query_async(&mut connection)
            .await?;
        anyhow::Ok((pubsub, entries))
    };
    let (pubsub, entries) = tokio::time::timeout(CALL_TIMEOUT * 4, subscribing).await??;
    let burst = entries
        .iter()
        .filter_map(|entry| match Message::decode(entry)? {
            Message::Frame { seq, frame } => Some((seq, frame)),
            _ => None,
        })
        .collect();
    let messages = pubsub
        .into_on_message()
        .filter_map(|message| async move { Message::decode(message.get_payload_bytes()) });
    Ok(Subscription {
        burst,
        messages: Box::pin(messages),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        for message in [
            Message::Frame {
                seq: 7,
                frame: Bytes::from_static(&[0xFF, 0xFB, 1, 2]),
            },
            Message::TakenOver {
                replica: "relay-2".into(),
            },
            Message::Ended,
        ] {
            assert_eq!(Message::decode(&message.encode()), Some(message));
        }
        assert_eq!(Message::decode(b"X"), None);
        assert_eq!(Message::decode(b"F123"), None, "a frame needs its number");
    }
}
