//! A client that completes its upgrade and then never reads its socket, in a room where messages
//! flow: the gateway drops it from the room's fan-out when its backlog overflows, lets go of the
//! connection, and tells the room it left; a reading client in the same room meanwhile gets every
//! message, in order, without delay. Real auth, broadcasts-archive and chat behind a real gateway;
//! the messages are posted over REST as a browser posts them.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use service_harness::Services;
use service_kit::shutdown::Shutdown;
use support::{Browser, Socket, next_event, raw_room, room};
use test_support::metrics;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// A small backlog, so that the deaf socket overflows after a few hundred messages.
const SEND_QUEUE: usize = 16;
const MESSAGES: usize = 300;
const CONCURRENCY: usize = 16;
/// The most a reading socket may lag behind the poster's 201.
const MAX_DELAY: Duration = Duration::from_secs(1);
const CLOSED_SLOW: &str = "livestreamer_ws_sockets_closed_slow_total";

/// What the reading socket saw: each chat message's text and when, and the room's last count.
#[derive(Default)]
struct Seen {
    messages: Vec<(String, Instant)>,
    count: Option<i64>,
}

/// Reads `socket` until it has seen `messages` chat messages (or `count` when that is given).
async fn read(socket: &mut Socket, seen: &mut Seen, messages: usize, count: Option<i64>) {
    while seen.messages.len() < messages || (count.is_some() && seen.count != count) {
        let frame = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("the reading socket gets a frame within 15 s")
            .expect("the reading socket stays open")
            .expect("a frame");
        let Message::Text(text) = frame else { continue };
        let value: Value = serde_json::from_str(text.as_str()).unwrap();
        match value["event"].as_str() {
            Some("chat:created_message") => {
                let text = value["data"]["message"].as_str().unwrap().to_owned();
                seen.messages.push((text, Instant::now()));
            }
            Some("chat:client_count") => seen.count = value["data"]["count"].as_i64(),
            _ => {}
        }
    }
}

/// Posts `MESSAGES` messages of about 2 KB (500 four-byte characters), `CONCURRENCY` at a time;
/// returns each text and when its 201 came, sorted by text.
async fn post_all(browser: &Browser, broadcast: i64) -> Vec<(String, Instant)> {
    let filler = "\u{1F3B5}".repeat(490);
    let posts = (0..MESSAGES).map(|i| {
        let text = format!("{i:05} {filler}");
        async move {
            let (status, body) = browser.post(broadcast, &text).await;
            assert_eq!(status, 201, "post {i}: {body}");
            (text, Instant::now())
        }
    });
    let mut answered: Vec<(String, Instant)> = futures_util::stream::iter(posts)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    answered.sort();
    answered
}

/// The TCP state (`/proc/net/tcp`, hex: 01 is ESTABLISHED) of the gateway's end of a connection.
fn server_end_state(server_port: u16, client_port: u16) -> Option<String> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let port = |address: &str| u16::from_str_radix(address.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ours = port(fields[1]) == Some(server_port) && port(fields[2]) == Some(client_port);
        ours.then(|| fields[3].to_owned())
    })
}

#[tokio::test]
async fn a_client_that_never_reads_is_closed_and_the_room_keeps_its_pace() {
    let mut services = Services::start(10_000).await;
    let dj = services.user("deafdj").await;
    let broadcast = services.broadcast(&dj.token).await;
    let shutdown = Shutdown::new();
    let mut config = support::config(&services);
    config.ws_send_queue = SEND_QUEUE;
    let gateway = support::in_process(config, &shutdown).await;
    let closed_before = metrics::value(gateway, CLOSED_SLOW).await;

    let mut reader = room(gateway, broadcast, None).await;
    next_event(&mut reader, "chat:client_list", Duration::from_secs(5)).await;
    // A 4 KiB receive buffer: the deaf client's TCP window closes after a few frames.
    let deaf = raw_room(gateway, broadcast, Some(4096))
        .await
        .expect("the deaf client's upgrade");
    let deaf_port = deaf.local_addr().unwrap().port();
    let mut seen = Seen::default();
    read(&mut reader, &mut seen, 0, Some(2)).await;

    let reading = tokio::spawn(async move {
        read(&mut reader, &mut seen, MESSAGES, None).await;
        (reader, seen)
    });
    let browser = Browser::new(gateway, &dj.session_id);
    let answered = post_all(&browser, broadcast).await;
    let (mut reader, mut seen) = reading.await.expect("the reading task");

    let mut texts: Vec<&String> = seen.messages.iter().map(|(t, _)| t).collect();
    texts.sort();
    let posted: Vec<&String> = answered.iter().map(|(t, _)| t).collect();
    assert_eq!(texts, posted, "the reader gets every message");
    seen.messages.sort();
    let worst = std::iter::zip(&seen.messages, &answered)
        .map(|((_, got), (_, sent))| got.saturating_duration_since(*sent))
        .max()
        .unwrap();
    println!("worst delay of the reading socket behind the 201: {worst:?}");
    assert!(worst < MAX_DELAY, "the reader lagged {worst:?}");

    let closed = metrics::value(gateway, CLOSED_SLOW).await - closed_before;
    assert_eq!(
        closed, 1.0,
        "the deaf socket is counted as closed for slowness"
    );
    // The room learns that it left, long before the presence expiry (30 s) would say so.
    read(&mut reader, &mut seen, MESSAGES, Some(1)).await;
    // And the gateway let go of its connection (the deaf client still reads nothing).
    let deadline = Instant::now() + Duration::from_secs(15);
    while server_end_state(gateway.port(), deaf_port).as_deref() == Some("01") {
        assert!(
            Instant::now() < deadline,
            "the gateway still holds the deaf client's connection open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(deaf);
    shutdown.trigger();
}
