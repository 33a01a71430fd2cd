//! Gateway replicas started for real (one in-process, others as child processes of the gateway
//! binary) beside the real auth, broadcasts-archive and chat: a replica killed with SIGKILL leaves its
//! sockets' presence within the expiry, and SIGTERM closes every socket with 1001 ("going away").

mod support;

use std::{net::SocketAddr, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use service_harness::Services;
use service_kit::shutdown::Shutdown;
use support::{Socket, next_event, room};
use tokio::process::Child;
use tokio_tungstenite::tungstenite::Message;

/// Presence expiry of these replicas: short, so a dead replica's sockets leave quickly.
const EXPIRY_SECS: u64 = 2;

/// A replica as a child process of the real binary (killed when dropped).
async fn child_replica(services: &Services) -> (Child, SocketAddr) {
    let expiry = EXPIRY_SECS.to_string();
    support::child(services, &[("GATEWAY_PRESENCE_EXPIRY_SECS", &expiry)]).await
}

/// A replica in this process.
async fn in_process_replica(services: &Services, shutdown: &Shutdown) -> SocketAddr {
    let mut config = support::config(services);
    config.presence_expiry_secs = EXPIRY_SECS;
    support::in_process(config, shutdown).await
}

#[tokio::test]
async fn a_killed_replica_s_sockets_leave_the_room_within_the_expiry() {
    let mut services = Services::start(100).await;
    let dj = services.user("ghostdj").await;
    let broadcast = services.broadcast(&dj.token).await;
    let shutdown = Shutdown::new();
    let survivor = in_process_replica(&services, &shutdown).await;
    let (mut doomed, doomed_addr) = child_replica(&services).await;

    let mut watcher = room(survivor, broadcast, Some(&dj.session_id)).await;
    next_event(&mut watcher, "chat:client_list", Duration::from_secs(5)).await;
    let _guest = room(doomed_addr, broadcast, None).await;
    let guest = next_event(&mut watcher, "chat:new_client", Duration::from_secs(5)).await;
    assert_eq!(
        next_event(&mut watcher, "chat:client_count", Duration::from_secs(5)).await["count"],
        2
    );

    doomed.start_kill().unwrap();
    doomed.wait().await.unwrap();
    // Gone within the expiry plus one refresh of the survivor (and scheduling slack).
    let gone = next_event(
        &mut watcher,
        "chat:deleted_client",
        Duration::from_secs(3 * EXPIRY_SECS + 2),
    )
    .await;
    assert_eq!(gone["uuid"], guest["uuid"]);
    assert_eq!(
        next_event(&mut watcher, "chat:client_count", Duration::from_secs(2)).await["count"],
        1
    );
    shutdown.trigger();
}

#[tokio::test]
async fn sigterm_closes_every_socket_with_going_away() {
    let mut services = Services::start(100).await;
    let dj = services.user("termdj").await;
    let broadcast = services.broadcast(&dj.token).await;
    let (mut replica, addr) = child_replica(&services).await;
    let mut sockets = vec![
        room(addr, broadcast, Some(&dj.session_id)).await,
        room(addr, broadcast, None).await,
    ];

    let pid = replica.id().expect("a running child");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    for socket in &mut sockets {
        let close = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(frame)) = socket.next().await {
                if let Message::Close(close) = frame {
                    return close.map(|c| u16::from(c.code));
                }
            }
            None
        })
        .await
        .expect("the socket is closed within 10 s");
        assert_eq!(close, Some(1001));
    }
    let status = tokio::time::timeout(Duration::from_secs(10), replica.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "the replica exits cleanly on SIGTERM: {status}"
    );
}

#[tokio::test]
async fn a_storm_of_joins_costs_each_socket_a_few_frames_and_drops_nobody() {
    const STORM: usize = 400;
    let mut services = Services::start(100).await;
    let dj = services.user("stormdj").await;
    let broadcast = services.broadcast(&dj.token).await;
    let shutdown = Shutdown::new();
    let replica = in_process_replica(&services, &shutdown).await;

    let mut first = room(replica, broadcast, Some(&dj.session_id)).await;
    next_event(&mut first, "chat:client_list", Duration::from_secs(5)).await;
    let joins = (0..STORM).map(|_| room(replica, broadcast, None));
    let mut storm: Vec<Socket> = futures_util::future::join_all(joins).await;

    // The first socket learns the final count without being flooded with one frame per join.
    let (mut frames, mut count) = (0, 0);
    while count != STORM as i64 + 1 {
        let frame = tokio::time::timeout(Duration::from_secs(15), first.next())
            .await
            .expect("presence settles within 15 s")
            .expect("the first socket stays open")
            .expect("a frame");
        frames += 1;
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["event"] == "chat:client_count" {
                count = value["data"]["count"].as_i64().unwrap();
            }
        }
    }
    // One by one, the joins would cost 2 frames each (new_client and client_count).
    assert!(frames < STORM, "{frames} frames for {STORM} joins");
    // Every socket of the storm is still open and answers.
    for socket in &mut storm {
        socket
            .send(Message::Ping(Default::default()))
            .await
            .expect("an open socket");
    }
    shutdown.trigger();
}
