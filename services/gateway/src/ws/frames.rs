//! The headers of the server's own frames (RFC 6455 §5.2), which `outbox` writes straight to the
//! connection in one system call: a small frame (a chat message, a ping) copied with its header into
//! a buffer on the stack and sent with `write`, a bigger one as its header and its payload, shared by
//! every socket of the room, with `writev` (whose VFS path cost ~5% of the gateway's CPU more than
//! `write` under the chat benchmark).
//!
//! tungstenite would first copy each frame into its write buffer, a `Vec` per socket that keeps the
//! capacity of the largest frame the socket was ever sent: with a newcomer's room list (~16 KB) that
//! was 17.6 KiB resident in every idle socket (heaptrack, BENCHMARKS.md), and the copy and its
//! bookkeeping were ~5% of the gateway's CPU per delivery. tungstenite still reads the socket, and
//! writes what it answers on its own (a pong to a client's ping, the close handshake), through the
//! same outbox, so the two never interleave inside a frame.

pub const TEXT: u8 = 0x1;
pub const PING: u8 = 0x9;
/// Frames up to this size (header included) are copied and sent with one `write`.
pub const SMALL_FRAME: usize = 1024;

/// The header of a final, unmasked frame (a server's frames are never masked), and its length.
pub fn header(opcode: u8, payload_len: usize) -> ([u8; 10], usize) {
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
