//! What a socket is sent, written straight to its connection by whoever sends it.
//!
//! The hub writes each frame to each socket itself, one system call, instead of queueing it for the
//! socket's task: the queue's push and pop, the task's wake-up and its poll, which re-armed its read
//! interest at every frame, were about a third of a delivery's CPU (perf, BENCHMARKS.md); a hub
//! that does nothing but the writes (the benchmark's floor hub) cost 0.46× the Node reference's CPU
//! per delivery where ours, with the queue, cost 0.73×.
//!
//! A frame the connection cannot take whole at once waits, with whatever follows it, in the socket's
//! backlog, and the socket's task writes the backlog out when the connection can take more. The
//! backlog is bounded in frames (`WS_SEND_QUEUE`): a socket over it is too slow, and is closed, so a
//! slow reader never slows the room. Everything written to the connection goes through the one
//! mutex of its outbox, tungstenite's own frames too (a pong, the close), so frames never interleave.
//!
//! Over TCP the outbox writes with `send` on the connection's descriptor, past hyper's upgraded
//! connection and tokio's readiness bookkeeping: those layers were ~8% of the gateway's CPU under
//! the chat benchmark at 10,000 clients (perf), where the floor hub, which writes to descriptors,
//! spends nothing outside the kernel. The descriptor is the connection's, which the outbox owns, so
//! it stays open as long as the outbox can write to it.

use std::{
    collections::VecDeque,
    future::Future,
    io::{self, IoSlice},
    os::fd::{BorrowedFd, RawFd},
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

use bytes::Bytes;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    sync::Notify,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::frames;

/// A socket's connection: hyper's upgraded connection in the server, a pipe in tests.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for T {}

/// Why the server ends a connection: the close code and reason it sends.
pub type Ending = (CloseCode, &'static str);

pub const TOO_SLOW: Ending = (CloseCode::Policy, "too slow: the send queue overflowed");
pub const NO_PONG: Ending = (CloseCode::Error, "no answer to ping");

/// What became of a frame offered to a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Written, or waiting in the backlog.
    Queued,
    /// Not sent: the backlog is full. The socket is too slow and is being closed.
    TooSlow,
    /// Not sent: the socket is already being closed, or its connection failed.
    Ending,
}

pub struct Outbox {
    state: Mutex<State>,
    /// Wakes the socket's task: a backlog to write, or a reason to end.
    wake: Notify,
    /// Frames the backlog may hold before the socket is too slow.
    max_backlog: usize,
}

struct State {
    connection: Box<dyn Connection>,
    /// `connection`'s descriptor, when it is a TCP connection the outbox may `send` to directly.
    descriptor: Option<RawFd>,
    /// Frames (or what is left of them) the connection has not taken yet, one entry each, in order:
    /// the first perhaps partly written.
    backlog: VecDeque<Bytes>,
    /// Of `backlog`'s first entry.
    written: usize,
    /// Set when the server decides to end the socket; its task then closes it.
    ending: Option<Ending>,
    /// The connection failed; its task ends without a close frame.
    broken: bool,
    awaiting_pong: bool,
}

/// What the socket's task is woken for.
pub enum Work {
    /// Write the backlog out.
    Drain,
    /// Close the connection with this code and reason.
    End(Ending),
    /// The connection failed.
    Broken,
}

impl Outbox {
    /// An outbox that writes through `connection`'s own `poll_write` (a pipe, in tests).
    pub fn new(connection: impl Connection, max_backlog: usize) -> Arc<Self> {
        Self::with_descriptor(Box::new(connection), None, max_backlog)
    }

    /// An outbox over a TCP connection whose frames it `send`s to `descriptor` directly.
    ///
    /// # Safety
    ///
    /// `descriptor` must be the descriptor of the TCP connection under `connection`, which must
    /// keep it open for as long as it lives (the outbox drops it last), and nothing else may write
    /// to it.
    pub unsafe fn over_tcp(
        connection: impl Connection,
        descriptor: RawFd,
        max_backlog: usize,
    ) -> Arc<Self> {
        Self::with_descriptor(Box::new(connection), Some(descriptor), max_backlog)
    }

    fn with_descriptor(
        connection: Box<dyn Connection>,
        descriptor: Option<RawFd>,
        max_backlog: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                connection,
                descriptor,
                backlog: VecDeque::new(),
                written: 0,
                ending: None,
                broken: false,
                awaiting_pong: false,
            }),
            wake: Notify::new(),
            max_backlog: max_backlog.max(1),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("outbox lock")
    }

    /// Sends a text frame: written now when the connection takes it, else kept in the backlog.
    pub fn text(&self, payload: &Bytes) -> Sent {
        self.send(frames::TEXT, payload)
    }

    /// Pings the client; a client that has not answered the previous ping is ended instead.
    pub fn ping(&self) -> Sent {
        let mut state = self.lock();
        if state.awaiting_pong {
            drop(state);
            self.end(NO_PONG);
            return Sent::Ending;
        }
        state.awaiting_pong = true;
        drop(state);
        self.send(frames::PING, &Bytes::new())
    }

    /// The client answered a ping.
    pub fn pong(&self) {
        self.lock().awaiting_pong = false;
    }

    /// Asks the socket's task to close the connection with `ending` (the first reason given holds).
    pub fn end(&self, ending: Ending) {
        self.lock().ending.get_or_insert(ending);
        self.wake.notify_one();
    }

    fn send(&self, opcode: u8, payload: &Bytes) -> Sent {
        let mut state = self.lock();
        if state.ending.is_some() || state.broken {
            return Sent::Ending;
        }
        let (header, header_len) = frames::header(opcode, payload.len());
        let header = &header[..header_len];
        if !state.backlog.is_empty() {
            if state.backlog.len() >= self.max_backlog {
                state.ending = Some(TOO_SLOW);
                drop(state);
                self.wake.notify_one();
                return Sent::TooSlow;
            }
            state.push(header, payload, 0);
            return Sent::Queued;
        }
        match state.write_at_once(header, payload) {
            Ok(written) if written == header.len() + payload.len() => return Sent::Queued,
            Ok(written) => state.push(header, payload, written),
            Err(_) => state.broken = true,
        }
        drop(state);
        self.wake.notify_one();
        Sent::Queued
    }

    /// Waits until there is something for the socket's task to do.
    pub async fn work(&self) -> Work {
        loop {
            // Registered before looking, so a wake-up between the look and the wait is kept.
            let mut notified = std::pin::pin!(self.wake.notified());
            notified.as_mut().enable();
            {
                let state = self.lock();
                if state.broken {
                    return Work::Broken;
                }
                if let Some(ending) = state.ending {
                    return Work::End(ending);
                }
                if !state.backlog.is_empty() {
                    return Work::Drain;
                }
            }
            notified.await;
        }
    }

    /// Writes the backlog out, waiting for the connection as needed.
    pub fn poll_drain(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.lock().poll_drain(cx)
    }
}

impl State {
    /// Writes what the connection takes now, from outside the socket's task; how many bytes that
    /// was. The waker does nothing: a connection that cannot take the frame now is the task's to
    /// wait for, with its own waker, once told there is a backlog. And tokio's cooperative budget
    /// (128 I/O operations per poll of the calling task) is lifted: spent, it made every connection
    /// after the 128th of a fan-out look full, and their frames went the slow way, through the
    /// backlog and the socket's task.
    fn write_at_once(&mut self, header: &[u8], payload: &[u8]) -> io::Result<usize> {
        let mut cx = Context::from_waker(Waker::noop());
        let write = tokio::task::unconstrained(std::future::poll_fn(|cx| {
            Poll::Ready(self.write_now(cx, header, payload))
        }));
        match std::pin::pin!(write).poll(&mut cx) {
            Poll::Ready(written) => written,
            Poll::Pending => unreachable!("the write is always ready"),
        }
    }

    /// Writes what the connection takes without waiting; how many bytes that was.
    fn write_now(
        &mut self,
        cx: &mut Context<'_>,
        header: &[u8],
        payload: &[u8],
    ) -> io::Result<usize> {
        let len = header.len() + payload.len();
        let written = if len <= frames::SMALL_FRAME {
            // Copied together into one buffer on the stack: one `send`, whose path costs less than
            // `sendmsg`'s or `writev`'s (~5% of the gateway's CPU under the chat benchmark).
            let mut frame = [0u8; frames::SMALL_FRAME];
            frame[..header.len()].copy_from_slice(header);
            frame[header.len()..len].copy_from_slice(payload);
            self.write_one(cx, &frame[..len])
        } else {
            self.write_two(cx, &[IoSlice::new(header), IoSlice::new(payload)])
        };
        match written {
            Ok(0) if len > 0 => Err(io::ErrorKind::WriteZero.into()),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            written => written,
        }
    }

    fn write_one(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> io::Result<usize> {
        match self.tcp() {
            Some(fd) => socket2::SockRef::from(&fd).send_with_flags(buf, libc::MSG_NOSIGNAL),
            None => ready_or_would_block(Pin::new(&mut *self.connection).poll_write(cx, buf)),
        }
    }

    fn write_two(&mut self, cx: &mut Context<'_>, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        match self.tcp() {
            Some(fd) => {
                socket2::SockRef::from(&fd).send_vectored_with_flags(slices, libc::MSG_NOSIGNAL)
            }
            None => ready_or_would_block(
                Pin::new(&mut *self.connection).poll_write_vectored(cx, slices),
            ),
        }
    }

    /// The TCP connection's descriptor, to `send` to directly (none for a pipe).
    fn tcp(&self) -> Option<BorrowedFd<'_>> {
        // SAFETY: `over_tcp`'s caller vouched that the descriptor is `self.connection`'s, which this
        // state owns: it is open while `self` is borrowed.
        Some(unsafe { BorrowedFd::borrow_raw(self.descriptor?) })
    }

    /// Keeps what the connection did not take of a frame (`written` bytes of it did go), as one
    /// piece, so that it goes out in one write.
    fn push(&mut self, header: &[u8], payload: &Bytes, written: usize) {
        if written < header.len() {
            let mut rest = bytes::BytesMut::with_capacity(header.len() - written + payload.len());
            rest.extend_from_slice(&header[written..]);
            rest.extend_from_slice(payload);
            self.backlog.push_back(rest.freeze());
        } else {
            self.backlog
                .push_back(payload.slice(written - header.len()..));
        }
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(front) = self.backlog.front() {
            let rest = &front[self.written..];
            let written = match Pin::new(&mut *self.connection).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) if !rest.is_empty() => Err(io::ErrorKind::WriteZero.into()),
                Poll::Ready(result) => result,
                Poll::Pending => return Poll::Pending,
            };
            match written {
                Ok(n) if self.written + n == front.len() => {
                    self.backlog.pop_front();
                    self.written = 0;
                }
                Ok(n) => self.written += n,
                Err(error) => {
                    self.broken = true;
                    return Poll::Ready(Err(error));
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// A write that would have waited is a connection that takes nothing now.
fn ready_or_would_block(written: Poll<io::Result<usize>>) -> io::Result<usize> {
    match written {
        Poll::Ready(result) => result,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// The connection as tungstenite sees it: reads go straight to it; writes (a pong, the close
/// handshake) go through the outbox, after any backlog, and are taken whole at once.
pub struct SharedConnection(pub Arc<Outbox>);

impl AsyncRead for SharedConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut state = self.0.lock();
        Pin::new(&mut *state.connection).poll_read(cx, buf)
    }
}

impl AsyncWrite for SharedConnection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut state = self.0.lock();
        if state.broken {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let written = if state.backlog.is_empty() {
            state.write_now(cx, &[], buf)?
        } else {
            0
        };
        if written < buf.len() {
            state
                .backlog
                .push_back(Bytes::copy_from_slice(&buf[written..]));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.0.lock();
        std::task::ready!(state.poll_drain(cx))?;
        Pin::new(&mut *state.connection).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.0.lock();
        std::task::ready!(state.poll_drain(cx))?;
        Pin::new(&mut *state.connection).poll_shutdown(cx)
    }
}

#[cfg(test)]
pub(crate) mod tests;
