//! Ten thousand listeners who connect and vanish (some before their request is complete, some after
//! a little audio) while one listens steadily: afterwards the relay counts only the steady one (on
//! `/metrics` and in Redis), holds no more file descriptors than before, and the steady listener
//! heard the stream without a gap. Alone in its process, for the metrics and the descriptor count.

mod support;

use std::{net::SocketAddr, time::Duration};

use deadpool_redis::redis::{self, AsyncCommands};
use support::{Ear, Platform, Setup, wait_for};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinSet,
};

const LISTENERS: usize = 10_000;
/// Connections open at once: each is two descriptors in this process (the test's and the relay's),
/// and the process may hold 20,000.
const BATCH: usize = 500;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// One listener who comes and goes; how depends on `n`.
async fn come_and_go(relay: SocketAddr, broadcast_id: i64, n: usize) {
    let Ok(mut stream) = TcpStream::connect(relay).await else {
        panic!("the relay refused connection {n}");
    };
    let request =
        format!("GET /api/v1/broadcasts/{broadcast_id}/stream HTTP/1.1\r\nHost: relay\r\n\r\n");
    match n % 4 {
        0 => {} // connects and leaves without a word
        1 => {
            // half a request head
            let _ = stream.write_all(&request.as_bytes()[..20]).await;
        }
        2 => {
            // the request, then gone before the answer
            let _ = stream.write_all(request.as_bytes()).await;
        }
        _ => {
            // the request, the head and a little audio
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut buffer = [0; 2048];
            let mut read = 0;
            while read < buffer.len() {
                match stream.read(&mut buffer[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => read += k,
                }
            }
            assert!(
                buffer.starts_with(b"HTTP/1.1 200"),
                "listener {n}: {}",
                String::from_utf8_lossy(&buffer[..read.min(200)])
            );
        }
    }
}

async fn listeners_in_redis(prefix: &str, broadcast_id: i64) -> u64 {
    let client = redis::Client::open(test_support::redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}relay:audience:{broadcast_id}:counts");
    let counts: Vec<u64> = redis.hvals(&key).await.unwrap();
    counts.iter().sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_listeners_come_and_go_and_leave_nothing_behind() {
    let mut platform = Platform::start(Setup::default()).await;
    let prefix = platform.services.redis_prefix.clone();
    let (id, streaming) = platform.streaming_broadcast(8).await;
    let steady = Ear::start(platform.listen(id).await);
    platform
        .wait_for_metric("livestreamer_relay_listeners", 1.0)
        .await;
    let fds_before = open_fds();

    let started = std::time::Instant::now();
    for batch in 0..LISTENERS / BATCH {
        let mut listeners = JoinSet::new();
        for n in batch * BATCH..(batch + 1) * BATCH {
            listeners.spawn(come_and_go(platform.relay, id, n));
        }
        while let Some(done) = listeners.join_next().await {
            done.expect("a listener's task");
        }
    }
    let churn = started.elapsed();

    platform
        .wait_for_metric("livestreamer_relay_listeners", 1.0)
        .await;
    wait_for(
        "only the steady listener in Redis",
        Duration::from_secs(10),
        || async { listeners_in_redis(&prefix, id).await == 1 },
    )
    .await;
    wait_for(
        "the relay to close the vanished listeners' sockets",
        Duration::from_secs(40), // a half-sent head is dropped after the relay's 30 s header timeout
        || async { open_fds() <= fds_before + 8 },
    )
    .await;
    assert_eq!(
        platform
            .metric("livestreamer_relay_listeners_dropped_slow_total")
            .await,
        0.0,
        "a listener who left is not a slow listener"
    );
    assert!(
        steady.is_listening(),
        "the steady listener is still connected"
    );
    assert!(
        steady.longest_gap() < Duration::from_secs(1),
        "the steady listener's longest silence: {:?}",
        steady.longest_gap()
    );
    println!(
        "{LISTENERS} listeners came and went in {churn:?}; descriptors {fds_before} before, \
         {} after; steady listener's longest silence {:?}",
        open_fds(),
        steady.longest_gap()
    );
    let answer = streaming.stop().await.finish().await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
