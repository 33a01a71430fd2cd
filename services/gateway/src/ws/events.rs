//! This replica's subscription to the event exchange: chat and stream events, turned into the
//! WebSocket frames of API.md and fanned out to the rooms. Each replica has its own exclusive queue,
//! so every replica sees every event.

use std::sync::Arc;

use lapin::message::Delivery;
use livestreamer_proto::events::{
    ChatMessageCreated, ChatMessageDeleted, ChatMessageLiked, PresenceChanged, StreamEnded,
    StreamStarted, routing,
};
use prost::Message as _;
use serde_json::json;
use service_kit::amqp::{Outcome, QueueSpec};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::{
    views::{BroadcastView, ChatMessageView},
    ws::{
        hub::{Except, Hub, frame},
        presence::Presence,
    },
};

pub fn queue() -> QueueSpec {
    QueueSpec {
        name: String::new(),
        bindings: vec!["chat.#".into(), "stream.#".into(), "presence.#".into()],
        prefetch: 256,
        dead_letter: false,
    }
}

/// A frame for a room, and the origin (sender) to skip.
pub struct RoomFrame {
    pub room: i64,
    pub message: Utf8Bytes,
    pub except_origin: Option<String>,
}

pub fn to_frame(
    routing_key: &str,
    payload: &[u8],
) -> Result<Option<RoomFrame>, prost::DecodeError> {
    let frame = match routing_key {
        routing::CHAT_MESSAGE_CREATED => {
            let event = ChatMessageCreated::decode(payload)?;
            let Some(message) = event.message else {
                return Ok(None);
            };
            RoomFrame {
                room: message.broadcast_id,
                message: frame(
                    "chat:created_message",
                    json!(ChatMessageView::from(message)),
                ),
                except_origin: Some(event.origin).filter(|o| !o.is_empty()),
            }
        }
        routing::CHAT_MESSAGE_DELETED => {
            let event = ChatMessageDeleted::decode(payload)?;
            RoomFrame {
                room: event.broadcast_id,
                message: frame(
                    "chat:deleted_message",
                    json!({ "messageId": event.message_id, "broadcastId": event.broadcast_id, "userId": event.user_id }),
                ),
                except_origin: Some(event.origin).filter(|o| !o.is_empty()),
            }
        }
        routing::CHAT_MESSAGE_LIKED | routing::CHAT_MESSAGE_UNLIKED => {
            let event = ChatMessageLiked::decode(payload)?;
            let name = if routing_key == routing::CHAT_MESSAGE_LIKED {
                "chat:liked_message"
            } else {
                "chat:unliked_message"
            };
            RoomFrame {
                room: event.broadcast_id,
                message: frame(
                    name,
                    json!({
                        "broadcastId": event.broadcast_id,
                        "messageId": event.message_id,
                        "likedByUserId": event.liked_by_user_id,
                        "userId": event.user_id,
                    }),
                ),
                except_origin: Some(event.origin).filter(|o| !o.is_empty()),
            }
        }
        routing::STREAM_STARTED => {
            let event = StreamStarted::decode(payload)?;
            let Some(mut broadcast) = event.broadcast else {
                return Ok(None);
            };
            broadcast.is_live = true;
            RoomFrame {
                room: broadcast.broadcast_id,
                message: frame(
                    "stream:state",
                    json!({ "isStreaming": true, "broadcast": BroadcastView::from(broadcast) }),
                ),
                except_origin: None,
            }
        }
        routing::STREAM_ENDED => {
            let event = StreamEnded::decode(payload)?;
            RoomFrame {
                room: event.broadcast_id,
                message: frame("stream:state", json!({ "isStreaming": false })),
                except_origin: None,
            }
        }
        routing::STREAM_STATS => {
            // The relay paces these (at most once a second on change); audio listeners, not sockets.
            let event = livestreamer_proto::events::StreamStats::decode(payload)?;
            RoomFrame {
                room: event.broadcast_id,
                message: frame(
                    "stream:listeners",
                    json!({
                        "broadcastId": event.broadcast_id,
                        "count": event.listener_count,
                        "peak": event.listener_peak_count,
                    }),
                ),
                except_origin: None,
            }
        }
        routing::STREAM_LIKED => {
            let event = livestreamer_proto::events::StreamLiked::decode(payload)?;
            RoomFrame {
                room: event.broadcast_id,
                message: frame(
                    "stream:like",
                    json!({
                        "broadcastId": event.broadcast_id,
                        "likedByUserId": event.liked_by_user_id,
                        "likedByUsername": event.liked_by_username,
                        "likeCount": event.like_count,
                    }),
                ),
                except_origin: Some(event.origin).filter(|o| !o.is_empty()),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(frame))
}

/// Tells this replica's sockets what an event changed; returns once they all have been written, so
/// that the next event follows it on every socket.
pub async fn handle(hub: &Arc<Hub>, presence: &Presence, delivery: &Delivery) -> Outcome {
    let routing_key = delivery.routing_key.as_str();
    let decoded = if routing_key == routing::PRESENCE_CHANGED {
        // Batched: a burst of joins becomes a few frames per socket, not one per join (see presence).
        PresenceChanged::decode(delivery.data.as_slice()).map(|event| {
            presence.note(event);
            None
        })
    } else {
        to_frame(routing_key, &delivery.data)
    };
    match decoded {
        Ok(Some(frame)) => {
            fan_out(hub.clone(), frame).await;
            Outcome::Ack
        }
        Ok(None) => Outcome::Ack,
        Err(error) => {
            tracing::warn!(%error, routing_key, "undecodable event, dropped");
            Outcome::Reject
        }
    }
}

/// Sends `frame` to its room, off the runtime's worker threads: a fan-out to 5,000 sockets writes
/// for ~40 ms, and a worker held that long holds up the requests and tasks queued behind it.
async fn fan_out(hub: Arc<Hub>, frame: RoomFrame) {
    let written = tokio::task::spawn_blocking(move || {
        let except = Except {
            origin: frame.except_origin.as_deref(),
            socket: None,
        };
        hub.send(frame.room, &frame.message, except);
    });
    if let Err(error) = written.await {
        tracing::error!(%error, "a fan-out failed");
    }
}

/// A socket joined or left a room on some replica: this replica tells its own sockets in that room
/// (the newcomer itself got the whole list instead).
pub fn tell_change(hub: &Hub, event: &PresenceChanged) {
    let client = json!({
        "uuid": event.uuid,
        "userId": Some(event.user_id).filter(|id| *id != 0),
        "username": Some(&event.username).filter(|u| !u.is_empty()),
        "profilePictureUrl": Some(&event.profile_picture_url).filter(|u| !u.is_empty()),
    });
    let (name, except) = if event.joined {
        (
            "chat:new_client",
            Except {
                origin: None,
                socket: Some(event.uuid.as_str()),
            },
        )
    } else {
        ("chat:deleted_client", Except::default())
    };
    hub.send(event.broadcast_id, &frame(name, client), except);
}

/// The room's socket count across replicas.
pub fn tell_count(hub: &Hub, room: i64, count: i64) {
    hub.send(
        room,
        &frame("chat:client_count", json!({ "count": count })),
        Except::default(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::{
        hub::{Client, tests::join},
        outbox::tests::received,
    };
    use serde_json::Value;

    fn data(text: &str) -> (String, Value) {
        let value: Value = serde_json::from_str(text).unwrap();
        (
            value["event"].as_str().unwrap().to_owned(),
            value["data"].clone(),
        )
    }

    #[test]
    fn chat_changes_become_the_api_s_frames_and_skip_their_sender() {
        let liked = ChatMessageLiked {
            broadcast_id: 7,
            message_id: 3,
            liked_by_user_id: vec![5, 9],
            user_id: 9,
            origin: "o".into(),
        };
        let frame = to_frame(routing::CHAT_MESSAGE_UNLIKED, &liked.encode_to_vec())
            .unwrap()
            .unwrap();
        let (name, body) = data(frame.message.as_str());
        assert_eq!(
            (frame.room, name.as_str(), frame.except_origin.as_deref()),
            (7, "chat:unliked_message", Some("o"))
        );
        assert_eq!(
            body,
            json!({ "broadcastId": 7, "messageId": 3, "likedByUserId": [5, 9], "userId": 9 })
        );

        let deleted = ChatMessageDeleted {
            broadcast_id: 7,
            message_id: 3,
            user_id: 5,
            origin: String::new(),
        };
        let frame = to_frame(routing::CHAT_MESSAGE_DELETED, &deleted.encode_to_vec())
            .unwrap()
            .unwrap();
        assert_eq!(
            data(frame.message.as_str()).1,
            json!({ "messageId": 3, "broadcastId": 7, "userId": 5 })
        );
        assert_eq!(frame.except_origin, None);

        assert!(to_frame("chat.message.created", b"\xff\xff").is_err());
        assert!(to_frame("unknown.key", b"").unwrap().is_none());
    }

    #[tokio::test]
    async fn presence_changes_tell_everyone_but_the_newcomer_and_carry_the_count() {
        let hub = Hub::new();
        let guest = Client {
            uuid: "new".into(),
            user_id: None,
            username: None,
            profile_picture_url: None,
        };
        let (_, mut newcomer, _) = join(&hub, 4, guest, None).await;
        let dj = Client {
            uuid: "old".into(),
            user_id: Some(1),
            username: Some("dj".into()),
            profile_picture_url: None,
        };
        let (_, mut other, _) = join(&hub, 4, dj, None).await;
        let joined = PresenceChanged {
            broadcast_id: 4,
            uuid: "new".into(),
            joined: true,
            count: 2,
            ..Default::default()
        };
        tell_change(&hub, &joined);
        tell_count(&hub, 4, joined.count);
        let told = received(&mut other);
        let (name, body) = data(&told[0]);
        assert_eq!(
            (name.as_str(), &body["uuid"], &body["username"]),
            ("chat:new_client", &json!("new"), &Value::Null)
        );
        assert_eq!(
            data(&told[1]),
            ("chat:client_count".to_owned(), json!({ "count": 2 }))
        );
        assert_eq!(told.len(), 2);
        let told = received(&mut newcomer);
        assert_eq!(
            told.iter().map(|t| data(t).0).collect::<Vec<_>>(),
            ["chat:client_count"],
            "the newcomer only gets the count"
        );
    }
}
