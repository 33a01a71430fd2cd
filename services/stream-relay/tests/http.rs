//! Black-box tests: the relay started with `serve_on` on port 0, spoken to in plain HTTP/1.1 over TCP.
//!
//! auth, broadcasts-archive and RabbitMQ are deliberately absent (their addresses point at a closed
//! port), so these tests check what the relay decides on its own and how it reports a missing
//! dependency. The whole path, with every service running, is the e2e suite's.

use std::{net::SocketAddr, time::Duration};

use serde_json::Value;
use service_kit::shutdown::Shutdown;
use stream_relay::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// Nothing listens here: connections are refused at once.
const NOWHERE: &str = "http://127.0.0.1:1";

struct Relay {
    http: SocketAddr,
    source: SocketAddr,
    shutdown: Shutdown,
    task: JoinHandle<anyhow::Result<()>>,
}

async fn spawn_relay() -> Relay {
    let http = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the HTTP port");
    let source = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the source port");
    let (http_addr, source_addr) = (http.local_addr().unwrap(), source.local_addr().unwrap());
    let config = Config {
        listen: http_addr.to_string(),
        source_listen: source_addr.to_string(),
        auth_url: NOWHERE.into(),
        broadcasts_url: NOWHERE.into(),
        amqp_url: "amqp://guest:guest@127.0.0.1:1/%2f".into(),
        amqp_exchange: "relay-test".into(),
        burst_bytes: 65_536,
        queue_bytes: 524_288,
        redis_url: "redis://127.0.0.1:1/".into(),
        redis_prefix: "relay-test:".into(),
        recordings_dir: std::env::temp_dir().join("relay-test-recordings"),
        source_grace: std::time::Duration::from_secs(10),
        fast_listeners: true,
        write_every: std::time::Duration::ZERO,
        socket_send_buffer: 64 * 1024,
    };
    let shutdown = Shutdown::new();
    let task = tokio::spawn(stream_relay::serve_on(
        http,
        source,
        config,
        shutdown.clone(),
    ));
    Relay {
        http: http_addr,
        source: source_addr,
        shutdown,
        task,
    }
}

/// An answer: status, raw head, and body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Sends a raw request (head and body) and reads the whole answer; the connection closes after it.
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the relay");
    let request = format!("{head}Host: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the relay answers within 10 s")
        .expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    send(addr, &format!("GET {path} HTTP/1.1\r\n"), b"").await
}

/// A few 128 kbit/s MPEG-1 Layer III frames of silence-like zeros (417 bytes each), as one chunk.
fn chunked_mp3(frames: usize) -> Vec<u8> {
    let mut mp3 = Vec::new();
    for _ in 0..frames {
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
        frame.resize(417, 0);
        mp3.extend(frame);
    }
    let mut body = format!("{:x}\r\n", mp3.len()).into_bytes();
    body.extend(mp3);
    body.extend(b"\r\n0\r\n\r\n");
    body
}

fn assert_envelope(answer: &Answer, status: u16, status_text: &str) {
    assert_eq!(answer.status, status, "{}\n\n{}", answer.head, answer.body);
    let envelope = answer.json();
    assert_eq!(envelope["status"], status);
    assert_eq!(envelope["statusText"], status_text);
    assert!(
        envelope["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{envelope}"
    );
}

const PUT_STREAM: &str =
    "PUT /api/v1/users/me/broadcasts/1/stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n";

#[tokio::test]
async fn healthz_answers_on_both_ports() {
    let relay = spawn_relay().await;
    for addr in [relay.http, relay.source] {
        let answer = get(addr, "/healthz").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["status"], "alive");
    }
}

#[tokio::test]
async fn metrics_are_served_on_the_http_port_only() {
    let relay = spawn_relay().await;
    let answer = get(relay.http, "/metrics").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.body.contains("livestreamer_relay_listeners 0"),
        "{}",
        answer.body
    );
    // The source port is reachable from the internet as it is.
    assert_envelope(&get(relay.source, "/metrics").await, 404, "NotFound");
}

#[tokio::test]
async fn readyz_reports_the_missing_broker() {
    let relay = spawn_relay().await;
    let answer = get(relay.http, "/readyz").await;
    assert_eq!(answer.status, 503);
    assert!(
        answer.json()["failing"]["rabbitmq"].is_string(),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_source_of_another_media_type_is_refused_with_415() {
    let relay = spawn_relay().await;
    let head = format!("{PUT_STREAM}Content-Type: text/plain\r\nCookie: sess.sid=abc\r\n");
    let answer = send(relay.http, &head, &chunked_mp3(2)).await;
    assert_envelope(&answer, 415, "UnsupportedMediaType");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("text/plain")
    );
}

#[tokio::test]
async fn a_source_without_a_session_is_refused_with_401() {
    let relay = spawn_relay().await;
    let head = format!("{PUT_STREAM}Content-Type: audio/mpeg\r\n");
    assert_envelope(
        &send(relay.http, &head, &chunked_mp3(2)).await,
        401,
        "Unauthorized",
    );
}

#[tokio::test]
async fn a_source_while_auth_is_down_gets_503_not_500() {
    let relay = spawn_relay().await;
    let head =
        format!("{PUT_STREAM}Content-Type: audio/mpeg; charset=binary\r\nCookie: sess.sid=abc\r\n");
    for addr in [relay.http, relay.source] {
        assert_envelope(
            &send(addr, &head, &chunked_mp3(3)).await,
            503,
            "ServiceUnavailable",
        );
    }
}

#[tokio::test]
async fn a_broadcast_that_is_not_live_is_404() {
    let relay = spawn_relay().await;
    let answer = get(relay.http, "/api/v1/broadcasts/7/stream").await;
    assert_envelope(&answer, 404, "NotFound");
    assert!(answer.json()["message"].as_str().unwrap().contains('7'));
    assert_envelope(
        &get(relay.http, "/live/nobody?t=123").await,
        404,
        "NotFound",
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405() {
    let relay = spawn_relay().await;
    assert_envelope(&get(relay.http, "/api/v1/nothing").await, 404, "NotFound");
    let answer = send(
        relay.http,
        "DELETE /api/v1/broadcasts/7/stream HTTP/1.1\r\n",
        b"",
    )
    .await;
    assert_envelope(&answer, 405, "MethodNotAllowed");
    assert_eq!(answer.header("allow"), Some("GET, HEAD"));
    let answer = get(relay.http, "/api/v1/users/me/broadcasts/7/stream").await;
    assert_envelope(&answer, 405, "MethodNotAllowed");
    assert_eq!(answer.header("allow"), Some("PUT"));
}

#[tokio::test]
async fn shutdown_stops_the_relay_promptly() {
    let relay = spawn_relay().await;
    assert_eq!(get(relay.http, "/healthz").await.status, 200);
    // An idle keep-alive connection must not hold the shutdown up.
    let mut idle = TcpStream::connect(relay.http).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    relay.shutdown.trigger();
    let stopped = tokio::time::timeout(Duration::from_secs(5), relay.task).await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(())))),
        "serve_on returned Ok within 5 s"
    );
    assert!(
        TcpStream::connect(relay.http).await.is_err(),
        "the port is closed"
    );
}

/// An Icecast source's request head on the source port (close-delimited: no length, no chunking).
fn icecast_head(method: &str, auth: Option<&str>, content_type: &str) -> String {
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    format!(
        "{method} /live/dj.owl HTTP/1.1\r\n{auth}Content-Type: {content_type}\r\nice-name: Night\r\n"
    )
}

#[tokio::test]
async fn icecast_sources_without_credentials_get_a_basic_challenge() {
    let relay = spawn_relay().await;
    for method in ["SOURCE", "PUT"] {
        let answer = send(relay.source, &icecast_head(method, None, "audio/mpeg"), b"").await;
        assert_envelope(&answer, 401, "Unauthorized");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Basic realm=\"LiveStreamer\"")
        );
    }
}

#[tokio::test]
async fn icecast_sources_of_another_media_type_get_415_and_a_dead_auth_503() {
    let relay = spawn_relay().await;
    // "source:key" in base64
    let head = icecast_head("SOURCE", Some("c291cmNlOmtleQ=="), "application/ogg");
    assert_envelope(
        &send(relay.source, &head, b"").await,
        415,
        "UnsupportedMediaType",
    );
    let head = icecast_head("PUT", Some("c291cmNlOmtleQ=="), "audio/mpeg");
    assert_envelope(
        &send(relay.source, &head, b"").await,
        503,
        "ServiceUnavailable",
    );
}

#[tokio::test]
async fn ffmpeg_icecast_and_unchunked_put_reach_the_relay_and_read_its_answer() {
    let relay = spawn_relay().await;
    let tone = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../e2e/fixtures/tone-6s.mp3"
    );
    let source = relay.source;
    let outputs = [
        vec![
            "-ice_name",
            "Night",
            &format!("icecast://source:key@{source}/live/dj.owl"),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>(),
        [
            "-method",
            "PUT",
            "-chunked_post",
            "0",
            "-auth_type",
            "basic",
            "-content_type",
            "audio/mpeg",
        ]
        .into_iter()
        .map(String::from)
        .chain([format!("http://dj.owl:key@{source}/live/dj.owl")])
        .collect(),
    ];
    for output in outputs {
        let result = tokio::process::Command::new("ffmpeg")
            .args([
                "-hide_banner",
                "-v",
                "error",
                "-re",
                "-i",
                tone,
                "-c:a",
                "copy",
                "-f",
                "mp3",
            ])
            .args(&output)
            .output()
            .await
            .expect("ffmpeg runs (Debian package ffmpeg)");
        let errors = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success());
        // ffmpeg's icecast:// reads the answer to its Expect: 100-continue: the relay's 503.
        // The unchunked PUT does not read an answer before its body: the relay closes instead.
        assert!(
            errors.contains("5XX") || errors.contains("503") || errors.contains("Broken pipe"),
            "{output:?}: {errors}"
        );
    }
}

#[tokio::test]
async fn a_request_head_of_a_megabyte_is_refused_on_both_ports() {
    let relay = spawn_relay().await;
    for addr in [relay.http, relay.source] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut head = b"GET /live/dj.owl HTTP/1.1\r\nX-Big: ".to_vec();
        head.resize(1 << 20, b'a');
        let _ = stream.write_all(&head).await; // the relay may close before it is all sent
        let mut answer = vec![0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer)).await;
        let n = read.expect("an answer or a close within 10 s").unwrap_or(0);
        let text = String::from_utf8_lossy(&answer[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 431"), "{addr}: {text}");
    }
}
