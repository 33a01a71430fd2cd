//! This replica's subscription to the event exchange: chat and stream events, turned into the
//! WebSocket frames of API.md and fanned out to the rooms. Each replica has its own exclusive queue,
//! so every replica sees every event.

use axum::extract::ws::Message;
use lapin::message::Delivery;
use livestreamer_proto::events::{ChatMessageCreated, StreamEnded, StreamStarted, routing};
use prost::Message as _;
use serde_json::json;
use service_kit::amqp::{Outcome, QueueSpec};

use crate::{
    views::{BroadcastView, ChatMessageView},
    ws::hub::{Hub, frame},
};

pub fn queue() -> QueueSpec {
    QueueSpec {
        name: String::new(),
        bindings: vec!["chat.#".into(), "stream.#".into()],
        prefetch: 256,
        dead_letter: false,
    }
}

/// A frame for a room, and the origin (sender) to skip.
pub struct RoomFrame {
    pub room: i64,
    pub message: Message,
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
        _ => return Ok(None),
    };
    Ok(Some(frame))
}

pub fn handle(hub: &Hub, delivery: &Delivery) -> Outcome {
    match to_frame(delivery.routing_key.as_str(), &delivery.data) {
        Ok(Some(f)) => {
            hub.send(f.room, &f.message, f.except_origin.as_deref());
            Outcome::Ack
        }
        Ok(None) => Outcome::Ack,
        Err(error) => {
            tracing::warn!(%error, routing_key = %delivery.routing_key, "undecodable event, dropped");
            Outcome::Reject
        }
    }
}
