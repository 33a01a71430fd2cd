//! A deleted broadcast takes its recording with it (`broadcast.deleted`), but never while the
//! relay is still writing it.

mod support;

use std::time::Duration;

use livestreamer_proto::{
    broadcasts::DeleteBroadcastRequest,
    events::{BroadcastDeleted, routing},
};
use service_harness::with_token;
use service_kit::amqp::{EventBus, EventPublisher};
use support::{Platform, Setup, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_ended_broadcast_deletes_its_recording() {
    let mut platform = Platform::start(Setup::default()).await;
    let id = platform.broadcast().await;
    let mut source = platform.source(id).await;
    source.send_frames(20).await;
    platform.wait_until_live(id).await;
    let answer = source.finish().await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let recording = platform.recordings.join(format!("{id}.mp3"));
    wait_for("the recording", Duration::from_secs(10), || async {
        std::fs::metadata(&recording).is_ok_and(|m| m.len() == 20 * 417)
    })
    .await;

    // broadcasts-archive refuses while it still thinks the broadcast live (until stream.ended).
    let token = platform.dj.token.clone();
    let broadcasts = platform.services.broadcasts.clone();
    wait_for("the broadcast deleted", Duration::from_secs(10), || {
        let mut broadcasts = broadcasts.clone();
        let request = with_token(&token, DeleteBroadcastRequest { broadcast_id: id });
        async move { broadcasts.delete_broadcast(request).await.is_ok() }
    })
    .await;
    wait_for("the recording deleted", Duration::from_secs(10), || async {
        !recording.exists()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_heard_while_live_waits_for_the_end() {
    let mut platform = Platform::start(Setup::default()).await;
    let id = platform.broadcast().await;
    let mut source = platform.source(id).await;
    source.send_frames(20).await;
    platform.wait_until_live(id).await;
    let recording = platform.recordings.join(format!("{id}.mp3"));
    wait_for("the recording", Duration::from_secs(10), || async {
        recording.exists()
    })
    .await;

    let bus = EventBus::new(test_support::amqp_url(), platform.services.exchange.clone());
    let deleted = BroadcastDeleted {
        broadcast_id: id,
        user_id: 0,
        recording_url: String::new(),
    };
    EventPublisher::new(bus)
        .publish(routing::BROADCAST_DELETED, &deleted)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    source.send_frames(5).await;
    assert!(recording.exists(), "deleted while it was being written");

    let answer = source.finish().await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    wait_for("the recording deleted", Duration::from_secs(15), || async {
        !recording.exists()
    })
    .await;
}
