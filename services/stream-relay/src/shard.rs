//! The listeners' fast path: a few tasks per live broadcast (shards) write the frames to every
//! socket they hold with non-blocking writes. No task, no hyper connection, no channel receiver and no
//! buffer per listener.
//!
//! Why: with a task per listener, every frame wakes every listener's task, each of which then polls a
//! hyper body and writes; at thousands of listeners that costs more CPU and memory than Icecast's
//! single write loop. Here a write costs one wake-up per shard and one `writev` per socket.
//!
//! - Each shard keeps one [`Backlog`] of recent frames, and each listener is a position in it: a
//!   socket whose kernel buffer is full is simply further back, and is written from there when the
//!   shard next writes; one more than `queue_bytes` behind is dropped (counted), so a slow listener
//!   never delays anyone.
//! - A shard writes at most once per `write_every` (RELAY_WRITE_EVERY_MS), every frame that came
//!   since in one `send` per socket. Most of a write's cost is the kernel's TCP path, paid per
//!   call, not per byte (BENCHMARKS.md, "Stream relay vs Icecast"): writing two or five frames at a
//!   time divides the relay's CPU by about as much, for that much more latency. 0 writes each frame
//!   as it comes; a loaded machine batches by itself, since the frames that came during a pass are
//!   written together in the next.
//! - What the source wrote at once (a libshout player's 4 KiB block) goes out in one pass: its
//!   frames are published together ([`LiveChannel::publish_all`]) and a shard drains them all
//!   before it writes ([`LiveChannel::settle`]). Such a source pays one write per block and no
//!   added wait.
//! - A newcomer gets the burst (the newest whole frames, at most `burst_bytes`) at once, then
//!   everything the shard receives: no gap, no repeat.
//! - When the stream ends each socket gets what is left and the body's end (the last chunk), within
//!   a grace period.

mod backlog;
#[cfg(test)]
mod tests;

use std::{
    io::{self, IoSlice},
    net::{Shutdown, TcpStream},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use tokio::{
    sync::{
        broadcast::{
            self,
            error::{RecvError, TryRecvError},
        },
        mpsc,
    },
    time::Instant,
};

use crate::{
    channel::{Limits, LiveChannel},
    metrics,
};
use backlog::{Backlog, Position};

/// Shards per live broadcast: few enough that a frame costs a few wake-ups, enough that one write
/// loop never holds a worker thread for long.
pub const SHARDS: usize = 4;
/// After the end, how long listeners have to take what is left for them.
const END_GRACE: Duration = Duration::from_secs(5);
/// How long a shard may go without writing (a silent source, the grace period after a dropped one)
/// before it looks for listeners who left: while it writes, a write notices them.
const PROBE_IDLE: Duration = Duration::from_secs(1);
/// The most slices given to one write call (three per frame when chunked).
const MAX_SLICES: usize = 96;
/// Writes up to this size are copied into one buffer for a plain `send` ([`send`]).
const COPY_BELOW: usize = 4096;
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

/// One listener of a shard: a socket and how far it has got.
struct Sink {
    socket: TcpStream,
    framing: Framing,
    at: Position,
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
    /// Writes as much of the backlog as the socket takes now; the audio bytes that went out whole
    /// (what `relay_sent_bytes` counts: not the chunk framing, not half a frame).
    fn flush(&mut self, backlog: &Backlog) -> io::Result<u64> {
        let behind = backlog.behind(self.at).unwrap_or(0);
        loop {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let filled = backlog.slices(self.at, self.framing, &mut slices);
            if filled == 0 {
                self.at = backlog.advance(self.at, self.framing, 0);
                break;
            }
            let offered: usize = slices[..filled].iter().map(|slice| slice.len()).sum();
            let written = match send(&self.socket, &slices[..filled], offered) {
                Ok(0) if offered > 0 => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.at = backlog.advance(self.at, self.framing, written);
            if written < offered {
                // the kernel's buffer is full: the next call would only say so
                break;
            }
        }
        Ok(behind - backlog.behind(self.at).unwrap_or(behind))
    }

    /// Writes what the socket takes and tells whether the listener stays; the audio bytes sent.
    fn write(&mut self, backlog: &Backlog, queue_bytes: u64) -> (Fate, u64) {
        let Ok(sent) = self.flush(backlog) else {
            return (Fate::Gone, 0);
        };
        match backlog.behind(self.at) {
            Some(behind) if behind <= queue_bytes => (Fate::Keep, sent),
            _ => (Fate::TooSlow, sent),
        }
    }
}

/// One system call for a write's slices: up to [`COPY_BELOW`] bytes (a 130 ms write is about 2.1 KB)
/// copied into one buffer and `send`, more with `sendmsg`. Both skip the file layer that `writev`
/// goes through (its descriptor lookup and iovec checks, about a tenth of the relay's CPU in perf);
/// a peer that has gone is an error, not a SIGPIPE.
fn send(socket: &TcpStream, slices: &[IoSlice<'_>], offered: usize) -> io::Result<usize> {
    let socket = socket2::SockRef::from(socket);
    if offered > COPY_BELOW {
        return socket.send_vectored_with_flags(slices, libc::MSG_NOSIGNAL);
    }
    let mut buf = [0u8; COPY_BELOW];
    let mut len = 0;
    for slice in slices {
        buf[len..len + slice.len()].copy_from_slice(slice);
        len += slice.len();
    }
    socket.send_with_flags(&buf[..len], libc::MSG_NOSIGNAL)
}

/// The sending side of one broadcast's shards.
#[derive(Debug)]
pub struct Shards {
    joins: Vec<mpsc::UnboundedSender<Joining>>,
}

impl Shards {
    /// Starts the shard tasks of `channel`; `None` once the stream has ended.
    pub fn start(channel: &Arc<LiveChannel>, write_every: Duration) -> Option<Self> {
        let mut joins = Vec::with_capacity(SHARDS);
        for _ in 0..SHARDS {
            let (frames, burst) = channel.subscribe_shard()?;
            let (join, joining) = mpsc::unbounded_channel();
            tokio::spawn(run(channel.clone(), joining, frames, burst, write_every));
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

/// One shard's state between its events.
struct Shard {
    channel: Arc<LiveChannel>,
    limits: Limits,
    backlog: Backlog,
    sinks: Vec<Sink>,
    /// When the shard wrote to its sockets last, to pace the writes by `write_every`.
    last_write: Instant,
    /// When the shard last wrote or looked for listeners who left.
    last_seen: Instant,
}

async fn run(
    channel: Arc<LiveChannel>,
    mut joining: mpsc::UnboundedReceiver<Joining>,
    mut frames: broadcast::Receiver<Bytes>,
    burst: Vec<Bytes>,
    write_every: Duration,
) {
    let limits = channel.limits();
    let mut backlog = Backlog::new(limits.queue_bytes + limits.burst_bytes);
    for frame in burst {
        backlog.push(frame);
    }
    let mut shard = Shard {
        channel,
        limits,
        backlog,
        sinks: Vec::new(),
        last_write: Instant::now(),
        last_seen: Instant::now(),
    };
    // Set while frames wait for the next write.
    let mut write_at: Option<Instant> = None;
    loop {
        tokio::select! {
            frame = frames.recv() => {
                let closed = match frame {
                    Ok(frame) => shard.receive(frame, &mut frames),
                    Err(RecvError::Lagged(missed)) => { shard.lagged(missed); false }
                    Err(RecvError::Closed) => true,
                };
                if closed {
                    break;
                }
                let due = shard.last_write + write_every;
                if due <= Instant::now() {
                    shard.write_to_all(&mut joining).await;
                    write_at = None;
                } else {
                    write_at.get_or_insert(due);
                }
            }
            joined = joining.recv() => match joined {
                Some(joined) => shard.admit(joined),
                None => break,
            },
            () = sleep_until(write_at), if write_at.is_some() => {
                shard.write_to_all(&mut joining).await;
                write_at = None;
            }
            () = tokio::time::sleep_until(shard.last_seen + PROBE_IDLE) => shard.probe_all(),
        }
    }
    shard.finish().await;
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

impl Shard {
    /// Takes `frame` and every frame waiting behind it, down to the last frame of the last source
    /// read begun: the ring is only taken as empty once no publish is half done
    /// ([`LiveChannel::settle`]), so a read's frames are written in one pass. Whether the stream
    /// has ended.
    fn receive(&mut self, frame: Bytes, frames: &mut broadcast::Receiver<Bytes>) -> bool {
        self.backlog.push(frame);
        let mut settled = false;
        loop {
            match frames.try_recv() {
                Ok(frame) => {
                    self.backlog.push(frame);
                    settled = false;
                }
                Err(TryRecvError::Lagged(missed)) => self.lagged(missed),
                Err(TryRecvError::Closed) => return true,
                Err(TryRecvError::Empty) if settled => return false,
                Err(TryRecvError::Empty) => {
                    self.channel.settle();
                    settled = true;
                }
            }
        }
    }

    /// The shard missed frames (the ring overflowed): its listeners have a gap.
    fn lagged(&self, missed: u64) {
        tracing::warn!(
            broadcast_id = self.channel.id(),
            missed,
            "a listener shard fell behind the source"
        );
    }

    /// A newcomer: the burst at once, then whatever the shard writes.
    fn admit(&mut self, Joining { socket, framing }: Joining) {
        let at = self.backlog.burst_start(self.limits.burst_bytes);
        let mut sink = Sink {
            socket,
            framing,
            at,
        };
        self.channel.listener_joined();
        let (fate, sent) = sink.write(&self.backlog, self.limits.queue_bytes as u64);
        metrics::bytes_sent(sent);
        if keep(&self.channel, fate) {
            self.sinks.push(sink);
        }
    }

    /// Writes the backlog to every socket, yielding every [`WRITES_PER_YIELD`] sockets; drops the
    /// gone and the too slow. Newcomers are let in at each yield: a pass over thousands of sockets
    /// takes tens of milliseconds, a block's pass at 15,000 listeners about a hundred, and a
    /// newcomer waiting for its end would wait that long for his first byte.
    async fn write_to_all(&mut self, joining: &mut mpsc::UnboundedReceiver<Joining>) {
        self.last_write = Instant::now();
        self.last_seen = self.last_write;
        let queue_bytes = self.limits.queue_bytes as u64;
        let (mut i, mut writes, mut sent) = (0, 0, 0);
        while i < self.sinks.len() {
            let (fate, bytes) = self.sinks[i].write(&self.backlog, queue_bytes);
            sent += bytes;
            if keep(&self.channel, fate) {
                i += 1;
            } else {
                self.sinks.swap_remove(i);
            }
            writes += 1;
            if writes % WRITES_PER_YIELD == 0 {
                tokio::task::yield_now().await;
                while let Ok(joined) = joining.try_recv() {
                    self.admit(joined);
                }
            }
        }
        metrics::bytes_sent(sent);
    }

    /// Drops the listeners whose connection is closed or reset: with nothing to write, no write
    /// error tells, so each socket is asked without reading (a peek).
    fn probe_all(&mut self) {
        self.last_seen = Instant::now();
        let channel = &self.channel;
        self.sinks.retain(|sink| {
            let open = match sink.socket.peek(&mut [0]) {
                Ok(0) => false,
                Ok(_) => true, // he sent something (a pipelined request): his business
                Err(e) => matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ),
            };
            open || keep(channel, Fate::Gone)
        });
    }

    /// The stream ended: each socket gets what is left and the end of the body (an empty frame is
    /// the last chunk, `0\r\n\r\n`, when chunked), within a grace period.
    async fn finish(mut self) {
        self.backlog.push(Bytes::new());
        let end = self.backlog.head();
        let deadline = Instant::now() + END_GRACE;
        loop {
            let (backlog, channel) = (&self.backlog, &self.channel);
            self.sinks.retain_mut(|sink| {
                let flushed = sink.flush(backlog);
                if let Ok(sent) = flushed {
                    metrics::bytes_sent(sent);
                }
                let done = flushed.is_err() || sink.at == end || backlog.behind(sink.at).is_none();
                if done {
                    let _ = sink.socket.shutdown(Shutdown::Write);
                    channel.listener_left();
                }
                !done
            });
            if self.sinks.is_empty() || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for sink in self.sinks {
            let _ = sink.socket.shutdown(Shutdown::Write);
            self.channel.listener_left();
        }
    }
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
