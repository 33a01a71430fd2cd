//! Gateway replicas started for real (one in-process, others as child processes of the gateway
//! binary) beside the real auth, broadcasts-archive and chat: a replica killed with SIGKILL leaves its
//! sockets' presence within the expiry, and SIGTERM closes every socket with 1001 ("going away").

use std::{net::SocketAddr, process::Stdio, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use service_harness::{Services, wait_until_ready};
use service_kit::shutdown::Shutdown;
use tokio::process::{Child, Command};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream,
    tungstenite::{Message, client::IntoClientRequest},
};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Presence expiry of these replicas: short, so a dead replica's sockets leave quickly.
const EXPIRY_SECS: u64 = 2;

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The settings of a replica joining `services`, as environment variables.
fn replica_env(services: &Services, listen: SocketAddr) -> Vec<(String, String)> {
    [
        ("GATEWAY_LISTEN", listen.to_string()),
        ("GATEWAY_AUTH_URL", format!("http://{}", services.auth_addr)),
        ("GATEWAY_CHAT_URL", format!("http://{}", services.chat_addr)),
        (
            "GATEWAY_BROADCASTS_URL",
            format!("http://{}", services.broadcasts_addr),
        ),
        ("GATEWAY_REDIS_URL", test_support::redis_url()),
        ("GATEWAY_REDIS_PREFIX", services.redis_prefix.clone()),
        ("GATEWAY_AMQP_URL", test_support::amqp_url()),
        ("GATEWAY_AMQP_EXCHANGE", services.exchange.clone()),
        ("GATEWAY_PRESENCE_EXPIRY_SECS", EXPIRY_SECS.to_string()),
        ("RUST_LOG", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A replica as a child process of the real binary (killed when dropped).
async fn child_replica(services: &Services) -> (Child, SocketAddr) {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .envs(replica_env(services, addr))
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the gateway binary");
    wait_until_ready(addr).await;
    (child, addr)
}

/// A replica in this process.
async fn in_process_replica(services: &Services, shutdown: &Shutdown) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut config = gateway::Config::from_env().unwrap();
    config.auth_url = format!("http://{}", services.auth_addr);
    config.chat_url = format!("http://{}", services.chat_addr);
    config.broadcasts_url = format!("http://{}", services.broadcasts_addr);
    config.redis_url = test_support::redis_url();
    config.redis_prefix = services.redis_prefix.clone();
    config.amqp_url = test_support::amqp_url();
    config.amqp_exchange = services.exchange.clone();
    config.presence_expiry_secs = EXPIRY_SECS;
    tokio::spawn(gateway::serve_on(listener, config, shutdown.clone()));
    wait_until_ready(addr).await;
    addr
}

async fn room(addr: SocketAddr, broadcast_id: i64, session_id: Option<&str>) -> Socket {
    let mut request = format!("ws://{addr}/ws/{broadcast_id}")
        .into_client_request()
        .unwrap();
    if let Some(session_id) = session_id {
        request
            .headers_mut()
            .insert("cookie", format!("sess.sid={session_id}").parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .expect("a WebSocket")
        .0
}

/// The next frame named `event`, skipping others.
async fn next_event(socket: &mut Socket, event: &str, within: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {event} within {within:?}"))
            .expect("the socket is open")
            .expect("a frame");
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["event"] == event {
                return value["data"].clone();
            }
        }
    }
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
