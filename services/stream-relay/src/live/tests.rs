use super::*;

fn live(grace: Duration) -> Arc<Live> {
    let broadcast = Broadcast {
        broadcast_id: 3,
        username: "dj".into(),
        ..Default::default()
    };
    let limits = Limits {
        burst_bytes: 0,
        queue_bytes: 1 << 20,
    };
    Arc::new(Live::new(
        broadcast,
        limits,
        Path::new("/proc/not-recorded"),
        grace,
    ))
}

#[tokio::test]
async fn one_source_at_a_time() {
    let live = live(Duration::from_secs(10));
    let first = live.attach_source().unwrap();
    assert!(live.attach_source().is_none(), "a second source is refused");
    live.detach_source(first, SourceEnd::Dropped);
    assert!(live.attach_source().is_some(), "after a drop it may return");
}

#[tokio::test(start_paused = true)]
async fn a_dropped_source_ends_the_broadcast_only_after_the_grace_period() {
    let live = live(Duration::from_secs(10));
    let first = live.attach_source().unwrap();
    live.detach_source(first, SourceEnd::Dropped);
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert!(!live.ending.is_cancelled(), "still waiting");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(live.ending.is_cancelled(), "ended after 10 s");
    assert!(live.attach_source().is_none(), "too late to return");
}

#[tokio::test(start_paused = true)]
async fn a_source_that_returns_in_time_keeps_the_broadcast() {
    let live = live(Duration::from_secs(10));
    let first = live.attach_source().unwrap();
    live.detach_source(first, SourceEnd::Dropped);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let second = live.attach_source().unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(!live.ending.is_cancelled(), "the old timer does not end it");
    live.detach_source(first, SourceEnd::Finished);
    assert!(
        !live.ending.is_cancelled(),
        "a stale generation changes nothing"
    );
    live.detach_source(second, SourceEnd::Finished);
    assert!(
        live.ending.is_cancelled(),
        "a finished source ends it at once"
    );
}
