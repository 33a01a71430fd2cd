//! A source that sends one byte per second over a real connection: it never completes a frame, so
//! after `SOURCE_STARVED_AFTER` the relay answers it 408 and counts it, while the broadcast's listener
//! stays connected through the grace period and hears the DJ again when he comes back properly.

mod support;

use std::time::{Duration, Instant};

use stream_relay::source::SOURCE_STARVED_AFTER;
use support::{Ear, Platform, Setup};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_trickling_a_byte_a_second_is_answered_408_and_the_listener_stays() {
    let mut platform = Platform::start(Setup::default()).await;
    let id = platform.broadcast().await;
    let mut source = platform.source(id).await;
    source.send_frames(8).await;
    platform.wait_until_live(id).await;
    let ear = Ear::start(platform.listen(id).await);

    let started = Instant::now();
    let mut answer = vec![0; 4096];
    let answered = loop {
        // One byte of the next frame per second, each as a chunk of its own.
        tokio::select! {
            read = source.stream.read(&mut answer) => break read.unwrap(),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {
                if source.stream.write_all(b"1\r\n\xFF\r\n").await.is_err() {
                    break source.stream.read(&mut answer).await.unwrap_or(0);
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no answer in 30 s"
        );
    };
    let waited = started.elapsed();
    let answer = String::from_utf8_lossy(&answer[..answered]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("too slow to be live"), "{answer}");
    assert!(
        waited >= SOURCE_STARVED_AFTER - Duration::from_secs(1)
            && waited < SOURCE_STARVED_AFTER + Duration::from_secs(5),
        "answered after {waited:?}"
    );
    platform
        .wait_for_metric(
            r#"livestreamer_relay_sources_ended_total{how="starved"}"#,
            1.0,
        )
        .await;

    assert!(
        ear.is_listening(),
        "the listener waits through the grace period"
    );
    let heard = ear.heard();
    let mut back = platform.source(id).await;
    back.send_frames(8).await;
    let again = heard + 8 * 417;
    let deadline = Instant::now() + Duration::from_secs(10);
    while ear.heard() < again {
        if Instant::now() >= deadline {
            // Say why: a refusal of the returning source, or a listener who heard nothing of it.
            let early = back.answered(Duration::from_secs(1)).await;
            panic!(
                "the listener heard {} of the {} bytes sent after the source came back \
                 (listening: {}); the relay's answer to the source so far: {early:?}",
                ear.heard() - heard,
                again - heard,
                ear.is_listening()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = back.finish().await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains(r#""resumed":true"#), "{answer}");
}
