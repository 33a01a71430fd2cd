//! The server's own frames (RFC 6455 §5.2), written straight to the connection: a header of 2 to 10
//! bytes and the payload, shared by every socket of the room, in one `writev`.
//!
//! tungstenite would first copy each frame into its write buffer, a `Vec` per socket that keeps the
//! capacity of the largest frame the socket was ever sent: with a newcomer's room list (~16 KB) that
//! was 17.6 KiB resident in every idle socket (heaptrack, BENCHMARKS.md), and the copy and its
//! bookkeeping were ~5% of the gateway's CPU per delivery. tungstenite still reads the socket, and
//! writes what it answers on its own (a pong to a client's ping, the close handshake): `socket`
//! flushes those before it writes here again, so the two never interleave inside a frame.

use std::io::{self, IoSlice};

use tokio::io::{AsyncWrite, AsyncWriteExt};

pub const TEXT: u8 = 0x1;
pub const PING: u8 = 0x9;

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
    let (mut head, mut body) = (&header[..header_len], payload);
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
    async fn frames_of_every_length_encoding_reach_a_client_whole_and_in_order() {
        let medium = "m".repeat(300);
        let long = "é".repeat(40_000);
        let received =
            round_trip(&[(TEXT, "hi"), (PING, ""), (TEXT, &medium), (TEXT, &long)]).await;
        assert_eq!(
            received,
            [
                Message::text("hi"),
                Message::Ping(Default::default()),
                Message::text(medium),
                Message::text(long),
            ]
        );
    }
}
