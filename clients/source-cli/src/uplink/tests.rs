//! The uplink against a scripted HTTP server on a local port: final 4xx, and a dropped connection
//! followed by a reconnection into the same path.

use std::sync::Arc;

use bytes::Bytes;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use super::{queue::Frame, *};

/// Reads a request head and then body bytes until `until` says stop; returns what was read.
async fn read_request(socket: &mut TcpStream, until: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !until(&seen) {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    seen
}

async fn answer(socket: &mut TcpStream, status: &str, body: &str) {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(body.as_bytes()).await;
}

fn uplink(api: &Api, queue: Arc<FrameQueue>, stats: Arc<Stats>) -> Uplink<'_> {
    Uplink {
        api,
        cookie: "sess.sid=abc".into(),
        target: Target::Broadcast(7),
        queue,
        stats,
        give_up_after: Duration::from_secs(60),
    }
}

fn frame(n: u8) -> Frame {
    Frame {
        bytes: Bytes::from(vec![n; 10]),
        captured_at: None,
    }
}

#[tokio::test]
async fn a_4xx_ends_the_stream_with_the_servers_message() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = Api::new(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let head = read_request(&mut socket, |seen| {
            seen.windows(4).any(|w| w == b"\r\n\r\n")
        })
        .await;
        assert!(
            String::from_utf8_lossy(&head).starts_with("PUT /api/v1/users/me/broadcasts/7/stream")
        );
        answer(
            &mut socket,
            "409 Conflict",
            r#"{"status":409,"message":"This broadcast is already live"}"#,
        )
        .await;
    });
    let stats = Arc::new(Stats::new());
    let queue = Arc::new(FrameQueue::new(10_000, stats.clone()));
    queue.push(frame(1));
    let error = uplink(&api, queue, stats).run().await.unwrap_err();
    assert_eq!(error.exit_code(), 7);
    assert_eq!(error.to_string(), "This broadcast is already live.");
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_at_the_start_is_reported_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = Api::new(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let stats = Arc::new(Stats::new());
    let queue = Arc::new(FrameQueue::new(10_000, stats.clone()));
    let error = uplink(&api, queue, stats).run().await.unwrap_err();
    assert_eq!(error.exit_code(), 9, "{error}");
}

#[tokio::test]
async fn a_dropped_connection_is_retried_and_the_stream_goes_on() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = Api::new(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    let stats = Arc::new(Stats::new());
    let queue = Arc::new(FrameQueue::new(10_000, stats.clone()));
    let server = tokio::spawn(async move {
        // First connection: takes some audio, then the network "fails".
        let (mut socket, _) = listener.accept().await.unwrap();
        read_request(&mut socket, |seen| {
            seen.ends_with(&[1; 10][..]) || seen.len() > 200
        })
        .await;
        drop(socket);
        // Second connection: same path; reads to the final chunk, then answers.
        let (mut socket, _) = listener.accept().await.unwrap();
        let seen = read_request(&mut socket, |seen| seen.ends_with(b"0\r\n\r\n")).await;
        answer(&mut socket, "200 OK", r#"{"results":{"bytesReceived":20}}"#).await;
        String::from_utf8_lossy(&seen).into_owned()
    });
    queue.push(frame(1));
    let feeder = {
        let queue = queue.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            queue.push(frame(2));
            queue.close();
        })
    };
    let started = Instant::now();
    let ended = uplink(&api, queue, stats.clone()).run().await.unwrap();
    feeder.await.unwrap();
    let second = server.await.unwrap();
    assert!(
        second.starts_with("PUT /api/v1/users/me/broadcasts/7/stream"),
        "{second}"
    );
    assert!(second.contains("cookie: sess.sid=abc"), "{second}");
    assert!(matches!(ended, Ended::Finished(body) if body["results"]["bytesReceived"] == 20));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the first retry waits 1 s"
    );
    assert_eq!(stats.connection(), Connection::Ended);
}
