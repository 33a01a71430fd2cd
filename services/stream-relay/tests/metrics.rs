//! `/metrics` of a real relay, with auth and broadcasts-archive behind it: each number moves when
//! what it counts happens. One test, alone in its process, so no other test moves the numbers.

mod support;

use std::time::Duration;

use support::{Platform, Setup};

const FRAME: f64 = 417.0;
/// A chunk of the listener's body: `1a1\r\n`, the frame, `\r\n`.
const CHUNKED_FRAME: usize = 417 + 7;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_counts_listeners_audio_slow_listeners_and_returning_sources() {
    let mut platform = Platform::start(Setup {
        queue_bytes: 32 * 417,
        ..Setup::default()
    })
    .await;
    let metrics = test_support::metrics::scrape(platform.relay).await;
    for series in [
        "livestreamer_relay_listeners",
        "livestreamer_relay_live_broadcasts",
        "livestreamer_relay_sent_bytes_total",
        "livestreamer_relay_listeners_dropped_slow_total",
        "livestreamer_relay_source_reconnects_total",
    ] {
        assert_eq!(
            test_support::metrics::sample(&metrics, series),
            Some(0.0),
            "{series} before anything happened:\n{metrics}"
        );
    }
    let id = platform.broadcast().await;
    let mut source = platform.source(id).await;
    source.send_frames(10).await;
    platform.wait_until_live(id).await;
    platform
        .wait_for_metric("livestreamer_relay_live_broadcasts", 1.0)
        .await;

    // A listener hears the burst (8 frames) and 10 live frames, then leaves.
    let mut listener = platform.listen(id).await;
    platform
        .wait_for_metric("livestreamer_relay_listeners", 1.0)
        .await;
    source.send_frames(10).await;
    listener
        .read_at_least(18 * CHUNKED_FRAME, Duration::from_secs(10))
        .await;
    drop(listener);
    platform
        .wait_for_metric("livestreamer_relay_listeners", 0.0)
        .await;
    assert_eq!(
        platform.metric("livestreamer_relay_sent_bytes_total").await,
        18.0 * FRAME
    );

    // A listener who reads nothing while 2,000 frames go out falls 32 frames behind: dropped.
    let stalled = platform.listen(id).await;
    platform
        .wait_for_metric("livestreamer_relay_listeners", 1.0)
        .await;
    for _ in 0..20 {
        source.send_frames(100).await;
    }
    platform
        .wait_for_metric("livestreamer_relay_listeners_dropped_slow_total", 1.0)
        .await;
    platform
        .wait_for_metric("livestreamer_relay_listeners", 0.0)
        .await;
    drop(stalled);

    // The DJ's connection breaks; he is back within the grace period.
    drop(source);
    platform
        .wait_for_metric(
            r#"livestreamer_relay_sources_ended_total{how="dropped"}"#,
            1.0,
        )
        .await;
    let mut source = platform.source(id).await;
    source.send_frames(5).await;
    platform
        .wait_for_metric("livestreamer_relay_source_reconnects_total", 1.0)
        .await;

    // A second source for the same broadcast is refused.
    let second = platform.source(id).await;
    let refused = second.finish().await;
    assert!(refused.starts_with("HTTP/1.1 409"), "{refused}");
    assert_eq!(
        platform
            .metric(r#"livestreamer_relay_sources_refused_total{status="409"}"#)
            .await,
        1.0
    );

    let answer = source.finish().await;
    assert!(answer.contains(r#""resumed":true"#), "{answer}");
    platform
        .wait_for_metric("livestreamer_relay_live_broadcasts", 0.0)
        .await;
    let metrics = test_support::metrics::scrape(platform.relay).await;
    let sample = |series| test_support::metrics::sample(&metrics, series);
    assert_eq!(
        sample(r#"livestreamer_relay_sources_ended_total{how="finished"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample("livestreamer_relay_received_bytes_total"),
        Some((10 + 10 + 2_000 + 5) as f64 * FRAME)
    );
}
