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
pub(crate) mod tests {
    use super::*;
    use futures_util::{FutureExt, StreamExt};
    use tokio::io::DuplexStream;
    use tokio_tungstenite::{
        WebSocketStream,
        tungstenite::{Message, protocol::Role},
    };

    /// A client's end of a socket.
    pub(crate) type Client = WebSocketStream<DuplexStream>;

    /// An outbox over a pipe that holds `capacity` bytes, the server's tungstenite stream over it,
    /// and the client's end.
    pub(crate) async fn pipe(
        max_backlog: usize,
        capacity: usize,
    ) -> (Arc<Outbox>, crate::ws::socket::Socket, Client) {
        let (server, client) = tokio::io::duplex(capacity);
        let outbox = Outbox::new(server, max_backlog);
        let socket = WebSocketStream::from_raw_socket(
            SharedConnection(outbox.clone()),
            Role::Server,
            Some(crate::ws::socket::config()),
        )
        .await;
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        (outbox, socket, client)
    }

    /// The text frames the client has received so far, without waiting for more (nor for tokio's
    /// cooperative budget, which a test reading many clients would spend).
    pub(crate) fn received(client: &mut Client) -> Vec<String> {
        std::iter::from_fn(|| {
            tokio::task::unconstrained(client.next())
                .now_or_never()
                .flatten()
        })
        .filter_map(|message| match message.unwrap() {
            Message::Text(text) => Some(text.as_str().to_owned()),
            _ => None,
        })
        .collect()
    }

    /// The `event` of each JSON frame the client has received so far.
    pub(crate) fn events(client: &mut Client) -> Vec<String> {
        received(client)
            .iter()
            .map(|text| {
                let frame: serde_json::Value = serde_json::from_str(text).unwrap();
                frame["event"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    /// Writes the backlog out until it is empty.
    async fn drain(outbox: &Outbox) {
        std::future::poll_fn(|cx| outbox.poll_drain(cx))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn frames_of_every_length_reach_a_client_whole_and_in_order_through_a_narrow_pipe() {
        // The pipe takes 7 bytes at a time: every frame is cut, and most wait in the backlog.
        let (outbox, _socket, mut client) = pipe(64, 7).await;
        let medium = "m".repeat(300);
        let edge = "e".repeat(frames::SMALL_FRAME - 4);
        let long = "é".repeat(40_000);
        let reader = tokio::spawn(async move {
            let mut messages = Vec::new();
            while messages.len() < 5 {
                messages.push(client.next().await.unwrap().unwrap());
            }
            messages
        });
        for text in ["hi", &medium, &edge] {
            assert_eq!(outbox.text(&Bytes::from(text.to_owned())), Sent::Queued);
        }
        assert_eq!(outbox.ping(), Sent::Queued);
        assert_eq!(outbox.text(&Bytes::from(long.clone())), Sent::Queued);
        drain(&outbox).await;
        assert_eq!(
            reader.await.unwrap(),
            [
                Message::text("hi"),
                Message::text(medium),
                Message::text(edge),
                Message::Ping(Default::default()),
                Message::text(long),
            ]
        );
    }

    #[tokio::test]
    async fn a_socket_over_its_backlog_is_too_slow_and_takes_nothing_more() {
        let (outbox, _socket, mut client) = pipe(2, 16).await;
        let frame = Bytes::from("x".repeat(20));
        // The first frame fills the pipe and leaves its rest in the backlog, the second joins it.
        assert_eq!(outbox.text(&frame), Sent::Queued);
        assert_eq!(outbox.text(&frame), Sent::Queued);
        assert_eq!(outbox.text(&frame), Sent::TooSlow);
        assert_eq!(outbox.text(&frame), Sent::Ending);
        assert!(matches!(outbox.work().await, Work::End(ending) if ending == TOO_SLOW));
        // What was taken still arrives whole.
        let reader = tokio::spawn(async move { received_two(&mut client).await });
        drain(&outbox).await;
        assert_eq!(reader.await.unwrap(), ["x".repeat(20), "x".repeat(20)]);
    }

    #[tokio::test]
    async fn the_bound_is_on_what_waits_now_not_on_what_waited_since_the_backlog_was_empty() {
        use tokio::io::AsyncReadExt;
        let (outbox, _socket, mut client) = pipe(2, 16).await;
        let frame = Bytes::from("x".repeat(20));
        assert_eq!(outbox.text(&frame), Sent::Queued); // 16 bytes written, 6 wait
        assert_eq!(outbox.text(&frame), Sent::Queued); // 22 more wait: 2 frames
        let mut taken = [0u8; 16];
        client.get_mut().read_exact(&mut taken).await.unwrap();
        // The first frame's rest goes, the second only in part: one frame waits.
        let drained = std::future::poll_fn(|cx| Poll::Ready(outbox.poll_drain(cx))).await;
        assert!(drained.is_pending());
        assert_eq!(outbox.text(&frame), Sent::Queued);
        assert_eq!(outbox.text(&frame), Sent::TooSlow);
    }

    async fn received_two(client: &mut Client) -> Vec<String> {
        let mut texts = Vec::new();
        while texts.len() < 2 {
            if let Message::Text(text) = client.next().await.unwrap().unwrap() {
                texts.push(text.as_str().to_owned());
            }
        }
        texts
    }

    /// An outbox over a real TCP connection on loopback, writing to its descriptor, with send and
    /// receive buffers of a few KiB so that a client that does not read soon leaves a backlog; the
    /// server's stream over it, and the client's end.
    async fn tcp(
        max_backlog: usize,
    ) -> (
        Arc<Outbox>,
        crate::ws::socket::Socket,
        WebSocketStream<tokio::net::TcpStream>,
    ) {
        use std::os::fd::AsRawFd;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpSocket::new_v4().unwrap();
        client.set_recv_buffer_size(4096).unwrap();
        let (client, accepted) = tokio::join!(
            client.connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        let (server, _) = accepted.unwrap();
        socket2::SockRef::from(&server)
            .set_send_buffer_size(4096)
            .unwrap();
        let fd = server.as_raw_fd();
        // SAFETY: the descriptor is `server`'s, which the outbox owns from here on.
        let outbox = unsafe { Outbox::over_tcp(server, fd, max_backlog) };
        let socket = WebSocketStream::from_raw_socket(
            SharedConnection(outbox.clone()),
            Role::Server,
            Some(crate::ws::socket::config()),
        )
        .await;
        let client = WebSocketStream::from_raw_socket(client.unwrap(), Role::Client, None).await;
        (outbox, socket, client)
    }

    #[tokio::test]
    async fn over_tcp_frames_a_client_does_not_read_at_once_wait_and_arrive_whole_in_order() {
        let (outbox, _socket, mut client) = tcp(10_000).await;
        let small = |i: usize| format!("{i:0>200}");
        let big = "b".repeat(3 * frames::SMALL_FRAME);
        let mut sent = Vec::new();
        for i in 0..2_000 {
            let text = if i % 100 == 99 { big.clone() } else { small(i) };
            assert_eq!(outbox.text(&Bytes::from(text.clone())), Sent::Queued);
            sent.push(text);
        }
        assert!(
            !outbox.lock().backlog.is_empty(),
            "the kernel's buffers took 0.7 MB: the test shows nothing of the backlog"
        );
        let reader = tokio::spawn(async move {
            let mut texts = Vec::new();
            while texts.len() < 2_000 {
                if let Message::Text(text) = client.next().await.unwrap().unwrap() {
                    texts.push(text.as_str().to_owned());
                }
            }
            texts
        });
        drain(&outbox).await;
        let received = tokio::time::timeout(std::time::Duration::from_secs(10), reader)
            .await
            .expect("the client received fewer frames than were sent");
        assert_eq!(received.unwrap(), sent);
    }

    #[tokio::test]
    async fn over_tcp_a_client_that_went_away_breaks_the_outbox() {
        let (outbox, _socket, client) = tcp(8).await;
        drop(client);
        // The first frames may still go out; the peer's reset makes a later send fail.
        let mut sent = 0;
        while outbox.text(&Bytes::from("lost")) == Sent::Queued && sent < 1_000 {
            sent += 1;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert!(sent < 1_000, "every send to a closed connection succeeded");
        assert!(matches!(outbox.work().await, Work::Broken | Work::End(_)));
    }

    #[tokio::test]
    async fn a_client_that_went_away_breaks_the_outbox() {
        let (outbox, _socket, client) = pipe(8, 1024).await;
        drop(client);
        outbox.text(&Bytes::from("lost"));
        assert!(matches!(outbox.work().await, Work::Broken));
        assert_eq!(outbox.text(&Bytes::from("after")), Sent::Ending);
    }
}
