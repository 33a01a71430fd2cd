//! The synthetic source: an Icecast `SOURCE` request, then one frame every 24 ms in real time, each
//! stamped with its number and the moment it is written.

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

/// Sends frames in real time until the stream fails; `sent` counts them.
pub async fn stream(mut stream: TcpStream, sent: Arc<AtomicU64>) -> anyhow::Result<()> {
    let start = tokio::time::Instant::now();
    let mut seq = 0u64;
    loop {
        tokio::time::sleep_until(start + Duration::from_nanos(seq * frames::FRAME_NANOS)).await;
        let frame = frames::frame(seq, frames::now_ns());
        stream.write_all(&frame).await.context("source write")?;
        seq += 1;
        sent.store(seq, Ordering::Relaxed);
    }
}
