//! One WebSocket's life after the handshake: relaying its queue (frames, and the hub's pings) to
//! the client, reading what the client sends, and ending the connection.
//!
//! The server's frames are written by `frames`, straight to the connection; tungstenite reads the
//! client's and does the close handshake. The one frame tungstenite writes mid-life, a pong to a
//! client's ping, is flushed as soon as the ping is read, before any frame of ours.

use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use service_kit::shutdown::Shutdown;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::mpsc,
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
    },
};

use super::{frames, hub::Outgoing};

/// A frame the kernel cannot take within this is for a client that stopped reading: the connection
/// is dropped. Without it the socket's task would wait forever on a client that never reads, after
/// the hub dropped it from its room for overflowing its send queue.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Client frames are not needed; anything larger than this is abuse.
const MAX_CLIENT_FRAME: usize = 4096;
/// What a socket reads at a time. tungstenite zero-fills this much before each read and keeps it: at
/// its default (128 KiB) that was 128 KiB resident per idle socket, for clients that send nothing but
/// pongs. A bigger client frame (up to `MAX_CLIENT_FRAME`) still fits: the buffer grows for it.
const READ_BUFFER: usize = 512;

/// The socket's configuration: small reads, and tungstenite's few frames (pongs, the close) written
/// through at once.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_CLIENT_FRAME))
        .max_frame_size(Some(MAX_CLIENT_FRAME))
}

/// Why the server ends a connection: the close code and reason it sends.
pub type Ending = (CloseCode, &'static str);

/// What woke the socket's task.
enum Wake {
    Outgoing(Option<Outgoing>),
    Incoming(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Shutdown,
}

/// Relays the socket's queue (frames, and the hub's pings) to the client until either side ends;
/// returns the close code and reason the server ends with, if it is the one ending.
pub async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    queue: &mut mpsc::Receiver<Outgoing>,
    shutdown: &Shutdown,
) -> Option<Ending> {
    let mut awaiting_pong = false;
    // Made once: a fresh shutdown future per wake-up registered with the shared token and left it
    // again, under its lock, for every socket at every message.
    let shutdown = shutdown.requested();
    tokio::pin!(shutdown);
    loop {
        // Biased, the queue first: a wake-up for a frame to send polls nothing else before it.
        let wake = tokio::select! {
            biased;
            outgoing = queue.recv() => Wake::Outgoing(outgoing),
            frame = socket.next() => Wake::Incoming(frame),
            _ = &mut shutdown => Wake::Shutdown,
        };
        match wake {
            Wake::Outgoing(Some(Outgoing::Text(text))) => {
                if !write_frame(socket, frames::TEXT, text.as_bytes()).await {
                    return None;
                }
            }
            Wake::Outgoing(None) => {
                return Some((CloseCode::Policy, "too slow: the send queue overflowed"));
            }
            Wake::Outgoing(Some(Outgoing::Ping)) if awaiting_pong => {
                return Some((CloseCode::Error, "no answer to ping"));
            }
            Wake::Outgoing(Some(Outgoing::Ping)) => {
                awaiting_pong = true;
                if !write_frame(socket, frames::PING, &[]).await {
                    return None;
                }
            }
            Wake::Incoming(Some(Ok(Message::Pong(_)))) => awaiting_pong = false,
            Wake::Incoming(Some(Ok(Message::Ping(_)))) => {
                // tungstenite queued the pong; out before any frame of ours.
                if !within(socket.flush()).await {
                    return None;
                }
            }
            Wake::Incoming(Some(Ok(Message::Close(_))) | None) => return None,
            Wake::Incoming(Some(Err(_))) => {
                return Some((CloseCode::Size, "frame too large or malformed"));
            }
            Wake::Incoming(Some(Ok(_))) => {}
            Wake::Shutdown => return Some((CloseCode::Away, "server going away")),
        }
    }
}

/// Ends the connection from the server's side with a close frame.
pub async fn close<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    (code, reason): Ending,
) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if within(socket.send(frame)).await {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.close(None)).await;
    }
}

/// Writes one of the server's frames; false when the connection failed or the client took nothing
/// for `WRITE_TIMEOUT`.
async fn write_frame<S: AsyncRead + AsyncWrite + Unpin>(
    socket: &mut WebSocketStream<S>,
    opcode: u8,
    payload: &[u8],
) -> bool {
    within(frames::write(socket.get_mut(), opcode, payload)).await
}

/// Awaits a write; false when it failed or the client took nothing for `WRITE_TIMEOUT`.
async fn within<E>(write: impl Future<Output = Result<(), E>>) -> bool {
    let mut write = std::pin::pin!(write);
    // Almost every frame goes straight into the kernel's buffer: the timer (a runtime handle and a
    // timer entry per frame per socket) is only made for the frames that have to wait.
    if let Some(written) = write.as_mut().now_or_never() {
        return written.is_ok();
    }
    matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::DuplexStream;
    use tokio_tungstenite::tungstenite::{Utf8Bytes, protocol::Role};

    /// A served socket's client end, the queue that feeds it, and its task.
    async fn served() -> (
        WebSocketStream<DuplexStream>,
        mpsc::Sender<Outgoing>,
        tokio::task::JoinHandle<Option<Ending>>,
    ) {
        let (server, client) = tokio::io::duplex(64 * 1024);
        let (queue, mut receiver) = mpsc::channel(8);
        let task = tokio::spawn(async move {
            let mut socket =
                WebSocketStream::from_raw_socket(server, Role::Server, Some(config())).await;
            serve(&mut socket, &mut receiver, &Shutdown::new()).await
        });
        let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        (client, queue, task)
    }

    #[tokio::test]
    async fn a_client_s_ping_is_answered_between_the_server_s_frames() {
        let (mut client, queue, task) = served().await;
        queue
            .send(Outgoing::Text(Utf8Bytes::from("one")))
            .await
            .unwrap();
        client.send(Message::Ping("p".into())).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::text("one"));
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::Pong("p".into())
        );
        queue
            .send(Outgoing::Text(Utf8Bytes::from("two")))
            .await
            .unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::text("two"));
        drop(queue);
        assert_eq!(
            task.await.unwrap(),
            Some((CloseCode::Policy, "too slow: the send queue overflowed")),
            "a closed queue is a socket the hub dropped"
        );
    }

    #[tokio::test]
    async fn a_client_that_leaves_a_ping_unanswered_until_the_next_is_closed() {
        let (_client, queue, task) = served().await;
        // The client never reads, so it never answers.
        queue.send(Outgoing::Ping).await.unwrap();
        queue.send(Outgoing::Ping).await.unwrap();
        assert_eq!(
            task.await.unwrap(),
            Some((CloseCode::Error, "no answer to ping"))
        );
    }
}
