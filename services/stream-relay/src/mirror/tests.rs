//! Two relay replicas in one process, sharing the real Redis of the test stack (`./dev infra up it`,
//! `eval "$(./dev env it)"`): a source on one, listeners on both, and a source taken over.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use livestreamer_proto::broadcasts::Broadcast;
use service_kit::{clock::now_ms, shutdown::Shutdown};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::{
    Config,
    channel::Listener,
    live::SourceEnd,
    ownership::{Record, Takeover},
    shard::{Framing, Joining},
};

fn config(prefix: &str) -> Config {
    Config {
        listen: String::new(),
        source_listen: String::new(),
        auth_url: "http://127.0.0.1:1".into(),
        broadcasts_url: "http://127.0.0.1:1".into(),
        amqp_url: "amqp://127.0.0.1:1".into(),
        amqp_exchange: "test".into(),
        burst_bytes: 4 * 417,
        queue_bytes: 1 << 20,
        redis_url: test_support::redis_url(),
        redis_prefix: prefix.to_owned(),
        recordings_dir: std::env::temp_dir().join(format!("relay-test-{prefix}")),
        source_grace: Duration::from_secs(10),
        fast_listeners: false,
        write_every: std::time::Duration::ZERO,
        socket_send_buffer: 64 * 1024,
    }
}

fn replica(prefix: &str) -> Arc<AppState> {
    Arc::new(AppState::new(&config(prefix), Shutdown::new()).unwrap())
}

fn frame(n: u8) -> Bytes {
    let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
    frame.resize(417, n);
    Bytes::from(frame)
}

/// Broadcast 9 of user 4 ("dj.owl"), live with its source on `state`.
async fn go_live(state: &Arc<AppState>) -> (Arc<Live>, u64) {
    let broadcast = Broadcast {
        broadcast_id: 9,
        user_id: 4,
        username: "dj.owl".into(),
        is_visible: true,
        ..Default::default()
    };
    let record = Record {
        broadcast,
        started_at_ms: now_ms(),
    };
    assert!(state.replicas.ownership.claim(&record).await.unwrap());
    let live = Arc::new(Live::replicated(
        record,
        state,
        state.replicas.clone(),
        true,
    ));
    state.registry.insert(live.clone()).unwrap();
    let generation = live.attach_source().unwrap();
    tokio::spawn(lifecycle::run(state.clone(), live.clone()));
    follow(state.clone(), live.clone()).await;
    (live, generation)
}

async fn next(listener: &mut Listener) -> Bytes {
    tokio::time::timeout(Duration::from_secs(5), listener.next())
        .await
        .expect("a frame within 5 s")
        .unwrap()
        .expect("the stream goes on")
}

#[tokio::test]
async fn a_listener_on_another_replica_hears_the_burst_then_the_live_frames() {
    let prefix = format!("{}:", test_support::unique_name());
    let (a, b) = (replica(&prefix), replica(&prefix));
    let (live, _) = go_live(&a).await;
    for n in 0..6 {
        live.publish(&[frame(n)]);
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // the outbox reaches Redis

    let target = Target::User("DJ.owl".into());
    let mirror = find(&b, &target).await.expect("mirrored from replica a");
    assert!(!mirror.is_owner());
    let mut listener = mirror.channel.subscribe(CancellationToken::new()).unwrap();
    for n in 2..6 {
        assert_eq!(
            next(&mut listener).await,
            frame(n),
            "the burst: 4 frames fit"
        );
    }
    live.publish(&[frame(6)]);
    assert_eq!(next(&mut listener).await, frame(6), "then live, once");
    assert!(
        Arc::ptr_eq(&find(&b, &Target::Broadcast(9)).await.unwrap(), &mirror),
        "one mirror per replica"
    );

    live.end();
    let ended = tokio::time::timeout(Duration::from_secs(5), listener.next()).await;
    assert_eq!(ended.unwrap(), Ok(None), "the owner's end ends the mirror");
}

#[tokio::test]
async fn a_dropped_source_taken_over_on_another_replica_goes_on_for_every_listener() {
    let prefix = format!("{}:", test_support::unique_name());
    let (a, b) = (replica(&prefix), replica(&prefix));
    let (live, generation) = go_live(&a).await;
    let mut on_a = live.channel.subscribe(CancellationToken::new()).unwrap();
    live.publish(&[frame(1)]);
    assert_eq!(next(&mut on_a).await, frame(1));
    let ownership = &b.replicas.ownership;
    assert_eq!(
        ownership.take_over(9, 4).await.unwrap(),
        Takeover::Busy,
        "a second source while the first streams"
    );

    live.detach_source(generation, SourceEnd::Dropped);
    live.settled().await;
    assert_eq!(
        ownership.take_over(9, 5).await.unwrap(),
        Takeover::Absent,
        "another user's"
    );
    let Takeover::Taken { next_seq } = ownership.take_over(9, 4).await.unwrap() else {
        panic!("the same user takes his dropped source over");
    };
    assert_eq!(next_seq, 1, "the numbering goes on");
    let taken = open(&b, 9).await.unwrap();
    taken.take_over(next_seq);
    taken.attach_source().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await; // replica a hears of the takeover
    assert!(!live.is_owner(), "replica a mirrors replica b now");

    taken.publish(&[frame(2)]);
    assert_eq!(
        next(&mut on_a).await,
        frame(2),
        "a's listener hears b's source"
    );
    assert_eq!(
        a.replicas.ownership.take_over(9, 4).await.unwrap(),
        Takeover::Busy,
        "b's source streams: nobody else may take it"
    );
    taken.end();
    let ended = tokio::time::timeout(Duration::from_secs(5), on_a.next()).await;
    assert_eq!(
        ended.unwrap(),
        Ok(None),
        "the new owner's end ends a's listeners"
    );
}

/// A source's read reaches a replica's listeners in one write: the owner queues and sends its
/// frames together, and the mirror publishes what arrived together. Otherwise the first frame
/// would go out alone and the rest a `write_every` later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_of_the_source_reaches_a_replicas_listener_in_one_write() {
    const EVERY: Duration = Duration::from_millis(400);
    const READS: u8 = 10;
    const FRAMES_PER_READ: u8 = 12;
    let prefix = format!("{}:", test_support::unique_name());
    let (a, b) = (replica(&prefix), replica(&prefix));
    let (live, _) = go_live(&a).await;
    live.publish(&[frame(0)]);
    tokio::time::sleep(Duration::from_millis(200)).await; // the outbox reaches Redis
    let mirror = find(&b, &Target::Broadcast(9))
        .await
        .expect("mirrored from replica a");
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut client = tokio::net::TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    let (socket, _) = server.accept().unwrap();
    socket.set_nonblocking(true).unwrap();
    let joining = Joining {
        socket,
        framing: Framing::CloseDelimited,
    };
    assert!(mirror.channel.join_fast(joining, EVERY).is_ok());
    let mut burst = vec![0; 417];
    client.read_exact(&mut burst).await.unwrap();
    assert_eq!(burst, frame(0), "the burst");

    for read in 0..READS {
        // the write loop's next write is due at once
        tokio::time::sleep(EVERY + Duration::from_millis(20)).await;
        let first = 1 + read * FRAMES_PER_READ;
        let frames: Vec<Bytes> = (first..first + FRAMES_PER_READ).map(frame).collect();
        live.publish(&frames);
        let mut got = vec![0; frames.len() * 417];
        tokio::time::timeout(EVERY / 2, client.read_exact(&mut got))
            .await
            .unwrap_or_else(|_| panic!("read {read}: part of it waited for the next write"))
            .unwrap();
        assert!(got == frames.concat(), "read {read}: its frames, in order");
    }
}
