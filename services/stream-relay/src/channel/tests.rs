use super::*;
use livestreamer_mp3::FrameHeader;

/// A 128 kbit/s frame (418 bytes with padding) whose payload is `n`, so frames can be told apart.
pub(crate) fn frame(n: u8) -> Bytes {
    let mut frame = vec![0xFF, 0xFB, 0x92, 0x64];
    frame.resize(418, n);
    Bytes::from(frame)
}

pub(crate) fn channel(burst_bytes: usize, queue_bytes: usize) -> Arc<LiveChannel> {
    let broadcast = Broadcast {
        broadcast_id: 7,
        username: "DJ.Owl".into(),
        ..Default::default()
    };
    LiveChannel::new(
        broadcast,
        1_000,
        Limits {
            burst_bytes,
            queue_bytes,
        },
    )
}

/// Everything a listener receives until the end (or a lag).
async fn drain(listener: &mut Listener) -> Result<Vec<Bytes>, Lagged> {
    let mut frames = Vec::new();
    while let Some(frame) = listener.next().await? {
        frames.push(frame);
    }
    Ok(frames)
}

#[tokio::test]
async fn the_burst_is_the_latest_whole_frames_within_burst_bytes() {
    let channel = channel(10_000, 1 << 20);
    for n in 0..100 {
        channel.publish(frame(n));
    }
    let mut listener = channel.subscribe(CancellationToken::new()).unwrap();
    channel.close();
    let burst = drain(&mut listener).await.unwrap();
    let bytes: usize = burst.iter().map(Bytes::len).sum();
    assert!(bytes <= 10_000 && bytes > 10_000 - 418, "{bytes} bytes");
    assert!(
        burst.iter().all(|f| FrameHeader::parse(f).is_some()),
        "every frame starts on a header"
    );
    let payloads: Vec<u8> = burst.iter().map(|f| f[4]).collect();
    assert_eq!(
        payloads,
        (77..100).collect::<Vec<u8>>(),
        "the most recent 23 frames, in order"
    );
}

#[tokio::test]
async fn a_listener_gets_the_burst_then_every_live_frame_once() {
    let channel = channel(3 * 418, 1 << 20);
    for n in 0..10 {
        channel.publish(frame(n));
    }
    let mut listener = channel.subscribe(CancellationToken::new()).unwrap();
    for n in 10..20 {
        channel.publish(frame(n));
    }
    channel.close();
    let payloads: Vec<u8> = drain(&mut listener)
        .await
        .unwrap()
        .iter()
        .map(|f| f[4])
        .collect();
    assert_eq!(payloads, (7..20).collect::<Vec<u8>>());
}

#[tokio::test]
async fn two_listeners_receive_identical_bytes() {
    let channel = channel(2 * 418, 1 << 20);
    channel.publish(frame(0));
    let mut first = channel.subscribe(CancellationToken::new()).unwrap();
    let mut second = channel.subscribe(CancellationToken::new()).unwrap();
    let source = {
        let channel = channel.clone();
        tokio::spawn(async move {
            for n in 1..=50 {
                channel.publish(frame(n));
                tokio::task::yield_now().await;
            }
            channel.close();
        })
    };
    let (a, b) = tokio::join!(drain(&mut first), drain(&mut second));
    source.await.unwrap();
    let (a, b) = (a.unwrap().concat(), b.unwrap().concat());
    assert_eq!(a.len(), 51 * 418);
    assert_eq!(a, b);
}

#[tokio::test]
async fn a_lagging_listener_is_dropped_while_a_fast_one_continues() {
    let channel = channel(0, 8 * 418);
    let mut fast = channel.subscribe(CancellationToken::new()).unwrap();
    let mut slow = channel.subscribe(CancellationToken::new()).unwrap();
    for n in 0..40 {
        channel.publish(frame(n));
        assert_eq!(
            fast.next().await.unwrap().map(|f| f[4]),
            Some(n),
            "the fast listener keeps up"
        );
    }
    let lag = slow.next().await.unwrap_err();
    assert!(lag.0 > 8 * 418, "{lag}");
    channel.publish(frame(40));
    channel.close();
    assert_eq!(
        drain(&mut fast).await.unwrap().len(),
        1,
        "the fast one still gets the live frames"
    );
}

#[tokio::test]
async fn a_listener_slightly_behind_is_kept() {
    let channel = channel(0, 8 * 418);
    let mut listener = channel.subscribe(CancellationToken::new()).unwrap();
    for n in 0..8 {
        channel.publish(frame(n));
    }
    channel.close();
    assert_eq!(drain(&mut listener).await.unwrap().len(), 8);
}

#[tokio::test(start_paused = true)]
async fn the_watcher_closes_the_connection_of_a_listener_who_stopped_reading() {
    let channel = channel(0, 8 * 418);
    tokio::spawn(channel.clone().watch_listeners());
    let (stalled_conn, reading_conn) = (CancellationToken::new(), CancellationToken::new());
    let _stalled = channel.subscribe(stalled_conn.clone()).unwrap();
    let mut reading = channel.subscribe(reading_conn.clone()).unwrap();
    for n in 0..20 {
        channel.publish(frame(n));
        reading.next().await.unwrap();
        tokio::time::sleep(Duration::from_millis(26)).await;
    }
    tokio::time::sleep(WATCH_EVERY * 2).await;
    assert!(
        stalled_conn.is_cancelled(),
        "the stalled listener's connection is closed"
    );
    assert!(!reading_conn.is_cancelled(), "the reading listener stays");
}

#[tokio::test(start_paused = true)]
async fn after_the_end_only_listeners_who_never_finish_are_cut() {
    let channel = channel(418, 1 << 20);
    let watcher = tokio::spawn(channel.clone().watch_listeners());
    let (stalled_conn, finished_conn) = (CancellationToken::new(), CancellationToken::new());
    let _stalled = channel.subscribe(stalled_conn.clone()).unwrap();
    let mut finished = channel.subscribe(finished_conn.clone()).unwrap();
    channel.publish(frame(1));
    channel.close();
    assert!(
        channel.subscribe(CancellationToken::new()).is_none(),
        "no one joins an ended stream"
    );
    drain(&mut finished).await.unwrap();
    drop(finished);
    tokio::time::sleep(END_GRACE / 2).await;
    assert!(!stalled_conn.is_cancelled(), "a grace period first");
    watcher.await.unwrap();
    assert!(stalled_conn.is_cancelled());
    assert!(!finished_conn.is_cancelled());
}

#[tokio::test]
async fn counts_listeners_and_their_peak() {
    let channel = channel(0, 1 << 20);
    let listeners: Vec<_> = (0..3)
        .map(|_| channel.subscribe(CancellationToken::new()).unwrap())
        .collect();
    assert_eq!((channel.listener_count(), channel.listener_peak()), (3, 3));
    drop(listeners);
    let _one = channel.subscribe(CancellationToken::new()).unwrap();
    assert_eq!((channel.listener_count(), channel.listener_peak()), (1, 3));
}
