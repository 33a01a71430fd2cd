//! Faults on the relay's links while a broadcast is live: Redis and RabbitMQ go away mid-stream
//! (a TCP proxy between the relay and the server, cut and restored). Listeners keep hearing audio
//! without a gap, and the relay recovers by itself: listener counts reach Redis again, and the end
//! of the broadcast still reaches RabbitMQ.

mod support;

use std::time::Duration;

use deadpool_redis::redis::{self, AsyncCommands};
use livestreamer_proto::events::{StreamEnded, routing};
use prost::Message;
use support::{Ear, Platform, Setup, address_of, wait_for};
use test_support::{EventTap, tcp_proxy::TcpProxy};

/// No silence this long while a link is down: the relay never waits on Redis or RabbitMQ to send.
const MAX_GAP: Duration = Duration::from_millis(1_000);
const OUTAGE: Duration = Duration::from_secs(4);

/// This replica's listener counts of `broadcast_id` as Redis holds them (0 when none).
async fn listeners_in_redis(prefix: &str, broadcast_id: i64) -> u64 {
    let client = redis::Client::open(test_support::redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}relay:audience:{broadcast_id}:counts");
    let counts: Vec<u64> = redis.hvals(&key).await.unwrap();
    counts.iter().sum()
}

async fn delete_counts(prefix: &str, broadcast_id: i64) {
    let client = redis::Client::open(test_support::redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}relay:audience:{broadcast_id}:counts");
    let _: () = redis.del(&key).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_mid_stream_is_not_heard_and_the_counts_come_back() {
    let mut redis = TcpProxy::start(address_of(&test_support::redis_url()).await)
        .await
        .unwrap();
    let mut platform = Platform::start(Setup {
        redis_url: format!("redis://{}/", redis.addr()),
        ..Setup::default()
    })
    .await;
    let prefix = platform.services.redis_prefix.clone();
    let (id, streaming) = platform.streaming_broadcast(4).await;
    let ear = Ear::start(platform.listen(id).await);
    let relay_counts = || listeners_in_redis(&prefix, id);
    wait_for(
        "the listener counted in Redis",
        Duration::from_secs(10),
        || async { relay_counts().await == 1 },
    )
    .await;

    redis.cut().await;
    delete_counts(&prefix, id).await; // what the relay writes after the outage shows it recovered
    let heard_before = ear.heard();
    tokio::time::sleep(OUTAGE).await;
    assert!(
        ear.heard() > heard_before + 30 * 417,
        "the listener hears audio while Redis is away"
    );
    redis.restore().await.unwrap();
    wait_for(
        "the count back in Redis",
        Duration::from_secs(15),
        || async { relay_counts().await == 1 },
    )
    .await;

    assert!(ear.is_listening());
    assert!(ear.longest_gap() < MAX_GAP, "{:?}", ear.longest_gap());
    let answer = streaming.stop().await.finish().await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rabbitmq_going_away_mid_stream_is_not_heard_and_the_end_is_still_announced() {
    let mut broker = TcpProxy::start(address_of(&test_support::amqp_url()).await)
        .await
        .unwrap();
    let amqp_url = test_support::amqp_url().replacen(
        &address_of(&test_support::amqp_url())
            .await
            .port()
            .to_string(),
        &broker.addr().port().to_string(),
        1,
    );
    let mut platform = Platform::start(Setup {
        amqp_url,
        ..Setup::default()
    })
    .await;
    let mut ended = EventTap::bind(&platform.services.exchange, routing::STREAM_ENDED).await;
    let (id, streaming) = platform.streaming_broadcast(4).await;
    let ear = Ear::start(platform.listen(id).await);

    broker.cut().await;
    let heard_before = ear.heard();
    tokio::time::sleep(OUTAGE).await;
    assert!(
        ear.heard() > heard_before + 30 * 417,
        "the listener hears audio while RabbitMQ is away"
    );
    broker.restore().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(ear.is_listening());
    assert!(ear.longest_gap() < MAX_GAP, "{:?}", ear.longest_gap());

    let answer = streaming.stop().await.finish().await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (key, payload) = ended.next().await;
    assert_eq!(key, routing::STREAM_ENDED);
    let event = StreamEnded::decode(payload.as_slice()).unwrap();
    assert_eq!(event.broadcast_id, id);
    assert!(event.bytes_received > 0);
}
