//! The room list a newcomer is sent, against a real gateway (in this process) beside the real auth,
//! broadcasts-archive and chat: in a room big enough for a list of several KB (a frame with a 16-bit
//! length, written by the gateway's own frame writer), the list reaches a WebSocket client whole,
//! naming everyone. And a request that is not a WebSocket upgrade gets the API's error envelope.

mod support;

use std::time::Duration;

use serde_json::Value;
use service_harness::Services;
use service_kit::shutdown::Shutdown;
use support::{next_event, room};

/// Guests already in the room: ~85 bytes each in the list, so the list is over 2 KiB.
const GUESTS: usize = 30;
const WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_newcomer_gets_the_whole_list_of_a_big_room() {
    let mut services = Services::start(100).await;
    let dj = services.user("listdj").await;
    let broadcast = services.broadcast(&dj.token).await;
    let shutdown = Shutdown::new();
    let gateway = support::in_process(support::config(&services), &shutdown).await;

    let mut guests = Vec::new();
    for _ in 0..GUESTS {
        let mut guest = room(gateway, broadcast, None).await;
        next_event(&mut guest, "chat:client_list", WITHIN).await;
        guests.push(guest);
    }

    // To a client: one message, everyone in it (the guests and the newcomer itself).
    let mut newcomer = room(gateway, broadcast, Some(&dj.session_id)).await;
    let list = next_event(&mut newcomer, "chat:client_list", WITHIN).await;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), GUESTS + 1);
    assert_eq!(list[0]["username"], "listdj", "the newcomer first");
    assert!(
        list[1..]
            .iter()
            .all(|client| client["username"] == Value::Null)
    );
    shutdown.trigger();
}

#[tokio::test]
async fn a_plain_request_on_the_websocket_path_is_refused_with_the_api_s_envelope() {
    let services = Services::start(100).await;
    let shutdown = Shutdown::new();
    let gateway = support::in_process(support::config(&services), &shutdown).await;

    // Refused before the broadcast is looked up: any id will do.
    let response = reqwest::get(format!("http://{gateway}/ws/1"))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["statusText"], "BadRequest");
    shutdown.trigger();
}
