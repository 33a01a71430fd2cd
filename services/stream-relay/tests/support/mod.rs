//! The relay for real, on port 0, with auth and broadcasts-archive behind it (the service harness, on
//! the test stack's PostgreSQL, Redis and RabbitMQ), and a DJ and listeners speaking plain HTTP/1.1.
//!
//! Each test binary is one process with one metrics registry: a test that asserts on `/metrics`
//! lives in a file of its own.

#![allow(dead_code)] // each test file uses part of it

use std::{
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use service_harness::{Services, User};
use service_kit::shutdown::Shutdown;
use stream_relay::Config;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// A whole 128 kbit/s MPEG-1 Layer III frame (417 bytes) whose payload is `n`.
pub fn frame(n: u8) -> Vec<u8> {
    let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
    frame.resize(417, n);
    frame
}

/// The relay's settings for a test: the harness's services, the test stack's servers.
pub struct Setup {
    pub redis_url: String,
    pub amqp_url: String,
    pub queue_bytes: usize,
    pub source_grace: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            redis_url: test_support::redis_url(),
            amqp_url: test_support::amqp_url(),
            queue_bytes: 524_288,
            source_grace: Duration::from_secs(10),
        }
    }
}

pub struct Platform {
    pub services: Services,
    pub dj: User,
    pub relay: SocketAddr,
    pub recordings: PathBuf,
    shutdown: Shutdown,
}

impl Drop for Platform {
    fn drop(&mut self) {
        self.shutdown.trigger();
        let _ = std::fs::remove_dir_all(&self.recordings);
    }
}

impl Platform {
    pub async fn start(setup: Setup) -> Self {
        let mut services = Services::start(100).await;
        let dj = services.user("dj.owl").await;
        let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let source = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = http.local_addr().unwrap();
        let recordings = std::env::temp_dir().join(format!("relay-{}", services.exchange));
        let config = Config {
            listen: relay.to_string(),
            source_listen: source.local_addr().unwrap().to_string(),
            auth_url: format!("http://{}", services.auth_addr),
            broadcasts_url: format!("http://{}", services.broadcasts_addr),
            amqp_url: setup.amqp_url,
            amqp_exchange: services.exchange.clone(),
            burst_bytes: 8 * 417,
            queue_bytes: setup.queue_bytes,
            redis_url: setup.redis_url,
            redis_prefix: services.redis_prefix.clone(),
            recordings_dir: recordings.clone(),
            source_grace: setup.source_grace,
            fast_listeners: true,
            write_every: std::time::Duration::ZERO,
            socket_send_buffer: 64 * 1024,
        };
        let shutdown = Shutdown::new();
        tokio::spawn(stream_relay::serve_on(
            http,
            source,
            config,
            shutdown.clone(),
        ));
        test_support::wait_until_ready(relay).await;
        Self {
            services,
            dj,
            relay,
            recordings,
            shutdown,
        }
    }

    /// A new broadcast of the DJ's, scheduled for now.
    pub async fn broadcast(&mut self) -> i64 {
        let token = self.dj.token.clone();
        self.services.broadcast(&token).await
    }

    /// The DJ starts streaming into `broadcast_id`.
    pub async fn source(&self, broadcast_id: i64) -> Source {
        let mut stream = TcpStream::connect(self.relay).await.unwrap();
        let head = format!(
            "PUT /api/v1/users/me/broadcasts/{broadcast_id}/stream HTTP/1.1\r\nHost: relay\r\n\
             Content-Type: audio/mpeg\r\nTransfer-Encoding: chunked\r\n\
             Cookie: sess.sid={}\r\n\r\n",
            self.dj.session_id
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        Source { stream, sent: 0 }
    }

    /// A listener of `broadcast_id`, its response head read; panics unless it is 200.
    pub async fn listen(&self, broadcast_id: i64) -> Listener {
        let mut stream = TcpStream::connect(self.relay).await.unwrap();
        let request =
            format!("GET /api/v1/broadcasts/{broadcast_id}/stream HTTP/1.1\r\nHost: relay\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(stream.read_u8().await.expect("a response head"));
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        Listener { stream }
    }

    /// A new broadcast, live once its DJ has sent `first_frames`, then streamed in real time.
    pub async fn streaming_broadcast(&mut self, first_frames: usize) -> (i64, Streaming) {
        let id = self.broadcast().await;
        let mut source = self.source(id).await;
        source.send_frames(first_frames).await;
        self.wait_until_live(id).await;
        (id, Streaming::start(source))
    }

    /// Waits until the broadcast is live here (a listener would get 200).
    pub async fn wait_until_live(&self, broadcast_id: i64) {
        let path = format!("/api/v1/broadcasts/{broadcast_id}/stream");
        let relay = self.relay;
        wait_for("the broadcast to go live", Duration::from_secs(10), || {
            let request = format!("HEAD {path} HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n");
            async move { answer(relay, &request).await.starts_with("HTTP/1.1 200") }
        })
        .await;
    }

    pub async fn metric(&self, series: &str) -> f64 {
        test_support::metrics::value(self.relay, series).await
    }

    /// Waits until `series` on `/metrics` equals `expected`.
    pub async fn wait_for_metric(&self, series: &str, expected: f64) {
        let relay = self.relay;
        let what = format!("{series} == {expected}");
        wait_for(&what, Duration::from_secs(20), || async move {
            test_support::metrics::value(relay, series).await == expected
        })
        .await;
    }
}

/// The DJ's connection: a chunked PUT body.
pub struct Source {
    pub stream: TcpStream,
    sent: u8,
}

impl Source {
    /// Sends `n` whole frames as one chunk.
    pub async fn send_frames(&mut self, n: usize) {
        let mut frames = Vec::new();
        for _ in 0..n {
            frames.extend(frame(self.sent));
            self.sent = self.sent.wrapping_add(1);
        }
        let mut chunk = format!("{:x}\r\n", frames.len()).into_bytes();
        chunk.extend(frames);
        chunk.extend(b"\r\n");
        self.stream.write_all(&chunk).await.unwrap();
    }

    /// What the relay has answered so far without the body's end (an early refusal, say), waiting
    /// at most `within`; empty if nothing.
    pub async fn answered(&mut self, within: Duration) -> String {
        let mut answer = vec![0; 4096];
        match tokio::time::timeout(within, self.stream.read(&mut answer)).await {
            Ok(Ok(n)) => String::from_utf8_lossy(&answer[..n]).into_owned(),
            Ok(Err(error)) => format!("(the connection failed: {error})"),
            Err(_) => String::new(),
        }
    }

    /// Ends the body properly and returns the relay's answer.
    pub async fn finish(mut self) -> String {
        self.stream.write_all(b"0\r\n\r\n").await.unwrap();
        let mut answer = vec![0; 4096];
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut answer))
            .await
            .expect("the relay answers the source within 10 s")
            .unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    }
}

/// A listener's connection, after the response head.
pub struct Listener {
    pub stream: TcpStream,
}

impl Listener {
    /// Reads at least `bytes` of audio (chunk framing included); panics after `within`.
    pub async fn read_at_least(&mut self, bytes: usize, within: Duration) -> usize {
        let mut buffer = vec![0; 64 * 1024];
        let mut read = 0;
        let deadline = Instant::now() + within;
        while read < bytes {
            let left = deadline.saturating_duration_since(Instant::now());
            let n = tokio::time::timeout(left, self.stream.read(&mut buffer))
                .await
                .unwrap_or_else(|_| panic!("only {read} of {bytes} bytes in {within:?}"))
                .expect("the listener's stream");
            assert!(n > 0, "the stream ended after {read} bytes");
            read += n;
        }
        read
    }
}

/// Sends a whole request and reads the answer until the relay closes the connection.
pub async fn answer(relay: SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(relay).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// Polls `condition` every 50 ms until it holds; panics after `within`.
pub async fn wait_for<F, Fut>(what: &str, within: Duration, condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A DJ streaming in real time (4 frames every 100 ms, a little faster than 128 kbit/s) until
/// stopped.
pub struct Streaming {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Source>,
}

impl Streaming {
    pub fn start(mut source: Source) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tick.tick() => source.send_frames(4).await,
                    _ = &mut stopped => return source,
                }
            }
        });
        Self { stop, task }
    }

    /// Stops sending; the source's connection stays open.
    pub async fn stop(self) -> Source {
        let _ = self.stop.send(());
        self.task.await.expect("the source task")
    }
}

/// A listener read in a task of its own, which notes how much he heard and his longest silence.
pub struct Ear {
    heard: std::sync::Arc<std::sync::atomic::AtomicU64>,
    longest_gap_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Ear {
    pub fn start(mut listener: Listener) -> Self {
        use std::sync::{Arc, atomic::AtomicU64, atomic::Ordering};
        let heard = Arc::new(AtomicU64::new(0));
        let longest_gap_ms = Arc::new(AtomicU64::new(0));
        let (h, g) = (heard.clone(), longest_gap_ms.clone());
        let task = tokio::spawn(async move {
            let mut buffer = vec![0; 64 * 1024];
            let mut last = Instant::now();
            while let Ok(n) = listener.stream.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                h.fetch_add(n as u64, Ordering::Relaxed);
                g.fetch_max(last.elapsed().as_millis() as u64, Ordering::Relaxed);
                last = Instant::now();
            }
        });
        Self {
            heard,
            longest_gap_ms,
            task,
        }
    }

    pub fn heard(&self) -> u64 {
        self.heard.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn longest_gap(&self) -> Duration {
        Duration::from_millis(
            self.longest_gap_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Whether the stream is still open.
    pub fn is_listening(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for Ear {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The address in a `scheme://[user@]host:port/...` URL.
pub async fn address_of(url: &str) -> SocketAddr {
    let authority = url
        .split("://")
        .nth(1)
        .expect("a URL")
        .split('/')
        .next()
        .unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    tokio::net::lookup_host(host_port)
        .await
        .expect("a resolvable address")
        .find(SocketAddr::is_ipv4)
        .expect("an IPv4 address")
}
