//! RabbitMQ restarted under load, for real: auth, broadcasts-archive, chat and a gateway run on a
//! private broker (`test_support::rabbitmq::PrivateBroker`) while a browser posts a chat message
//! every 100 ms over REST and a guest's socket listens in the room. The broker is stopped for a few
//! seconds and started again. Every post is answered 201 and kept in history (chat stores, then
//! publishes; a message posted while the broker is down is not pushed, and clients find it in
//! history), the gateway's `/readyz` reports the outage and recovers, its hub subscribes again, and
//! messages posted afterwards reach the socket, which stayed open throughout.

mod support;

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use futures_util::StreamExt;
use serde_json::Value;
use service_harness::Services;
use service_kit::shutdown::Shutdown;
use support::{Browser, next_event, room};
use test_support::rabbitmq::PrivateBroker;
use tokio::{sync::mpsc, time::Instant};
use tokio_tungstenite::tungstenite::Message;

const OUTAGE: Duration = Duration::from_secs(3);
/// How long after the broker booted the gateway may take to be ready and subscribed again: its
/// reconnection backoff doubles up to 10 s.
const RECOVERY: Duration = Duration::from_secs(15);
/// How long a message posted once the gateway is ready again may take to reach the socket.
const DELIVERY: Duration = Duration::from_secs(5);

struct Post {
    text: String,
    sent: Instant,
    took: Duration,
    status: u16,
}

/// Whether `GET /readyz` answers 200 now.
async fn ready(http: &reqwest::Client, gateway: SocketAddr) -> bool {
    let answer = http.get(format!("http://{gateway}/readyz")).send().await;
    answer.is_ok_and(|r| r.status() == 200)
}

/// Polls `/readyz` until it says `wanted`; returns how long that took.
async fn until_ready_is(gateway: SocketAddr, wanted: bool, within: Duration) -> Duration {
    let http = reqwest::Client::new();
    let started = Instant::now();
    while ready(&http, gateway).await != wanted {
        assert!(
            started.elapsed() < within,
            "/readyz did not turn {wanted} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// Posts a message every 100 ms until `stop`; returns every post.
async fn keep_posting(browser: Browser, broadcast: i64, stop: Arc<AtomicBool>) -> Vec<Post> {
    let mut posts = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let text = format!("message {}", posts.len());
        let sent = Instant::now();
        let (status, _) = browser.post(broadcast, &text).await;
        let took = sent.elapsed();
        posts.push(Post {
            text,
            sent,
            took,
            status,
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    posts
}

#[tokio::test]
async fn a_broker_restart_under_load_loses_no_message_and_the_hub_subscribes_again() {
    let mut broker = PrivateBroker::launch().await;
    let mut services = Services::start_on_broker(10_000, broker.url()).await;
    let dj = services.user("restartdj").await;
    let broadcast = services.broadcast(&dj.token).await;
    let shutdown = Shutdown::new();
    let gateway = support::in_process(support::config(&services), &shutdown).await;
    let mut socket = room(gateway, broadcast, None).await;
    next_event(&mut socket, "chat:client_list", Duration::from_secs(5)).await;

    let (arrived, mut arrivals) = mpsc::unbounded_channel();
    let listening = tokio::spawn(async move {
        while let Some(Ok(frame)) = socket.next().await {
            let Message::Text(text) = frame else { continue };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["event"] == "chat:created_message" {
                let text = value["data"]["message"].as_str().unwrap().to_owned();
                let _ = arrived.send((text, Instant::now()));
            }
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let posting = tokio::spawn(keep_posting(
        Browser::new(gateway, &dj.session_id),
        broadcast,
        stop.clone(),
    ));
    tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
        .await
        .expect("messages reach the socket before the restart");

    let outage_began = Instant::now();
    broker.stop().await;
    let noticed = until_ready_is(gateway, false, Duration::from_secs(10)).await;
    tokio::time::sleep(OUTAGE).await;
    broker.start().await;
    let outage_ended = Instant::now();
    let recovered = until_ready_is(gateway, true, RECOVERY).await;
    let ready_again = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let posts = posting.await.expect("the posting task");
    println!(
        "broker down {:?} (noticed by /readyz after {noticed:?}); ready {recovered:?} after it booted",
        outage_ended - outage_began
    );

    let during: Vec<&Post> = posts
        .iter()
        .filter(|p| p.sent >= outage_began && p.sent < outage_ended)
        .collect();
    let slowest = during.iter().map(|p| p.took).max().unwrap_or_default();
    println!(
        "{} posts, {} while the broker was down (slowest answer then {slowest:?})",
        posts.len(),
        during.len()
    );
    assert!(!during.is_empty(), "posts were made during the outage");
    for post in &posts {
        assert_eq!(
            post.status, 201,
            "{} was answered {}",
            post.text, post.status
        );
    }
    let history = Browser::new(gateway, &dj.session_id)
        .history(broadcast)
        .await;
    for post in &posts {
        assert!(history.contains(&post.text), "{} is in history", post.text);
    }

    // Everything posted once the gateway was ready again reaches the socket.
    let mut awaited: Vec<&Post> = posts.iter().filter(|p| p.sent >= ready_again).collect();
    assert!(!awaited.is_empty(), "posts were made after the recovery");
    let deadline = Instant::now() + DELIVERY;
    while !awaited.is_empty() {
        let (text, _) = tokio::time::timeout_at(deadline, arrivals.recv())
            .await
            .unwrap_or_else(|_| panic!("{} posts never reached the socket", awaited.len()))
            .expect("the socket stays open through the restart");
        awaited.retain(|p| p.text != text);
    }
    assert!(!listening.is_finished(), "the socket stayed open");
    shutdown.trigger();
}
