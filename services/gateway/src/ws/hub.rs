//! The rooms of this gateway replica: which sockets are in which broadcast's room, and fan-out to
//! them.
//!
//! An event is serialized once and its bytes shared by every socket (`Utf8Bytes` is reference
//! counted). Each socket has a bounded queue; fan-out never waits on a socket: a socket whose queue is
//! full is removed from its room, which closes its queue, and its task closes the connection. A slow
//! reader never slows the room. Who is in a room across replicas is `presence`'s business; the hub
//! only knows this replica's sockets.
//!
//! The hub also pings every socket, through the same queues, on one timer for the whole replica: a
//! timer per socket was polled at each of its wake-ups (~2% of the gateway's CPU under the chat
//! benchmark) and kept a boxed `Sleep` per idle socket.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use service_kit::shutdown::Shutdown;
use tokio::sync::mpsc;

/// How often every socket is pinged; one that has not answered by the next ping is closed.
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// What a socket's queue carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A text frame, its bytes shared by every socket it goes to.
    Text(Utf8Bytes),
    /// Time to ping the client.
    Ping,
}
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
    /// Text frames and pings only: a queue's block of 32 slots is a third smaller than with whole
    /// tungstenite `Message`s.
    queue: mpsc::Sender<Outgoing>,
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
    ) -> (u64, mpsc::Receiver<Outgoing>) {
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
        let outgoing = Outgoing::Text(message.clone());
        offer(members, &outgoing, |member| {
            (except.origin.is_some() && member.origin.as_deref() == except.origin)
                || except.socket == Some(member.client.uuid.as_str())
        });
    }

    /// Queues a ping for every socket of this replica.
    pub fn ping_all(&self) {
        let mut rooms = self.rooms.lock().expect("hub lock");
        for members in rooms.values_mut() {
            offer(members, &Outgoing::Ping, |_| false);
        }
        rooms.retain(|_, members| !members.is_empty());
    }

    /// Pings every socket every `PING_EVERY` until shutdown.
    pub async fn keep_pinging(self: Arc<Self>, shutdown: Shutdown) {
        let mut ticks = tokio::time::interval(PING_EVERY);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = ticks.tick() => self.ping_all(),
                _ = shutdown.requested() => return,
            }
        }
    }

    /// Sends a frame directly to one socket.
    pub fn send_to(&self, room: i64, id: u64, message: Utf8Bytes) {
        let rooms = self.rooms.lock().expect("hub lock");
        if let Some(member) = rooms.get(&room).and_then(|m| m.get(&id)) {
            let _ = member.queue.try_send(Outgoing::Text(message));
        }
    }

    /// The rooms this replica has sockets in.
    pub fn rooms(&self) -> Vec<i64> {
        self.rooms
            .lock()
            .expect("hub lock")
            .keys()
            .copied()
            .collect()
    }

    /// This replica's sockets in a room.
    pub fn room_clients(&self, room: i64) -> Vec<Client> {
        let rooms = self.rooms.lock().expect("hub lock");
        rooms.get(&room).map_or_else(Vec::new, |members| {
            members.values().map(|m| m.client.clone()).collect()
        })
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

/// Queues `outgoing` for the members of a room that `skip` does not name; removes those whose queue
/// is full (too slow).
fn offer(members: &mut HashMap<u64, Member>, outgoing: &Outgoing, skip: impl Fn(&Member) -> bool) {
    let (mut slow, mut queued) = (Vec::new(), 0);
    for (id, member) in members.iter() {
        if skip(member) {
            continue;
        }
        match member.queue.try_send(outgoing.clone()) {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A guest named `name` (uuid and username).
    pub(crate) fn client(name: &str) -> Client {
        Client {
            uuid: name.into(),
            user_id: None,
            username: Some(name.into()),
            profile_picture_url: None,
        }
    }

    fn event_name(outgoing: &Outgoing) -> String {
        let Outgoing::Text(text) = outgoing else {
            panic!("not text")
        };
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
    async fn every_socket_of_every_room_is_pinged() {
        let hub = Hub::new(8);
        let (_, mut first) = hub.join(1, client("first"), None);
        let (_, mut second) = hub.join(2, client("second"), None);
        hub.ping_all();
        assert_eq!(first.try_recv().unwrap(), Outgoing::Ping);
        assert_eq!(second.try_recv().unwrap(), Outgoing::Ping);
    }

    #[tokio::test]
    async fn leaving_returns_the_client_once_and_empty_rooms_vanish() {
        let hub = Hub::new(8);
        let (id, _rx) = hub.join(3, client("first"), None);
        assert_eq!(hub.rooms(), vec![3]);
        assert_eq!(hub.room_clients(3), vec![client("first")]);
        assert_eq!(hub.leave(3, id), Some(client("first")));
        assert_eq!(hub.leave(3, id), None);
        assert_eq!(hub.socket_count(), 0);
        assert!(hub.rooms().is_empty());
        assert!(hub.room_clients(3).is_empty());
    }
}
