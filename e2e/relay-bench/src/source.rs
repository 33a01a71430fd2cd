//! The synthetic source: an Icecast `SOURCE` request, then frames in real time, each stamped with
//! its number and the moment it is written.
//!
//! Real sources differ in how much they write at once, and a relay's latency and CPU depend on it:
//! ffmpeg writes each frame as the encoder makes it (one every 24 ms here), while libshout-based
//! players such as ezstream write 4,096-byte blocks paced in real time (about ten frames, every
//! quarter of a second). `block` frames go out in one write, every `block` × 24 ms, all stamped
//! with the time of that write.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use base64::Engine;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::frames;

/// Connects, sends the request head and waits for the server's `200`.
pub async fn connect(addr: SocketAddr, path: &str, auth: &str) -> anyhow::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("connect the source to {addr}"))?;
    stream.set_nodelay(true)?;
    let auth = base64::engine::general_purpose::STANDARD.encode(auth);
    let head = format!(
        "SOURCE {path} HTTP/1.0\r\nAuthorization: Basic {auth}\r\nContent-Type: audio/mpeg\r\n\
         ice-name: relay-bench\r\nice-public: 0\r\nUser-Agent: relay-bench\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut byte)).await;
        match read.context("no answer to SOURCE within 15 s")?? {
            0 => bail!(
                "the server closed the source: {}",
                String::from_utf8_lossy(&answer)
            ),
            _ => answer.push(byte[0]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    if answer.split_whitespace().nth(1) != Some("200") {
        bail!("the server refused the source: {answer}");
    }
    Ok(stream)
}

/// The most frames the source writes at once: 64 frames are 24 KiB, 1.5 s of audio.
pub const MAX_BLOCK: u64 = 64;

/// Sends frames in real time, `block` (1..=[`MAX_BLOCK`]) per write, until the stream fails; `sent`
/// counts them.
pub async fn stream(mut stream: TcpStream, block: u64, sent: Arc<AtomicU64>) -> anyhow::Result<()> {
    let block = block.clamp(1, MAX_BLOCK);
    let start = tokio::time::Instant::now();
    let mut seq = 0u64;
    let mut bytes = Vec::with_capacity(block as usize * frames::FRAME_LEN);
    loop {
        tokio::time::sleep_until(start + Duration::from_nanos(seq * frames::FRAME_NANOS)).await;
        let now = frames::now_ns();
        bytes.clear();
        for n in seq..seq + block {
            bytes.extend_from_slice(&frames::frame(n, now));
        }
        stream.write_all(&bytes).await.context("source write")?;
        seq += block;
        sent.store(seq, Ordering::Relaxed);
    }
}
