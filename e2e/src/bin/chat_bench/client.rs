//! One WebSocket client of a worker: connects from its own source address, then reads until the
//! socket ends, counting into the worker's [`WorkerStats`] each benchmark message once (its delivery
//! time too), every other frame, and how the socket ended.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Context;
use e2e::bench::now_us;
use futures_util::StreamExt;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};

use crate::{mark::bench_mark, worker::WorkerStats};

/// One client: connects from `source`, then reads until the socket ends.
pub async fn client(index: usize, url: String, source: Ipv4Addr, stats: Arc<Mutex<WorkerStats>>) {
    let connected = tokio::time::timeout(Duration::from_secs(60), connect(&url, source)).await;
    let mut socket = match connected {
        Ok(Ok(socket)) => {
            stats.lock().expect("stats").connected += 1;
            socket
        }
        Ok(Err(error)) => return fail(&stats, format!("{error:#}")),
        Err(_) => return fail(&stats, "connect timed out after 60 s".into()),
    };
    let mut seen = Seen::default();
    while let Some(frame) = socket.next().await {
        match frame {
            Ok(Message::Text(text)) => receive_text(&stats, index, &mut seen, text.as_str()),
            Ok(Message::Close(close)) => {
                let code = close.map_or(1005, |c| u16::from(c.code));
                *stats.lock().expect("stats").closed.entry(code).or_default() += 1;
                return;
            }
            Ok(_) => {}
            Err(error) => {
                let mut s = stats.lock().expect("stats");
                s.broken += 1;
                s.first_error.get_or_insert_with(|| error.to_string());
                return;
            }
        }
    }
    stats.lock().expect("stats").broken += 1;
}

/// The benchmark messages a client has received, a bit per sequence number.
#[derive(Default)]
struct Seen(Vec<u64>);

impl Seen {
    /// Marks `seq` as received; false when it already was.
    fn insert(&mut self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        if self.0[word] & (1 << bit) != 0 {
            return false;
        }
        self.0[word] |= 1 << bit;
        true
    }
}

fn receive_text(stats: &Mutex<WorkerStats>, index: usize, seen: &mut Seen, text: &str) {
    let mark = bench_mark(text);
    let now = now_us();
    let mut s = stats.lock().expect("stats");
    match mark {
        Some((seq, sent)) => {
            if !seen.insert(seq) {
                s.duplicates += 1;
            } else {
                s.received[index] += 1;
                let latency = now.saturating_sub(sent);
                if let Some(h) = s.hist.as_mut() {
                    h.record(latency);
                }
                s.note_receipt(seq, latency);
            }
        }
        None => {
            if index == 0 && std::env::var_os("CHAT_BENCH_DUMP").is_some() {
                eprintln!("frame {} B: {}", text.len(), &text[..text.len().min(200)]);
            }
            s.other_frames += 1;
            s.other_bytes += text.len() as u64;
        }
    }
}

fn fail(stats: &Mutex<WorkerStats>, error: String) {
    let mut s = stats.lock().expect("stats");
    s.failed += 1;
    s.first_error.get_or_insert(error);
}

async fn connect(
    url: &str,
    source: Ipv4Addr,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .context("a ws:// URL")?;
    let target: SocketAddr = authority
        .parse()
        .context("the URL's host must be an IP:port")?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    // tungstenite zero-fills its whole read buffer before every read: at 8 KiB that memset was 10% of
    // the load generator's CPU at 10,000 clients (perf), where the load generator is what saturates
    // the machine first. A chat frame is ~200 bytes; a bigger one (a room list) takes a few reads.
    let config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20));
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(socket)
}
