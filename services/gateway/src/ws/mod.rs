//! `GET /ws/{broadcastId}`: the room of a broadcast over WebSocket.

pub mod events;
pub mod hub;
pub mod presence;

use std::time::Duration;

use axum::{
    extract::{
        Path, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures_util::{SinkExt, StreamExt};
use livestreamer_proto::broadcasts::GetBroadcastRequest;
use serde_json::json;

use crate::{
    AppState, csrf,
    error::ApiError,
    routes::parse_id,
    session::{self, MaybeSignedIn},
    views::BroadcastView,
};
use hub::{Client, frame};

const PING_EVERY: Duration = Duration::from_secs(30);
/// A frame the kernel cannot take within this is for a client that stopped reading: the connection
/// is dropped. Without it the socket's task would wait forever on a client that never reads, after
/// the hub dropped it from its room for overflowing its send queue.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Client frames are not needed; anything larger than this is abuse.
const MAX_CLIENT_FRAME: usize = 4096;
/// A socket's read buffer: room for the largest client frame and its header.
const READ_BUFFER: usize = MAX_CLIENT_FRAME + 16;

pub async fn upgrade(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    caller: MaybeSignedIn,
    upgrade: WebSocketUpgrade,
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
    Ok(upgrade
        // tungstenite zero-fills its whole read buffer before each read: at its default (128 KiB)
        // that is 128 KiB resident per idle socket, for clients that send nothing but pongs.
        .read_buffer_size(READ_BUFFER)
        .max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| {
            run_socket(
                socket,
                state,
                room,
                client,
                origin,
                frame("stream:state", stream_state),
            )
        })
        .into_response())
}

async fn run_socket(
    socket: WebSocket,
    state: AppState,
    room: i64,
    client: Client,
    origin: Option<String>,
    stream_state: Message,
) {
    // Joining and leaving are boxed: their Redis and broker futures are large, and unboxed they would
    // be part of this task's state for the socket's whole life (10.7 KiB per idle socket, measured
    // with heaptrack at 2,500 sockets), though they run once at each end.
    let (id, queue) = Box::pin(admit(&state, room, &client, origin, stream_state)).await;
    let (sink, close) = serve(socket, &state, queue).await;
    if let Some((code, reason)) = close {
        send_close(sink, code, reason).await;
    }
    Box::pin(leave(&state, room, id, &client)).await;
}

/// Puts the socket in its room and queues what a newcomer is told first: who is there, and the
/// stream's state. The room list (up to `MAX_LISTED_CLIENTS` clients) is dropped here, once its frame
/// is serialized; kept for the socket's life it cost 29 KiB per idle socket.
async fn admit(
    state: &AppState,
    room: i64,
    client: &Client,
    origin: Option<String>,
    stream_state: Message,
) -> (u64, tokio::sync::mpsc::Receiver<Message>) {
    let (id, queue) = state.hub.join(room, client.clone(), origin);
    let everyone = match state.presence.joined(room, client).await {
        Ok(clients) => clients,
        Err(error) => {
            // Without Redis the room still works; the list is this replica's sockets only.
            tracing::warn!(%error, room, "presence unavailable");
            state
                .hub
                .clients()
                .into_iter()
                .filter(|(r, _)| *r == room)
                .flat_map(|(_, c)| c)
                .collect()
        }
    };
    state.hub.send_to(
        room,
        id,
        frame("chat:client_list", serde_json::json!(everyone)),
    );
    state.hub.send_to(room, id, stream_state);
    (id, queue)
}

type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Relays the socket's queue to the client and pings it until either side ends; returns the sink and
/// the close code and reason the server ends with, if it is the one ending.
async fn serve(
    socket: WebSocket,
    state: &AppState,
    mut queue: tokio::sync::mpsc::Receiver<Message>,
) -> (Sink, Option<(u16, &'static str)>) {
    let (mut sink, mut incoming) = socket.split();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut awaiting_pong = false;
    let close = loop {
        tokio::select! {
            outgoing = queue.recv() => match outgoing {
                Some(message) => if !send_within(&mut sink, message).await { break None },
                None => break Some((1008, "too slow: the send queue overflowed")),
            },
            _ = ping.tick() => {
                if awaiting_pong { break Some((1011, "no answer to ping")) }
                awaiting_pong = true;
                if !send_within(&mut sink, Message::Ping(Default::default())).await { break None }
            }
            frame = incoming.next() => match frame {
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Err(_)) => break Some((1009, "frame too large or malformed")),
                Some(Ok(_)) => {}
            },
            _ = state.shutdown.requested() => break Some((1001, "server going away")),
        }
    };
    (sink, close)
}

/// Ends the connection from the server's side. The close frame goes before leaving the room: on
/// shutdown the process waits only until the hub is empty.
async fn send_close(mut sink: Sink, code: u16, reason: &'static str) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    if send_within(&mut sink, frame).await {
        let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.close()).await;
    }
}

/// Takes the socket out of its room and out of the room's presence.
async fn leave(state: &AppState, room: i64, id: u64, client: &Client) {
    // The hub may have dropped the socket already (too slow); it leaves the room's presence anyway.
    state.hub.leave(room, id);
    if let Err(error) = state.presence.left(room, client).await {
        tracing::warn!(%error, room, "presence unavailable: the socket expires from the room instead");
    }
}

/// Sends a frame; false when the connection failed or the client took nothing for `WRITE_TIMEOUT`.
async fn send_within(sink: &mut Sink, message: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, sink.send(message)).await,
        Ok(Ok(()))
    )
}
