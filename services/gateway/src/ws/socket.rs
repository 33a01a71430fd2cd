//! One WebSocket's life after the handshake: relaying its queue to the client, pinging it, and
//! ending it.
//!
//! Frames over `FRAGMENT` bytes go out as a message in fragments (RFC 6455 §5.4; browsers and
//! WebSocket clients hand the whole message to the application): tungstenite's write buffer keeps
//! the capacity of the largest frame it ever held, for the socket's whole life, so sending the
//! newcomer's room list (~16 KB) in one frame cost every idle socket 16 KiB.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use service_kit::shutdown::Shutdown;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{
    Message, Utf8Bytes,
    protocol::{
        CloseFrame, WebSocketConfig,
        frame::{
            Frame,
            coding::{CloseCode, Data, OpCode},
        },
    },
};

use super::{hub::Outgoing, upgrade::Socket};

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
/// The largest frame written in one piece; bigger messages go in fragments of this size.
const FRAGMENT: usize = 1024;

/// The socket's configuration: small reads, and frames written through without a buffer of their own.
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
pub async fn serve(
    socket: &mut Socket,
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
                if !send_text(socket, text).await {
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
                if !send_within(socket, Message::Ping(Bytes::new())).await {
                    return None;
                }
            }
            Wake::Incoming(Some(Ok(Message::Pong(_)))) => awaiting_pong = false,
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
pub async fn close(socket: &mut Socket, (code, reason): Ending) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if send_within(socket, frame).await {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.close(None)).await;
    }
}

/// Sends a text message, in fragments when it is big; false when the connection failed or the client
/// took nothing for `WRITE_TIMEOUT`.
async fn send_text(socket: &mut Socket, text: Utf8Bytes) -> bool {
    if text.len() <= FRAGMENT {
        return send_within(socket, Message::Text(text)).await;
    }
    let pieces = fragments(text.as_str(), FRAGMENT);
    let bytes = Bytes::from(text);
    let last = pieces.len() - 1;
    for (i, piece) in pieces.into_iter().enumerate() {
        let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
        let frame = Frame::message(bytes.slice(piece), opcode, i == last);
        if !send_within(socket, Message::Frame(frame)).await {
            return false;
        }
    }
    true
}

/// `text` cut into ranges of at most `size` bytes, each ending on a character boundary (a client
/// may check each fragment's UTF-8 on its own).
fn fragments(text: &str, size: usize) -> Vec<std::ops::Range<usize>> {
    debug_assert!(size >= 4, "a fragment holds at least one character");
    let mut ranges = Vec::with_capacity(text.len().div_ceil(size));
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + size).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        ranges.push(start..end);
        start = end;
    }
    ranges
}

/// Sends a frame; false when the connection failed or the client took nothing for `WRITE_TIMEOUT`.
async fn send_within(socket: &mut Socket, message: Message) -> bool {
    let mut send = std::pin::pin!(socket.send(message));
    // Almost every frame goes straight into the kernel's buffer: the timer (a runtime handle and a
    // timer entry per frame per socket) is only made for the frames that have to wait.
    if let Some(sent) = send.as_mut().now_or_never() {
        return sent.is_ok();
    }
    matches!(tokio::time::timeout(WRITE_TIMEOUT, send).await, Ok(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_cover_the_text_and_never_split_a_character() {
        let text = "ab€cd€€e"; // '€' is 3 bytes
        let pieces = fragments(text, 4);
        let joined: String = pieces.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(joined, text);
        assert!(pieces.iter().all(|r| r.len() <= 4 && !r.is_empty()));
        assert_eq!(
            fragments("short", 1024),
            vec![std::ops::Range { start: 0, end: 5 }]
        );
    }
}
