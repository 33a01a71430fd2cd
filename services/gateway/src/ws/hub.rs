//! The rooms of this gateway replica: which sockets are in which broadcast's room, and fan-out to
//! them.
//!
//! An event is serialized once and its bytes shared by every socket (`Utf8Bytes` is reference
//! counted). Each socket has a bounded queue; fan-out never waits on a socket: a socket whose queue is
//! full is removed from its room, which closes its queue, and its task closes the connection. A slow
//! reader never slows the room. Who is in a room across replicas is `presence`'s business; the hub
//! only knows this replica's sockets.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Who a socket is, as the room sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub uuid: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub profile_picture_url: Option<String>,
}

struct Member {
    /// Text frames only: a queue's block of 32 slots is a third smaller than with whole `Message`s.
    queue: mpsc::Sender<Utf8Bytes>,
    client: Client,
    /// The hash of the socket's session, to skip the sender of an event.
    origin: Option<String>,
}

/// Sockets a frame skips: the sender's (by session origin) or one socket (by uuid).
#[derive(Debug, Default, Clone, Copy)]
pub struct Except<'a> {
    pub origin: Option<&'a str>,
    pub socket: Option<&'a str>,
}

pub struct Hub {
    rooms: Mutex<HashMap<i64, HashMap<u64, Member>>>,
    next_id: AtomicU64,
    queue_len: usize,
}

/// What the hubs of this process report on `/metrics`.
struct HubMetrics {
    sockets: Gauge,
    frames: Counter,
    slow_closed: Counter,
}

fn metrics() -> &'static HubMetrics {
    static METRICS: std::sync::OnceLock<HubMetrics> = std::sync::OnceLock::new();
    METRICS.get_or_init(|| {
        let metrics = HubMetrics {
            sockets: Gauge::default(),
            frames: Counter::default(),
            slow_closed: Counter::default(),
        };
        service_kit::metrics::register(
            "ws_sockets",
            "Open WebSockets on this replica",
            metrics.sockets.clone(),
        );
        service_kit::metrics::register(
            "ws_frames_queued",
            "Frames fanned out to sockets",
            metrics.frames.clone(),
        );
        service_kit::metrics::register(
            "ws_sockets_closed_slow",
            "Sockets closed because their send queue overflowed",
            metrics.slow_closed.clone(),
        );
        metrics
    })
}

/// `{ "event": name, "data": data }`, serialized once: the text of a frame.
pub fn frame(event: &str, data: Value) -> Utf8Bytes {
    Utf8Bytes::from(json!({ "event": event, "data": data }).to_string())
}

impl Hub {
    pub fn new(queue_len: usize) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue_len,
        }
    }

    /// Adds a socket to a room; returns its id and the queue its task drains.
    pub fn join(
        &self,
        room: i64,
        client: Client,
        origin: Option<String>,
    ) -> (u64, mpsc::Receiver<Utf8Bytes>) {
        let (queue, receiver) = mpsc::channel(self.queue_len);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms.lock().expect("hub lock");
        rooms.entry(room).or_default().insert(
            id,
            Member {
                queue,
                client,
                origin,
            },
        );
        metrics().sockets.inc();
        (id, receiver)
    }

    /// Removes a socket; returns who it was, if it was still there.
    pub fn leave(&self, room: i64, id: u64) -> Option<Client> {
        let mut rooms = self.rooms.lock().expect("hub lock");
        let members = rooms.get_mut(&room)?;
        let member = members.remove(&id)?;
        metrics().sockets.dec();
        if members.is_empty() {
            rooms.remove(&room);
        }
        Some(member.client)
    }

    /// Sends a frame to this replica's sockets in a room, skipping `except`. A socket whose queue is
    /// full is removed (too slow); its task then closes it.
    pub fn send(&self, room: i64, message: &Utf8Bytes, except: Except<'_>) {
        let mut rooms = self.rooms.lock().expect("hub lock");
        let Some(members) = rooms.get_mut(&room) else {
            return;
        };
        let (mut slow, mut queued) = (Vec::new(), 0);
        for (id, member) in members.iter() {
            let skip = (except.origin.is_some() && member.origin.as_deref() == except.origin)
                || except.socket == Some(member.client.uuid.as_str());
            if skip {
                continue;
            }
            match member.queue.try_send(message.clone()) {
                Ok(()) => queued += 1,
                Err(_) => slow.push(*id),
            }
        }
        let metrics = metrics();
        metrics.frames.inc_by(queued);
        for id in slow {
            members.remove(&id);
            metrics.sockets.dec();
            metrics.slow_closed.inc();
        }
    }

    /// Sends a frame directly to one socket.
    pub fn send_to(&self, room: i64, id: u64, message: Utf8Bytes) {
        let rooms = self.rooms.lock().expect("hub lock");
        if let Some(member) = rooms.get(&room).and_then(|m| m.get(&id)) {
            let _ = member.queue.try_send(message);
        }
    }

    /// This replica's sockets, room by room (for refreshing presence).
    pub fn clients(&self) -> Vec<(i64, Vec<Client>)> {
        let rooms = self.rooms.lock().expect("hub lock");
        rooms
            .iter()
            .map(|(room, members)| (*room, members.values().map(|m| m.client.clone()).collect()))
            .collect()
    }

    pub fn room_size(&self, room: i64) -> usize {
        self.rooms
            .lock()
            .expect("hub lock")
            .get(&room)
            .map_or(0, HashMap::len)
    }

    pub fn socket_count(&self) -> usize {
        self.rooms
            .lock()
            .expect("hub lock")
            .values()
            .map(HashMap::len)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str) -> Client {
        Client {
            uuid: name.into(),
            user_id: None,
            username: Some(name.into()),
            profile_picture_url: None,
        }
    }

    fn event_name(text: &Utf8Bytes) -> String {
        serde_json::from_str::<Value>(text.as_str()).unwrap()["event"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn the_sender_is_skipped_and_others_get_the_same_bytes() {
        let hub = Hub::new(8);
        let (_, mut alice) = hub.join(1, client("alice"), Some("alice-origin".into()));
        let (_, mut bob) = hub.join(1, client("bob"), None);
        let (_, mut carol) = hub.join(1, client("carol"), None);

        let except = Except {
            origin: Some("alice-origin"),
            socket: Some("carol"),
        };
        hub.send(
            1,
            &frame("chat:created_message", json!({"message": "hi"})),
            except,
        );
        assert!(alice.try_recv().is_err());
        assert!(carol.try_recv().is_err());
        assert_eq!(event_name(&bob.try_recv().unwrap()), "chat:created_message");
    }

    #[tokio::test]
    async fn a_slow_socket_is_dropped_without_blocking_the_room() {
        let hub = Hub::new(2);
        let (_, mut slow) = hub.join(1, client("slow"), None);
        let (_, mut fast) = hub.join(1, client("fast"), None);
        for i in 0..10 {
            hub.send(1, &frame("tick", json!(i)), Except::default());
            assert!(fast.try_recv().is_ok(), "the fast socket gets tick {i}");
        }
        assert_eq!(hub.room_size(1), 1);
        // The slow socket's queue is closed once it is drained: its task then closes the connection.
        assert_eq!(std::iter::from_fn(|| slow.try_recv().ok()).count(), 2);
        assert!(slow.recv().await.is_none());
    }

    #[tokio::test]
    async fn leaving_returns_the_client_once_and_empty_rooms_vanish() {
        let hub = Hub::new(8);
        let (id, _rx) = hub.join(3, client("first"), None);
        assert_eq!(hub.clients(), vec![(3, vec![client("first")])]);
        assert_eq!(hub.leave(3, id), Some(client("first")));
        assert_eq!(hub.leave(3, id), None);
        assert_eq!(hub.socket_count(), 0);
        assert!(hub.clients().is_empty());
    }
}
