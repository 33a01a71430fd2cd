//! The floor of the chat fan-out benchmark (issue 6, BENCHMARKS.md): a hub that does only what no hub
//! can avoid, to show how much of a delivery's CPU is left to save once the kernel has had its share.
//!
//! It speaks the Node reference hub's protocol (`e2e/bench/node-hub/server.js`): `GET /ws/{room}`
//! opens a socket in a room, `POST /api/v1/broadcasts/{room}/messages` with `{"message": ...}` answers
//! 201 and sends `chat:created_message` to every socket of the room. Per message it serializes the
//! frame once and makes one non-blocking `write` per socket, with no queue, no task per socket, no
//! presence, no pings and no reading of what clients send. A socket whose write fails or would block
//! is closed and counted (at 10 messages a second a client that reads never fills its kernel
//! buffer). It is not a chat server; it is what a delivery costs at the least: one system call and
//! the kernel's loopback TCP path under it.
//!
//! The sockets are dealt round-robin to `WRITERS` threads (1 by default), each writing its own share
//! of every message: with 2, the floor of latency is comparable with two gateway replicas'. HTTP is
//! served on one more thread.
//!
//! ```text
//! floor_hub [PORT] [WRITERS]        (default 29491 on 127.0.0.1, 1 writer)
//! ```

use std::{
    cell::RefCell,
    collections::HashMap,
    io::Write,
    rc::Rc,
    sync::{Arc, mpsc},
};

use anyhow::{Context, bail};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// A request head larger than this is refused (the benchmark's are a few hundred bytes).
const MAX_HEAD: usize = 8 * 1024;
/// A message body larger than this is refused.
const MAX_BODY: usize = 64 * 1024;

/// What a writer thread is told: a socket joins a room, or a frame goes to a room.
enum Order {
    Join(i64, std::net::TcpStream),
    Send(i64, Arc<[u8]>),
}

/// The HTTP thread's state: the writer threads, and the next message id.
struct Rooms {
    writers: Vec<mpsc::Sender<Order>>,
    next_writer: usize,
    next_message_id: u64,
}

type Shared = Rc<RefCell<Rooms>>;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next() {
        Some(port) => port.parse().context("PORT must be a port number")?,
        None => 29491,
    };
    let writers: usize = match args.next() {
        Some(n) => n.parse().context("WRITERS must be a number")?,
        None => 1,
    };
    anyhow::ensure!((1..=64).contains(&writers), "WRITERS between 1 and 64");
    let writers = (0..writers)
        .map(|_| {
            let (orders, received) = mpsc::channel();
            std::thread::spawn(move || write_orders(received));
            orders
        })
        .collect();
    let rooms = Rc::new(RefCell::new(Rooms {
        writers,
        next_writer: 0,
        next_message_id: 0,
    }));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::task::LocalSet::new().run_until(serve(port, rooms)))
}

/// A writer thread: its share of every room's sockets, one write per socket per frame; a socket
/// that cannot take a frame whole at once leaves.
fn write_orders(orders: mpsc::Receiver<Order>) {
    let mut rooms: HashMap<i64, Vec<std::net::TcpStream>> = HashMap::new();
    let mut dropped = 0;
    for order in orders {
        match order {
            Order::Join(room, socket) => rooms.entry(room).or_default().push(socket),
            Order::Send(room, frame) => {
                let Some(sockets) = rooms.get_mut(&room) else {
                    continue;
                };
                let before = sockets.len();
                sockets
                    .retain(|mut socket| matches!(socket.write(&frame), Ok(n) if n == frame.len()));
                let closed = before - sockets.len();
                if closed > 0 {
                    dropped += closed;
                    eprintln!(
                        "{closed} sockets closed ({dropped} by this writer): a write failed or would block"
                    );
                }
            }
        }
    }
}

async fn serve(port: u16, rooms: Shared) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "floor hub listening on 127.0.0.1:{port} (pid {})",
        std::process::id()
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let rooms = rooms.clone();
        tokio::task::spawn_local(async move {
            if let Err(error) = connection(stream, rooms).await {
                eprintln!("connection: {error:#}");
            }
        });
    }
}

/// A parsed request head: method, path, and the two headers the hub reads.
struct Head {
    method: String,
    path: String,
    websocket_key: Option<String>,
    content_length: usize,
    /// Bytes read past the head: the start of the body.
    rest: Vec<u8>,
}

/// Serves requests on one connection until it closes or becomes a WebSocket.
async fn connection(mut stream: TcpStream, rooms: Shared) -> anyhow::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffered = Vec::new();
    loop {
        let Some(head) = read_head(&mut stream, &mut buffered).await? else {
            return Ok(());
        };
        let room = |prefix: &str, suffix: &str| -> Option<i64> {
            head.path
                .strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()
        };
        let (ws_room, post_room) = (room("/ws/", ""), room("/api/v1/broadcasts/", "/messages"));
        match (
            head.method.as_str(),
            &head.websocket_key,
            ws_room,
            post_room,
        ) {
            ("GET", Some(key), Some(room), _) => {
                let response = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\
                     Sec-WebSocket-Accept: {}\r\n\r\n",
                    derive_accept_key(key.as_bytes())
                );
                stream.write_all(response.as_bytes()).await?;
                // Stays non-blocking: the writers never wait on a socket.
                let socket = stream.into_std()?;
                let mut rooms = rooms.borrow_mut();
                let writer = rooms.next_writer % rooms.writers.len();
                rooms.next_writer += 1;
                rooms.writers[writer]
                    .send(Order::Join(room, socket))
                    .context("a writer thread ended")?;
                return Ok(());
            }
            ("POST", None, _, Some(room)) => {
                let (body, rest) = read_body(&mut stream, head.rest, head.content_length).await?;
                buffered = rest;
                // Answered first, then sent to the room, as the Node hub does.
                let (answer, frame) = post(&rooms, room, &body);
                stream.write_all(&answer).await?;
                if let Some(frame) = frame {
                    fan_out(&rooms, room, frame);
                }
            }
            _ => {
                let answer = response(404, &json!({"message": "no such route"}));
                stream.write_all(&answer).await?;
                return Ok(());
            }
        }
    }
}

/// Reads a request head; `None` when the connection closed between requests.
async fn read_head(stream: &mut TcpStream, buffered: &mut Vec<u8>) -> anyhow::Result<Option<Head>> {
    let mut read = std::mem::take(buffered);
    let end = loop {
        if let Some(end) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if read.len() > MAX_HEAD {
            bail!("request head over {MAX_HEAD} bytes");
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await? {
            0 if read.is_empty() => return Ok(None),
            0 => bail!("connection closed inside a request head"),
            n => read.extend_from_slice(&chunk[..n]),
        }
    };
    let text = std::str::from_utf8(&read[..end]).context("request head is not UTF-8")?;
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, path) = (request_line.next(), request_line.next());
    let (Some(method), Some(path)) = (method, path) else {
        bail!("malformed request line");
    };
    let mut head = Head {
        method: method.to_owned(),
        path: path.to_owned(),
        websocket_key: None,
        content_length: 0,
        rest: read[end + 4..].to_vec(),
    };
    for (name, value) in lines.filter_map(|line| line.split_once(':')) {
        let value = value.trim();
        if name.eq_ignore_ascii_case("sec-websocket-key") {
            head.websocket_key = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("content-length") {
            head.content_length = value.parse().context("bad Content-Length")?;
        }
    }
    Ok(Some(head))
}

/// Reads a body of `length` bytes; returns it and whatever was read past it.
async fn read_body(
    stream: &mut TcpStream,
    mut read: Vec<u8>,
    length: usize,
) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    if length > MAX_BODY {
        bail!("body over {MAX_BODY} bytes");
    }
    while read.len() < length {
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await? {
            0 => bail!("connection closed inside a body"),
            n => read.extend_from_slice(&chunk[..n]),
        }
    }
    let rest = read.split_off(length);
    Ok((read, rest))
}

/// Takes a posted message: the HTTP response, and the frame for the room when it is accepted.
fn post(rooms: &Shared, room: i64, body: &[u8]) -> (Vec<u8>, Option<Vec<u8>>) {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|body| body["message"].as_str().map(str::to_owned));
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return (response(400, &json!({"message": "message required"})), None);
    };
    let mut rooms = rooms.borrow_mut();
    rooms.next_message_id += 1;
    let message = json!({
        "messageId": rooms.next_message_id,
        "broadcastId": room,
        "userId": 1,
        "username": "bench",
        "createdAt": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "message": text,
        "likedByUserId": [],
    });
    let frame = text_frame(&json!({"event": "chat:created_message", "data": message}).to_string());
    (response(201, &json!({"results": message})), Some(frame))
}

/// Hands `frame` to every writer thread, for its share of the room's sockets.
fn fan_out(rooms: &Shared, room: i64, frame: Vec<u8>) {
    let frame: Arc<[u8]> = frame.into();
    for writer in &rooms.borrow().writers {
        if writer.send(Order::Send(room, frame.clone())).is_err() {
            eprintln!("a writer thread ended");
        }
    }
}

/// An unmasked, final text frame (RFC 6455 §5.2).
fn text_frame(payload: &str) -> Vec<u8> {
    let len = payload.len();
    let mut frame = vec![0x81];
    match len {
        0..126 => frame.push(len as u8),
        126..65536 => {
            frame.push(126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            frame.push(127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(payload.as_bytes());
    frame
}

fn response(status: u16, body: &serde_json::Value) -> Vec<u8> {
    let body = body.to_string();
    let reason = match status {
        201 => "Created",
        400 => "Bad Request",
        _ => "Not Found",
    };
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_length_in_the_form_its_size_needs() {
        assert_eq!(text_frame("hi"), b"\x81\x02hi");
        let medium = text_frame(&"m".repeat(300));
        assert_eq!(&medium[..4], &[0x81, 126, 1, 44]);
        assert_eq!(medium.len(), 304);
        let long = text_frame(&"l".repeat(70_000));
        assert_eq!(&long[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(long[2..10].try_into().unwrap()), 70_000);
    }
}
