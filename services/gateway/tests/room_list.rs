//! The room list a newcomer is sent, against a real gateway (in this process) beside the real auth,
//! broadcasts-archive and chat: in a room big enough for a list of several KB, the list reaches a
//! WebSocket client whole, naming everyone, though on the wire it goes as a message in fragments of at
//! most 1 KiB (what keeps an idle socket's write buffer small). And a request that is not a WebSocket
//! upgrade gets the API's error envelope.

mod support;

use std::time::Duration;

use serde_json::Value;
use service_harness::Services;
use service_kit::shutdown::Shutdown;
use support::{next_event, raw_room, room};
use tokio::{io::AsyncReadExt, net::TcpStream};

/// Guests already in the room: ~85 bytes each in the list, so the list is over 2 KiB.
const GUESTS: usize = 30;
const WITHIN: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_newcomer_gets_the_whole_list_sent_in_small_fragments() {
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

    // On the wire: the list is the first frame that is not a whole message (a count may come first).
    let mut raw = raw_room(gateway, broadcast, None).await.expect("upgraded");
    let (opcode, length) = loop {
        let (fin, opcode, length) = tokio::time::timeout(WITHIN, frame_header(&mut raw))
            .await
            .expect("a frame in time");
        if !fin {
            break (opcode, length);
        }
        let mut payload = vec![0; length];
        raw.read_exact(&mut payload).await.unwrap();
    };
    assert_eq!(opcode, 1, "a text message's first fragment");
    assert!(length <= 1024, "a fragment of {length} bytes");

    // To a client: one message, everyone in it (the guests, the raw socket, the newcomer itself).
    let mut newcomer = room(gateway, broadcast, Some(&dj.session_id)).await;
    let list = next_event(&mut newcomer, "chat:client_list", WITHIN).await;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), GUESTS + 2);
    assert_eq!(list[0]["username"], "listdj", "the newcomer first");
    assert!(
        list[1..]
            .iter()
            .all(|client| client["username"] == Value::Null)
    );
    shutdown.trigger();
}

/// An unmasked server frame's FIN bit, opcode and payload length.
async fn frame_header(raw: &mut TcpStream) -> (bool, u8, usize) {
    let mut head = [0u8; 2];
    raw.read_exact(&mut head).await.unwrap();
    let length = match head[1] & 0x7f {
        126 => usize::from(raw.read_u16().await.unwrap()),
        127 => raw.read_u64().await.unwrap() as usize,
        short => usize::from(short),
    };
    (head[0] & 0x80 != 0, head[0] & 0x0f, length)
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
