//! One WebSocket's life after the handshake: writing out what its outbox could not write at once,
//! reading what the client sends, and ending the connection.
//!
//! The server's frames are written by whoever sends them, through the socket's `Outbox`; the task is
//! woken only when the connection could not take a frame whole, or when the socket is to end.
//! tungstenite reads the client's frames and does the close handshake; the one frame it writes
//! mid-life, a pong to a client's ping, goes through the same outbox and is flushed as soon as the
//! ping is read.

use std::{future::poll_fn, time::Duration};

use futures_util::{FutureExt, SinkExt, StreamExt};
use service_kit::shutdown::Shutdown;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        protocol::{CloseFrame, WebSocketConfig, frame::coding::CloseCode},
    },
};

use super::outbox::{Ending, Outbox, SharedConnection, Work};

/// A frame the kernel cannot take within this is for a client that stopped reading: the connection
/// is dropped. Without it the socket's task would wait forever on a client that never reads, after
/// the hub dropped it from its room for overflowing its backlog.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Client frames are not needed; anything larger than this is abuse.
const MAX_CLIENT_FRAME: usize = 4096;
/// What a socket reads at a time. tungstenite zero-fills this much before each read and keeps it: at
/// its default (128 KiB) that was 128 KiB resident per idle socket, for clients that send nothing but
/// pongs. A bigger client frame (up to `MAX_CLIENT_FRAME`) still fits: the buffer grows for it.
const READ_BUFFER: usize = 512;

/// A socket as tungstenite's stream, over its outbox.
pub type Socket = WebSocketStream<SharedConnection>;

/// The socket's configuration: small reads, and tungstenite's few frames (pongs, the close) written
/// through at once.
pub fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_CLIENT_FRAME))
        .max_frame_size(Some(MAX_CLIENT_FRAME))
}

/// What woke the socket's task.
enum Wake {
    Work(Work),
    Incoming(Option<Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Shutdown,
}

/// Serves the socket until either side ends; returns the close code and reason the server ends
/// with, if it is the one ending.
pub async fn serve(socket: &mut Socket, outbox: &Outbox, shutdown: &Shutdown) -> Option<Ending> {
    // Made once: a fresh shutdown future per wake-up registered with the shared token and left it
    // again, under its lock, for every socket at every wake-up.
    let shutdown = shutdown.requested();
    tokio::pin!(shutdown);
    loop {
        let wake = tokio::select! {
            biased;
            work = outbox.work() => Wake::Work(work),
            frame = socket.next() => Wake::Incoming(frame),
            _ = &mut shutdown => Wake::Shutdown,
        };
        match wake {
            Wake::Work(Work::Drain) => {
                if !within(poll_fn(|cx| outbox.poll_drain(cx))).await {
                    return None;
                }
            }
            Wake::Work(Work::End(ending)) => return Some(ending),
            Wake::Work(Work::Broken) => return None,
            Wake::Incoming(Some(Ok(Message::Pong(_)))) => outbox.pong(),
            Wake::Incoming(Some(Ok(Message::Ping(_)))) => {
                // tungstenite wrote the pong into the outbox; out now, not at the next frame.
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

/// Ends the connection from the server's side with a close frame, after what the outbox holds.
pub async fn close(socket: &mut Socket, (code, reason): Ending) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if within(socket.send(frame)).await {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.close(None)).await;
    }
}

/// Awaits a write; false when it failed or the client took nothing for `WRITE_TIMEOUT`.
async fn within<E>(write: impl Future<Output = Result<(), E>>) -> bool {
    let mut write = std::pin::pin!(write);
    // Almost every write is done at once: the timer (a runtime handle and a timer entry) is only
    // made for the writes that have to wait.
    if let Some(written) = write.as_mut().now_or_never() {
        return written.is_ok();
    }
    matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::outbox::{NO_PONG, TOO_SLOW, tests::Client};
    use bytes::Bytes;
    use std::sync::Arc;

    /// A served socket's client end, its outbox and its task.
    async fn served() -> (Client, Arc<Outbox>, tokio::task::JoinHandle<Option<Ending>>) {
        let (outbox, socket, client) = crate::ws::outbox::tests::pipe(8, 64 * 1024).await;
        let task = {
            let outbox = outbox.clone();
            tokio::spawn(async move {
                let mut socket = socket;
                serve(&mut socket, &outbox, &Shutdown::new()).await
            })
        };
        (client, outbox, task)
    }

    #[tokio::test]
    async fn a_client_s_ping_is_answered_between_the_server_s_frames() {
        let (mut client, outbox, task) = served().await;
        outbox.text(&Bytes::from("one"));
        client.send(Message::Ping("p".into())).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::text("one"));
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::Pong("p".into())
        );
        outbox.text(&Bytes::from("two"));
        assert_eq!(client.next().await.unwrap().unwrap(), Message::text("two"));
        outbox.end(TOO_SLOW);
        assert_eq!(task.await.unwrap(), Some(TOO_SLOW));
    }

    #[tokio::test]
    async fn a_client_that_leaves_a_ping_unanswered_until_the_next_is_closed() {
        let (_client, outbox, task) = served().await;
        // The client never reads, so it never answers.
        outbox.ping();
        outbox.ping();
        assert_eq!(task.await.unwrap(), Some(NO_PONG));
    }

    #[tokio::test]
    async fn an_answered_ping_keeps_the_socket() {
        let (mut client, outbox, task) = served().await;
        outbox.ping();
        assert!(matches!(client.next().await, Some(Ok(Message::Ping(_)))));
        // tungstenite answers for the client when it next writes or flushes.
        client.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        outbox.ping();
        assert!(matches!(client.next().await, Some(Ok(Message::Ping(_)))));
        assert!(!task.is_finished());
    }
}
