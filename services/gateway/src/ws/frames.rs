//! The server's own frames (RFC 6455 §5.2), written straight to the connection in one system call: a
//! small frame (a chat message, a ping) copied with its header into a buffer on the stack and sent
//! with `write`, a bigger one as its header and its payload, shared by every socket of the room, with
//! `writev` (whose VFS path cost ~5% of the gateway's CPU more than `write` under the chat benchmark).
//!
//! tungstenite would first copy each frame into its write buffer, a `Vec` per socket that keeps the
//! capacity of the largest frame the socket was ever sent: with a newcomer's room list (~16 KB) that
//! was 17.6 KiB resident in every idle socket (heaptrack, BENCHMARKS.md), and the copy and its
//! bookkeeping were ~5% of the gateway's CPU per delivery. tungstenite still reads the socket, and
//! writes what it answers on its own (a pong to a client's ping, the close handshake): `socket`
//! flushes those before it writes here again, so the two never interleave inside a frame.

use std::{
    future::poll_fn,
    io::{self, IoSlice},
    pin::Pin,
    task::{Poll, ready},
};

use tokio::io::{AsyncWrite, AsyncWriteExt};

pub const TEXT: u8 = 0x1;
pub const PING: u8 = 0x9;
/// Frames up to this size (header included) are copied and sent with one `write`.
const SMALL_FRAME: usize = 1024;

/// The header of a final, unmasked frame (a server's frames are never masked), and its length.
fn header(opcode: u8, payload_len: usize) -> ([u8; 10], usize) {
    let mut header = [0u8; 10];
    header[0] = 0x80 | opcode;
    let len = if payload_len < 126 {
        header[1] = payload_len as u8;
        2
    } else if let Ok(short) = u16::try_from(payload_len) {
        header[1] = 126;
        header[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        header[1] = 127;
        header[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
        10
    };
    (header, len)
}

/// Writes one whole frame, however many writes the kernel takes it in.
pub async fn write(
    io: &mut (impl AsyncWrite + Unpin),
    opcode: u8,
    payload: &[u8],
) -> io::Result<()> {
    let (header, header_len) = header(opcode, payload.len());
    let header = &header[..header_len];
    if header.len() + payload.len() <= SMALL_FRAME {
        write_small(io, header, payload).await
    } else {
        write_vectored(io, header, payload).await
    }
}

/// Header and payload copied together, at each poll, into a buffer that lives on the stack only
/// during the poll (kept in the future, it would be a KiB in every idle socket's task).
async fn write_small(
    io: &mut (impl AsyncWrite + Unpin),
    header: &[u8],
    payload: &[u8],
) -> io::Result<()> {
    let len = header.len() + payload.len();
    let mut written = 0;
    poll_fn(|cx| {
        let mut frame = [0u8; SMALL_FRAME];
        frame[..header.len()].copy_from_slice(header);
        frame[header.len()..len].copy_from_slice(payload);
        while written < len {
            match ready!(Pin::new(&mut *io).poll_write(cx, &frame[written..len]))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => written += n,
            }
        }
        Poll::Ready(Ok(()))
    })
    .await
}

async fn write_vectored(
    io: &mut (impl AsyncWrite + Unpin),
    header: &[u8],
    payload: &[u8],
) -> io::Result<()> {
    let (mut head, mut body) = (header, payload);
    while !head.is_empty() || !body.is_empty() {
        let written = io
            .write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
            .await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_head = written.min(head.len());
        head = &head[from_head..];
        body = &body[written - from_head..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tokio_tungstenite::{
        WebSocketStream,
        tungstenite::{Message, protocol::Role},
    };

    /// A client reads what `write` wrote, through a pipe that takes a few bytes at a time.
    async fn round_trip(frames: &[(u8, &str)]) -> Vec<Message> {
        let (mut server, client) = tokio::io::duplex(7);
        let expected = frames.len();
        let reader = tokio::spawn(async move {
            let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
            client
                .take(expected)
                .map(Result::unwrap)
                .collect::<Vec<_>>()
                .await
        });
        for (opcode, payload) in frames {
            write(&mut server, *opcode, payload.as_bytes())
                .await
                .unwrap();
        }
        reader.await.unwrap()
    }

    #[tokio::test]
    async fn frames_of_every_length_encoding_and_both_write_paths_reach_a_client_whole_and_in_order()
     {
        let medium = "m".repeat(300);
        let edge = "e".repeat(SMALL_FRAME - 4);
        let long = "é".repeat(40_000);
        let received = round_trip(&[
            (TEXT, "hi"),
            (PING, ""),
            (TEXT, &medium),
            (TEXT, &edge),
            (TEXT, &long),
        ])
        .await;
        assert_eq!(
            received,
            [
                Message::text("hi"),
                Message::Ping(Default::default()),
                Message::text(medium),
                Message::text(edge),
                Message::text(long),
            ]
        );
    }
}
