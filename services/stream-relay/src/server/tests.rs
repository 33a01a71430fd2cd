//! The listener path over real sockets: a channel is put in the registry directly (going live needs
//! auth and broadcasts-archive, which the e2e suite runs), then listeners connect over TCP.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use livestreamer_proto::broadcasts::Broadcast;
use service_kit::shutdown::Shutdown;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
};

use super::{Port, accept};
use crate::{AppState, Config, channel::LiveChannel, live::Live};

fn config(burst_bytes: usize, queue_bytes: usize, fast_listeners: bool) -> Config {
    Config {
        listen: String::new(),
        source_listen: String::new(),
        auth_url: "http://127.0.0.1:1".into(),
        broadcasts_url: "http://127.0.0.1:1".into(),
        amqp_url: "amqp://127.0.0.1:1".into(),
        amqp_exchange: "test".into(),
        burst_bytes,
        queue_bytes,
        redis_url: "redis://127.0.0.1:1/".into(),
        redis_prefix: "relay-test:".into(),
        recordings_dir: std::env::temp_dir().join("relay-test-recordings"),
        source_grace: Duration::from_secs(10),
        fast_listeners,
        write_every: Duration::ZERO,
        socket_send_buffer: 64 * 1024,
    }
}

/// Serves a relay with one live, visible broadcast (id 5, user "dj.owl"); `fast`: listeners on the
/// write loops of [`crate::shard`] rather than hyper.
async fn relay_with_channel(
    burst_bytes: usize,
    queue_bytes: usize,
    fast: bool,
) -> (SocketAddr, Arc<AppState>, Arc<LiveChannel>) {
    relay_with_config(config(burst_bytes, queue_bytes, fast)).await
}

async fn relay_with_config(config: Config) -> (SocketAddr, Arc<AppState>, Arc<LiveChannel>) {
    let state = Arc::new(AppState::new(&config, Shutdown::new()).unwrap());
    let broadcast = Broadcast {
        broadcast_id: 5,
        username: "dj.owl".into(),
        is_visible: true,
        ..Default::default()
    };
    let live = Arc::new(Live::new(
        broadcast,
        state.limits,
        &state.config.recordings_dir,
        Duration::from_secs(10),
    ));
    let channel = live.channel.clone();
    state.registry.insert(live).unwrap();
    tokio::spawn(channel.clone().watch_listeners());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    service_kit::serve::cap_send_buffer(&listener, config.socket_send_buffer).unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(accept(listener, state.clone(), Port::Http));
    (addr, state, channel)
}

fn frame(n: u8) -> Bytes {
    let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
    frame.resize(417, n);
    Bytes::from(frame)
}

/// Sends a GET and returns the stream positioned after the response head, and the head.
async fn open(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = stream.read_u8().await.expect("a response head");
        head.push(byte);
    }
    String::from_utf8(head).unwrap()
}

/// Decodes a complete chunked body; `None` if it lacks the final empty chunk (the stream was cut).
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).ok()?, 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

/// Polls `condition` every 10 ms, for at most 5 s.
pub(crate) async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    for _ in 0..500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_listener_hears_the_burst_then_live_audio_until_the_end() {
    for fast in [false, true] {
        a_listener_hears_the_burst_then_live_audio_until_the_end_on(fast).await;
    }
}

async fn a_listener_hears_the_burst_then_live_audio_until_the_end_on(fast: bool) {
    let (addr, state, channel) = relay_with_channel(2 * 417, 1 << 20, fast).await;
    for n in 0..4 {
        channel.publish(frame(n));
    }
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = open(&mut stream, "/live/DJ.Owl").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    for expected in [
        "content-type: audio/mpeg",
        "cache-control: no-cache, no-store",
        "x-accel-buffering: no",
    ] {
        assert!(
            head.to_lowercase().contains(expected),
            "{expected} in {head}"
        );
    }
    assert!(!head.to_lowercase().contains("icy-"), "no Icecast metadata");
    wait_until("the listener is counted", || channel.listener_count() == 1).await;
    channel.publish(frame(4));
    state.registry.remove(5);
    channel.close();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let body = dechunk(&raw).expect("the body ends cleanly with the stream");
    assert_eq!(body, [frame(2), frame(3), frame(4)].concat());
    wait_until("the listener is counted out", || {
        channel.listener_count() == 0
    })
    .await;
    assert_eq!(channel.listener_peak(), 1);
}

#[tokio::test]
async fn a_listener_who_leaves_while_the_source_is_silent_is_counted_out() {
    for fast in [false, true] {
        let (addr, _state, channel) = relay_with_channel(417, 1 << 20, fast).await;
        channel.publish(frame(1));
        let mut stream = TcpStream::connect(addr).await.unwrap();
        open(&mut stream, "/live/dj.owl").await;
        wait_until("the listener is counted", || channel.listener_count() == 1).await;
        drop(stream);
        // no frame comes, so no write can fail
        wait_until("the listener is counted out", || {
            channel.listener_count() == 0
        })
        .await;
    }
}

/// A relay whose write loops write at most once per `every`, and one listener on them, counted in,
/// his stream positioned after the response head.
async fn listening_on_write_loops(every: Duration) -> (TcpStream, Arc<LiveChannel>) {
    let (addr, _state, channel) = relay_with_config(Config {
        write_every: every,
        ..config(0, 1 << 20, true)
    })
    .await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    open(&mut stream, "/live/dj.owl").await;
    wait_until("the listener is counted", || channel.listener_count() == 1).await;
    (stream, channel)
}

/// One frame as a chunk of a chunked body.
fn chunk(n: u8) -> Vec<u8> {
    [&b"1a1\r\n"[..], &frame(n), b"\r\n"].concat()
}

#[tokio::test]
async fn the_write_loops_write_at_most_once_per_write_every() {
    const EVERY: Duration = Duration::from_millis(400);
    let (mut stream, channel) = listening_on_write_loops(EVERY).await;

    channel.publish(frame(1));
    let mut first = vec![0; chunk(1).len()];
    stream.read_exact(&mut first).await.unwrap();
    assert_eq!(first, chunk(1));
    let written = std::time::Instant::now();
    channel.publish(frame(2));
    channel.publish(frame(3));
    let mut next = vec![0; 2 * chunk(2).len()];
    stream.read_exact(&mut next).await.unwrap();
    assert_eq!(next, [chunk(2), chunk(3)].concat(), "both in order");
    // A lower bound only: they may come later on a busy machine, never sooner.
    let waited = written.elapsed();
    assert!(
        waited >= EVERY - Duration::from_millis(50),
        "frames 2 and 3 waited for the next write, {waited:?} after the first"
    );
}

/// A source that writes several frames at once (ezstream's 4 KiB blocks) has them published
/// together; a write loop woken by the first must write them all, not leave the rest for its next
/// write a `write_every` later. Two worker threads, so that the loop can wake while they are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frames_of_one_read_go_out_in_the_same_write() {
    const EVERY: Duration = Duration::from_millis(300);
    const READS: u8 = 20;
    const FRAMES_PER_READ: u8 = 12;
    let (mut stream, channel) = listening_on_write_loops(EVERY).await;
    for read in 0..READS {
        // the loop's next write is due at once
        tokio::time::sleep(EVERY + Duration::from_millis(20)).await;
        let first = read * FRAMES_PER_READ;
        let frames: Vec<Bytes> = (first..first + FRAMES_PER_READ).map(frame).collect();
        channel.publish_all(&frames);
        let expected: Vec<u8> = (first..first + FRAMES_PER_READ).flat_map(chunk).collect();
        let mut got = vec![0; expected.len()];
        tokio::time::timeout(EVERY / 2, stream.read_exact(&mut got))
            .await
            .unwrap_or_else(|_| panic!("read {read}: part of it waited for the next write"))
            .unwrap();
        assert_eq!(got, expected, "read {read}: its frames, in order");
    }
}

#[tokio::test]
async fn a_stalled_listener_is_cut_while_a_reading_one_hears_everything() {
    for fast in [false, true] {
        a_stalled_listener_is_cut_while_a_reading_one_hears_everything_on(fast).await;
    }
}

async fn a_stalled_listener_is_cut_while_a_reading_one_hears_everything_on(fast: bool) {
    const QUEUE: usize = 256 * 1024;
    let (addr, _state, channel) = relay_with_channel(0, QUEUE, fast).await;
    let mut reading = TcpStream::connect(addr).await.unwrap();
    open(&mut reading, "/api/v1/broadcasts/5/stream").await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    open(&mut stalled, "/api/v1/broadcasts/5/stream").await;
    wait_until("both listeners are counted", || {
        channel.listener_count() == 2
    })
    .await;

    // The reader counts what it has read; the source never runs more than a quarter of the queue
    // ahead of it, so however the machine schedules the tasks the reading listener never lags.
    let read = Arc::new(AtomicUsize::new(0));
    let reader = tokio::spawn({
        let read = read.clone();
        async move {
            let (mut raw, mut buf) = (Vec::new(), vec![0; 64 * 1024]);
            loop {
                let n = reading.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(raw);
                }
                raw.extend_from_slice(&buf[..n]);
                read.store(raw.len(), Ordering::Release);
            }
        }
    });
    let mut published = 0usize;
    while channel.listener_count() == 2 && published < 100_000 {
        // Each 417-byte frame travels as a chunk with 7 bytes of framing.
        let heard = read.load(Ordering::Acquire) / 424 * 417;
        if published * 417 > heard + QUEUE / 4 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        channel.publish(frame(published as u8));
        published += 1;
    }
    assert_eq!(
        channel.listener_count(),
        1,
        "the stalled listener was dropped"
    );
    if fast {
        // By the queue's bound, not after megabytes of autotuned kernel buffer (3 MB here without
        // the cap): the queue, the capped send buffer (the kernel doubles it) and the 4 KiB receive
        // buffer. The hyper path checks the same bound once a second (`watch_listeners`), so a
        // source published at full speed, as here, runs megabytes past it within one check; at a
        // live 16 KB/s that is 16 KB.
        assert!(
            published * 417 < QUEUE + 512 * 1024,
            "dropped only after {} bytes",
            published * 417
        );
    }
    if fast {
        assert_eq!(channel.listeners_dropped(), 1, "and counted");
    }
    channel.publish(frame(0));
    channel.close();
    let raw = reader.await.unwrap().unwrap();
    let body = dechunk(&raw).expect("the reading listener's body ends cleanly");
    assert_eq!(
        body.len(),
        (published + 1) * 417,
        "the reading listener missed nothing"
    );
}

#[tokio::test]
async fn an_http_1_0_listener_gets_the_burst_and_live_frames_until_the_connection_closes() {
    let (addr, _state, channel) = relay_with_channel(417, 1 << 20, true).await;
    channel.publish(frame(0));
    channel.publish(frame(1));
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/v1/broadcasts/5/stream HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.expect("a response head"));
    }
    let head = String::from_utf8(head).unwrap().to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    wait_until("the listener is counted", || channel.listener_count() == 1).await;
    for n in 2..40 {
        channel.publish(frame(n));
    }
    channel.close();
    let mut body = Vec::new();
    stream.read_to_end(&mut body).await.unwrap();
    let expected: Vec<u8> = (1..40).flat_map(|n| frame(n).to_vec()).collect();
    assert_eq!(
        body, expected,
        "the burst (one frame) then every live frame, once"
    );
    wait_until("the listener is counted out", || {
        channel.listener_count() == 0
    })
    .await;
}

#[tokio::test]
async fn a_hidden_broadcast_is_not_found_for_strangers() {
    let (addr, state, _) = relay_with_channel(0, 1 << 20, true).await;
    let hidden = Broadcast {
        broadcast_id: 6,
        username: "shy".into(),
        is_visible: false,
        ..Default::default()
    };
    state
        .registry
        .insert(Arc::new(Live::new(
            hidden,
            state.limits,
            &state.config.recordings_dir,
            Duration::ZERO,
        )))
        .unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = open(&mut stream, "/api/v1/broadcasts/6/stream").await;
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
}
