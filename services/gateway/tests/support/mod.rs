//! What the gateway's integration tests share: gateways started beside the harness's services (in
//! this process, or as child processes of the real binary), room sockets (a full WebSocket client, and
//! a raw one that reads only its upgrade answer), and the chat's REST routes as a browser uses them.

#![allow(dead_code)] // each test binary uses its own part

use std::{net::SocketAddr, process::Stdio, time::Duration};

use futures_util::StreamExt;
use serde_json::Value;
use service_harness::{Services, wait_until_ready};
use service_kit::shutdown::Shutdown;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    process::{Child, Command},
};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// A gateway's settings joining `services` (their addresses, Redis prefix, broker and exchange).
pub fn config(services: &Services) -> gateway::Config {
    let mut config = gateway::Config::from_env().unwrap();
    config.auth_url = format!("http://{}", services.auth_addr);
    config.chat_url = format!("http://{}", services.chat_addr);
    config.broadcasts_url = format!("http://{}", services.broadcasts_addr);
    config.redis_url = test_support::redis_url();
    config.redis_prefix = services.redis_prefix.clone();
    config.amqp_url = services.amqp_url.clone();
    config.amqp_exchange = services.exchange.clone();
    config
}

/// A gateway in this process; returns once it is ready.
pub async fn in_process(config: gateway::Config, shutdown: &Shutdown) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway::serve_on(listener, config, shutdown.clone()));
    wait_until_ready(addr).await;
    addr
}

/// The same settings as [`config`], as the environment of a gateway process listening on `listen`.
fn env(services: &Services, listen: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("GATEWAY_LISTEN", listen.to_string()),
        ("GATEWAY_AUTH_URL", format!("http://{}", services.auth_addr)),
        ("GATEWAY_CHAT_URL", format!("http://{}", services.chat_addr)),
        (
            "GATEWAY_BROADCASTS_URL",
            format!("http://{}", services.broadcasts_addr),
        ),
        ("GATEWAY_REDIS_URL", test_support::redis_url()),
        ("GATEWAY_REDIS_PREFIX", services.redis_prefix.clone()),
        ("GATEWAY_AMQP_URL", services.amqp_url.clone()),
        ("GATEWAY_AMQP_EXCHANGE", services.exchange.clone()),
        ("RUST_LOG", "warn".to_owned()),
    ]
}

/// A gateway as a child process of the real binary, with `extra` settings (killed when dropped).
pub async fn child(services: &Services, extra: &[(&str, &str)]) -> (Child, SocketAddr) {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .envs(env(services, addr))
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the gateway binary");
    wait_until_ready(addr).await;
    (child, addr)
}

/// A WebSocket in a broadcast's room, signed in when given a session.
pub async fn room(addr: SocketAddr, broadcast_id: i64, session_id: Option<&str>) -> Socket {
    let mut request = format!("ws://{addr}/ws/{broadcast_id}")
        .into_client_request()
        .unwrap();
    if let Some(session_id) = session_id {
        request
            .headers_mut()
            .insert("cookie", format!("sess.sid={session_id}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .expect("a WebSocket")
        .0
}

/// The next frame named `event`, skipping others.
pub async fn next_event(socket: &mut Socket, event: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {event} within {within:?}"))
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["event"] == event {
                return value["data"].clone();
            }
        }
    }
}

/// A guest's socket in a room, upgraded by hand: it reads its `101` answer and nothing after, so the
/// test decides whether (and how fast) the frames are read. `receive_buffer` shrinks the kernel's
/// buffer (and so the TCP window) before connecting.
pub async fn raw_room(
    addr: SocketAddr,
    broadcast_id: i64,
    receive_buffer: Option<u32>,
) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    if let Some(size) = receive_buffer {
        socket
            .set_recv_buffer_size(size)
            .map_err(|e| e.to_string())?;
    }
    let mut stream = socket.connect(addr).await.map_err(|e| e.to_string())?;
    let request = format!(
        "GET /ws/{broadcast_id} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // Byte by byte up to the blank line: not one byte of the frames after it.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = stream.read_u8().await.map_err(|e| e.to_string())?;
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    if head.starts_with("HTTP/1.1 101") {
        Ok(stream)
    } else {
        Err(head.lines().next().unwrap_or_default().to_owned())
    }
}

/// A signed-in browser on the REST API.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Browser {
    pub fn new(gateway: SocketAddr, session_id: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: format!("http://{gateway}/api/v1"),
            cookie: format!("sess.sid={session_id}"),
        }
    }

    /// Posts a chat message; returns the status and the body.
    pub async fn post(&self, broadcast_id: i64, text: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/broadcasts/{broadcast_id}/messages", self.base))
            .header("cookie", &self.cookie)
            .json(&serde_json::json!({ "message": text }))
            .send()
            .await
            .expect("the gateway answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The texts of a room's whole history, page by page.
    pub async fn history(&self, broadcast_id: i64) -> Vec<String> {
        let (mut texts, mut cursor) = (Vec::new(), None::<String>);
        loop {
            let mut request = self
                .http
                .get(format!("{}/broadcasts/{broadcast_id}/messages", self.base))
                .query(&[("limit", "50")]);
            if let Some(cursor) = &cursor {
                request = request.query(&[("nextCursor", cursor)]);
            }
            let page: Value = request.send().await.unwrap().json().await.unwrap();
            let page = &page["results"];
            let messages = page["messages"].as_array().expect("a page of messages");
            texts.extend(
                messages
                    .iter()
                    .map(|m| m["message"].as_str().unwrap().to_owned()),
            );
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return texts,
            }
        }
    }
}
