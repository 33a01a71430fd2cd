//! The listeners' fast path: a few tasks per live broadcast (shards) write each frame to every socket
//! they hold with non-blocking writes. No task, no hyper connection and no channel receiver per
//! listener.
//!
//! Why: with a task per listener, every frame wakes every listener's task, each of which then polls a
//! hyper body and writes; at thousands of listeners that costs more CPU and memory than Icecast's
//! single write loop. Here a frame costs one wake-up per shard and one `write` per socket; the chunk
//! framing of HTTP/1.1 is built once per frame, shared by every socket.
//!
//! - A socket whose kernel buffer is full keeps the rest in a queue of its own (the frame's `Bytes`,
//!   not a copy), written first when the next frame comes; a queue past `queue_bytes` drops the
//!   listener (counted), so a slow listener never delays anyone.
//! - A newcomer gets the burst (the newest whole frames before the shard's position), then every
//!   frame the shard receives: no gap, no repeat.
//! - When the stream ends each socket gets what is queued and the body's end (the last chunk), within
//!   a grace period.

use std::{
    collections::VecDeque,
    io::{self, IoSlice, Write},
    net::{Shutdown, TcpStream},
    sync::Arc,
    time::Duration,
};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::{
    broadcast::error::{RecvError, TryRecvError},
    mpsc,
};

use crate::{channel::LiveChannel, metrics};

/// Shards per live broadcast: few enough that a frame costs a few wake-ups, enough that one write
/// loop never holds a worker thread for long.
pub const SHARDS: usize = 4;
/// After the end, how long listeners have to take what is queued for them.
const END_GRACE: Duration = Duration::from_secs(5);
/// The most queue entries written by one `writev`.
const MAX_SLICES: usize = 64;
/// Sockets written between two yields to the scheduler: a write loop must not hold a worker thread
/// for a whole pass, or the source's task (and new connections) wait behind it, and every listener's
/// lag grows with the queue in the source's socket.
const WRITES_PER_YIELD: usize = 64;

/// How a listener's body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// HTTP/1.1: chunked, so the end of the stream is told apart from a broken connection.
    Chunked,
    /// HTTP/1.0: the body runs until the connection closes.
    CloseDelimited,
}

/// A listener handed to a shard: his socket (the response head already written) and his framing.
#[derive(Debug)]
pub struct Joining {
    pub socket: TcpStream,
    pub framing: Framing,
}

/// One frame in both framings, built once per shard.
struct Encoded {
    raw: Bytes,
    chunked: Bytes,
}

fn chunked(frame: &Bytes) -> Bytes {
    let mut out = BytesMut::with_capacity(frame.len() + 12);
    out.put_slice(format!("{:x}\r\n", frame.len()).as_bytes());
    out.put_slice(frame);
    out.put_slice(b"\r\n");
    out.freeze()
}

const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

struct Sink {
    socket: TcpStream,
    framing: Framing,
    queue: VecDeque<Bytes>,
    /// Bytes of the queue's first entry already written.
    offset: usize,
    queued: usize,
}

/// What became of a socket after a write.
#[derive(PartialEq, Eq)]
enum Fate {
    Keep,
    /// The peer is gone (a reset, a closed socket).
    Gone,
    /// More than `queue_bytes` behind.
    TooSlow,
}

impl Sink {
    fn push(&mut self, frame: &Encoded) {
        let bytes = match self.framing {
            Framing::Chunked => frame.chunked.clone(),
            Framing::CloseDelimited => frame.raw.clone(),
        };
        self.queued += bytes.len();
        self.queue.push_back(bytes);
    }

    /// Writes as much of the queue as the socket takes now; the bytes written.
    fn flush(&mut self) -> io::Result<usize> {
        let mut total = 0;
        while !self.queue.is_empty() {
            let slices: Vec<IoSlice<'_>> = self
                .queue
                .iter()
                .take(MAX_SLICES)
                .enumerate()
                .map(|(i, b)| IoSlice::new(if i == 0 { &b[self.offset..] } else { b }))
                .collect();
            let mut written = match self.socket.write_vectored(&slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.queued -= written;
            total += written;
            while written > 0 {
                let first = self.queue[0].len() - self.offset;
                if written >= first {
                    written -= first;
                    self.queue.pop_front();
                    self.offset = 0;
                } else {
                    self.offset += written;
                    written = 0;
                }
            }
        }
        Ok(total)
    }

    /// Queues `frames` and writes what the socket takes, in one `writev` when it takes them all;
    /// the bytes written.
    fn write(&mut self, frames: &[Encoded], queue_bytes: usize) -> (Fate, usize) {
        for frame in frames {
            self.push(frame);
        }
        let Ok(written) = self.flush() else {
            return (Fate::Gone, 0);
        };
        if self.queued > queue_bytes {
            (Fate::TooSlow, written)
        } else {
            (Fate::Keep, written)
        }
    }
}

/// The sending side of one broadcast's shards.
#[derive(Debug)]
pub struct Shards {
    joins: Vec<mpsc::UnboundedSender<Joining>>,
}

impl Shards {
    /// Starts the shard tasks of `channel`; `None` once the stream has ended.
    pub fn start(channel: &Arc<LiveChannel>) -> Option<Self> {
        let mut joins = Vec::with_capacity(SHARDS);
        for _ in 0..SHARDS {
            let (frames, next_seq) = channel.subscribe_shard()?;
            let (join, joining) = mpsc::unbounded_channel();
            tokio::spawn(run(channel.clone(), joining, frames, next_seq));
            joins.push(join);
        }
        Some(Self { joins })
    }

    /// Hands a listener to shard `n` (modulo the number of shards); gives him back if it has ended.
    pub fn join(&self, n: usize, joining: Joining) -> Result<(), Joining> {
        self.joins[n % self.joins.len()]
            .send(joining)
            .map_err(|e| e.0)
    }
}

async fn run(
    channel: Arc<LiveChannel>,
    mut joining: mpsc::UnboundedReceiver<Joining>,
    mut frames: tokio::sync::broadcast::Receiver<Bytes>,
    mut next_seq: u64,
) {
    let queue_bytes = channel.queue_bytes();
    let mut sinks: Vec<Sink> = Vec::new();
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) => {
                    // Behind the source (a busy machine), the loop takes every frame waiting and
                    // writes them together: one `writev` per socket however far behind it is.
                    batch.push(frame);
                    let mut closed = false;
                    loop {
                        match frames.try_recv() {
                            Ok(frame) => batch.push(frame),
                            Err(TryRecvError::Lagged(missed)) => lagged(&channel, &mut next_seq, missed),
                            Err(TryRecvError::Closed) => { closed = true; break }
                            Err(TryRecvError::Empty) => break,
                        }
                    }
                    next_seq += batch.len() as u64;
                    let encoded: Vec<Encoded> = batch
                        .drain(..)
                        .map(|frame| Encoded { chunked: chunked(&frame), raw: frame })
                        .collect();
                    write_to_all(&channel, &mut sinks, &encoded, queue_bytes).await;
                    if closed {
                        break;
                    }
                }
                Err(RecvError::Lagged(missed)) => lagged(&channel, &mut next_seq, missed),
                Err(RecvError::Closed) => break,
            },
            joined = joining.recv() => {
                let Some(Joining { socket, framing }) = joined else { break };
                let mut sink = Sink { socket, framing, queue: VecDeque::new(), offset: 0, queued: 0 };
                for frame in channel.burst_before(next_seq) {
                    sink.push(&Encoded { chunked: chunked(&frame), raw: frame });
                }
                channel.listener_joined();
                let fate = match sink.flush() {
                    Ok(written) => {
                        metrics::bytes_sent(written as u64);
                        Fate::Keep
                    }
                    Err(_) => Fate::Gone,
                };
                if keep(&channel, fate) {
                    sinks.push(sink);
                }
            }
        }
    }
    finish(&channel, sinks).await;
}

/// Writes `frame` to every socket, yielding every [`WRITES_PER_YIELD`] sockets; drops the gone and
/// the too slow.
async fn write_to_all(
    channel: &LiveChannel,
    sinks: &mut Vec<Sink>,
    frames: &[Encoded],
    limit: usize,
) {
    let mut i = 0;
    let mut written = 0;
    let mut sent = 0;
    while i < sinks.len() {
        let (fate, bytes) = sinks[i].write(frames, limit);
        sent += bytes as u64;
        if keep(channel, fate) {
            i += 1;
        } else {
            sinks.swap_remove(i);
        }
        written += 1;
        if written % WRITES_PER_YIELD == 0 {
            tokio::task::yield_now().await;
        }
    }
    metrics::bytes_sent(sent);
}

/// The shard missed frames (the ring overflowed): its listeners have a gap.
fn lagged(channel: &LiveChannel, next_seq: &mut u64, missed: u64) {
    *next_seq += missed;
    tracing::warn!(
        broadcast_id = channel.id(),
        missed,
        "a listener shard fell behind the source"
    );
}

/// Counts a listener out unless `fate` keeps him.
fn keep(channel: &LiveChannel, fate: Fate) -> bool {
    match fate {
        Fate::Keep => return true,
        Fate::Gone => {}
        Fate::TooSlow => {
            tracing::info!(
                broadcast_id = channel.id(),
                "dropping a listener who fell behind"
            );
            channel.listener_dropped();
        }
    }
    channel.listener_left();
    false
}

/// The stream ended: each socket gets what is queued and the end of the body, within a grace period.
async fn finish(channel: &LiveChannel, mut sinks: Vec<Sink>) {
    for sink in &mut sinks {
        if sink.framing == Framing::Chunked {
            sink.queued += LAST_CHUNK.len();
            sink.queue.push_back(Bytes::from_static(LAST_CHUNK));
        }
    }
    let deadline = tokio::time::Instant::now() + END_GRACE;
    loop {
        sinks.retain_mut(|sink| {
            let flushed = sink.flush();
            if let Ok(written) = flushed {
                metrics::bytes_sent(written as u64);
            }
            let done = flushed.is_err() || sink.queue.is_empty();
            if done {
                let _ = sink.socket.shutdown(Shutdown::Write);
                channel.listener_left();
            }
            !done
        });
        if sinks.is_empty() || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for sink in sinks {
        let _ = sink.socket.shutdown(Shutdown::Write);
        channel.listener_left();
    }
}
