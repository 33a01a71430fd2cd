//! `GET /ws/{broadcastId}`: the room of a broadcast over WebSocket.

pub mod events;
mod frames;
pub mod hub;
mod outbox;
pub mod presence;
mod socket;
mod upgrade;

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use livestreamer_proto::broadcasts::GetBroadcastRequest;
use serde_json::json;
use service_kit::shutdown::Shutdown;
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::{
    AppState, csrf,
    error::ApiError,
    routes::parse_id,
    session::{self, MaybeSignedIn},
    views::BroadcastView,
};
use hub::{Client, Hub, frame};
use outbox::Outbox;
use presence::Presence;
use socket::Socket;
use upgrade::Upgrade;

/// What a socket's task keeps for the socket's whole life. Not the whole `AppState`: its clone (gRPC
/// clients, the publisher's strings) was about 1 KiB per idle socket.
struct Rooms {
    hub: Arc<Hub>,
    presence: Arc<Presence>,
    shutdown: Shutdown,
}

pub async fn upgrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    caller: MaybeSignedIn,
    upgrade: Upgrade,
) -> Result<Response, ApiError> {
    let room = parse_id(&id, "broadcast id")?;
    if headers.contains_key("origin") && !csrf::same_site(&headers, &state.config.public_url) {
        return Err(ApiError::forbidden("WebSocket from another site refused"));
    }
    let broadcast = state
        .broadcasts
        .clone()
        .get_broadcast(caller.request(GetBroadcastRequest { broadcast_id: room }))
        .await?
        .into_inner();
    let stream_state = if broadcast.is_live {
        json!({ "isStreaming": true, "broadcast": BroadcastView::from(broadcast) })
    } else {
        json!({ "isStreaming": false })
    };
    let (client, origin) = match caller.0 {
        Some(signed_in) => (
            Client {
                uuid: uuid::Uuid::new_v4().to_string(),
                user_id: Some(signed_in.user.user_id),
                username: Some(signed_in.user.username.clone()),
                profile_picture_url: Some(signed_in.user.profile_picture_url.clone())
                    .filter(|u| !u.is_empty()),
            },
            Some(session::origin_of(&signed_in.session_id)),
        ),
        None => (
            Client {
                uuid: uuid::Uuid::new_v4().to_string(),
                user_id: None,
                username: None,
                profile_picture_url: None,
            },
            None,
        ),
    };
    let stream_state = frame("stream:state", stream_state);
    let rooms = Rooms {
        hub: state.hub,
        presence: state.presence,
        shutdown: state.shutdown,
    };
    let max_backlog = state.config.ws_send_queue;
    Ok(
        upgrade.accept(socket::config(), max_backlog, move |socket, outbox| {
            run_socket(socket, outbox, rooms, room, client, origin, stream_state)
        }),
    )
}

async fn run_socket(
    mut socket: Socket,
    outbox: Arc<Outbox>,
    rooms: Rooms,
    room: i64,
    client: Client,
    origin: Option<String>,
    stream_state: Utf8Bytes,
) {
    // Joining and leaving are boxed: their Redis and broker futures are large, and unboxed they would
    // be part of this task's state for the socket's whole life (10.7 KiB per idle socket, measured
    // with heaptrack at 2,500 sockets), though they run once at each end.
    let id = Box::pin(admit(
        &rooms,
        room,
        &client,
        origin,
        outbox.clone(),
        stream_state,
    ))
    .await;
    if let Some(ending) = socket::serve(&mut socket, &outbox, &rooms.shutdown).await {
        // The close frame goes before leaving the room: on shutdown the process waits only until
        // the hub is empty.
        socket::close(&mut socket, ending).await;
    }
    Box::pin(leave(&rooms, room, id, &client)).await;
}

/// Puts the socket in its room and sends what a newcomer is told first: who is there, and the
/// stream's state. The room list (up to `MAX_LISTED_CLIENTS` clients) is dropped here, once its frame
/// is serialized; kept for the socket's life it cost 29 KiB per idle socket.
async fn admit(
    rooms: &Rooms,
    room: i64,
    client: &Client,
    origin: Option<String>,
    outbox: Arc<Outbox>,
    stream_state: Utf8Bytes,
) -> u64 {
    let id = rooms.hub.join(room, client.clone(), origin, outbox);
    let everyone = match rooms.presence.joined(room, client).await {
        Ok(clients) => clients,
        Err(error) => {
            // Without Redis the room still works; the list is this replica's sockets only.
            tracing::warn!(%error, room, "presence unavailable");
            rooms.hub.room_clients(room)
        }
    };
    rooms.hub.send_to(
        room,
        id,
        frame("chat:client_list", serde_json::json!(everyone)),
    );
    rooms.hub.send_to(room, id, stream_state);
    id
}

/// Takes the socket out of its room and out of the room's presence.
async fn leave(rooms: &Rooms, room: i64, id: u64, client: &Client) {
    // The hub may have dropped the socket already (too slow); it leaves the room's presence anyway.
    rooms.hub.leave(room, id);
    if let Err(error) = rooms.presence.left(room, client).await {
        tracing::warn!(%error, room, "presence unavailable: the socket expires from the room instead");
    }
}
