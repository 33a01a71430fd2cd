//! The rooms of this gateway replica: which sockets are in which broadcast's room, and fan-out to
//! them.
//!
//! An event is serialized once and its bytes shared by every socket (`Bytes` is reference counted),
//! and the hub writes them to each socket itself, through the socket's `Outbox`. Fan-out never waits
//! on a socket: what a connection cannot take at once waits in its outbox's bounded backlog, and a
//! socket over the bound is removed from its room and closed by its task. A slow reader never slows
//! the room. The writes are made outside the hub's lock, so joins and leaves do not wait for a
//! fan-out. Who is in a room across replicas is `presence`'s business; the hub only knows this
//! replica's sockets.
//!
//! The hub also pings every socket on one timer for the whole replica: a timer per socket was polled
//! at each of its wake-ups (~2% of the gateway's CPU under the chat benchmark) and kept a boxed
//! `Sleep` per idle socket. Each tick pings one slice of the sockets, so that a replica's pings (and
//! the pongs they bring back) come a few hundred at a time rather than all at once: pinging 5,000
//! sockets in one go is ~40 ms of writes, and the chat messages fanned out behind it wait.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use prometheus_client::metrics::{counter::Counter, gauge::Gauge};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use service_kit::shutdown::Shutdown;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::outbox::{Outbox, Sent};

/// How often every socket is pinged; one that has not answered by the next ping is closed.
pub const PING_EVERY: Duration = Duration::from_secs(30);

/// Into how many slices the sockets are dealt for pinging (by id), one slice per tick.
const PING_SLICES: u64 = 30;

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
    outbox: Arc<Outbox>,
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
    pub fn new() -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Adds a socket to a room; returns its id.
    pub fn join(
        &self,
        room: i64,
        client: Client,
        origin: Option<String>,
        outbox: Arc<Outbox>,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms.lock().expect("hub lock");
        rooms.entry(room).or_default().insert(
            id,
            Member {
                outbox,
                client,
                origin,
            },
        );
        metrics().sockets.inc();
        id
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

    /// Sends a frame to this replica's sockets in a room, skipping `except`. A socket that cannot
    /// take it (too slow, or already closing) is removed; its task closes it.
    pub fn send(&self, room: i64, message: &Utf8Bytes, except: Except<'_>) {
        let outboxes = {
            let rooms = self.rooms.lock().expect("hub lock");
            let Some(members) = rooms.get(&room) else {
                return;
            };
            members
                .iter()
                .filter(|(_, member)| {
                    !((except.origin.is_some() && member.origin.as_deref() == except.origin)
                        || except.socket == Some(member.client.uuid.as_str()))
                })
                .map(|(id, member)| (room, *id, member.outbox.clone()))
                .collect::<Vec<_>>()
        };
        let payload = Bytes::from(message.clone());
        self.offer(outboxes, |outbox| outbox.text(&payload));
    }

    /// Pings the sockets of this replica in slice `slice` (of `PING_SLICES`).
    fn ping_slice(&self, slice: u64) {
        let outboxes = {
            let rooms = self.rooms.lock().expect("hub lock");
            rooms
                .iter()
                .flat_map(|(room, members)| {
                    members
                        .iter()
                        .filter(|(id, _)| *id % PING_SLICES == slice)
                        .map(|(id, member)| (*room, *id, member.outbox.clone()))
                })
                .collect::<Vec<_>>()
        };
        self.offer(outboxes, |outbox| outbox.ping());
    }

    /// Pings every socket every `PING_EVERY`, one slice per tick, until shutdown.
    pub async fn keep_pinging(self: Arc<Self>, shutdown: Shutdown) {
        let slice_every = PING_EVERY / PING_SLICES as u32;
        let mut ticks = tokio::time::interval(slice_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        for tick in 0u64.. {
            tokio::select! {
                _ = ticks.tick() => self.ping_slice(tick % PING_SLICES),
                _ = shutdown.requested() => return,
            }
        }
    }

    /// Offers a frame to each of `outboxes`, outside the hub's lock; removes the sockets that could
    /// not take it.
    fn offer(&self, outboxes: Vec<(i64, u64, Arc<Outbox>)>, send: impl Fn(&Outbox) -> Sent) {
        let (mut gone, mut sent, mut slow) = (Vec::new(), 0, 0);
        for (room, id, outbox) in outboxes {
            match send(&outbox) {
                Sent::Queued => sent += 1,
                Sent::TooSlow => {
                    slow += 1;
                    gone.push((room, id));
                }
                Sent::Ending => gone.push((room, id)),
            }
        }
        let metrics = metrics();
        metrics.frames.inc_by(sent);
        metrics.slow_closed.inc_by(slow);
        for (room, id) in gone {
            self.leave(room, id);
        }
    }

    /// Sends a frame to one socket.
    pub fn send_to(&self, room: i64, id: u64, message: Utf8Bytes) {
        let outbox = {
            let rooms = self.rooms.lock().expect("hub lock");
            rooms
                .get(&room)
                .and_then(|m| m.get(&id))
                .map(|member| member.outbox.clone())
        };
        if let Some(outbox) = outbox {
            self.offer(vec![(room, id, outbox)], |outbox| {
                outbox.text(&Bytes::from(message.clone()))
            });
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

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ws::outbox::tests::{self as outbox, Client as TestClient, events};

    /// A guest named `name` (uuid and username).
    pub(crate) fn client(name: &str) -> Client {
        Client {
            uuid: name.into(),
            user_id: None,
            username: Some(name.into()),
            profile_picture_url: None,
        }
    }

    /// A socket of `client` in `room` (a pipe of 64 KiB, a backlog of 8 frames): its id, its client
    /// end, and its outbox.
    pub(crate) async fn join(
        hub: &Hub,
        room: i64,
        client: Client,
        origin: Option<&str>,
    ) -> (u64, TestClient, Arc<Outbox>) {
        let (outbox, _socket, end) = outbox::pipe(8, 64 * 1024).await;
        let id = hub.join(room, client, origin.map(str::to_owned), outbox.clone());
        (id, end, outbox)
    }

    #[tokio::test]
    async fn the_sender_is_skipped_and_others_get_the_same_bytes() {
        let hub = Hub::new();
        let (_, mut alice, _) = join(&hub, 1, client("alice"), Some("alice-origin")).await;
        let (_, mut bob, _) = join(&hub, 1, client("bob"), None).await;
        let (_, mut carol, _) = join(&hub, 1, client("carol"), None).await;

        let except = Except {
            origin: Some("alice-origin"),
            socket: Some("carol"),
        };
        hub.send(
            1,
            &frame("chat:created_message", json!({"message": "hi"})),
            except,
        );
        assert!(events(&mut alice).is_empty());
        assert!(events(&mut carol).is_empty());
        assert_eq!(events(&mut bob), ["chat:created_message"]);
    }

    #[tokio::test]
    async fn a_slow_socket_is_dropped_without_blocking_the_room() {
        let hub = Hub::new();
        // A client that never reads, over a pipe of 64 bytes, with room for 2 frames behind it.
        let (slow_outbox, _socket, _slow) = outbox::pipe(2, 64).await;
        let slow = hub.join(1, client("slow"), None, slow_outbox.clone());
        let (_, mut fast, _) = join(&hub, 1, client("fast"), None).await;
        for i in 0..10 {
            hub.send(
                1,
                &frame("tick", json!("x".repeat(40 + i))),
                Except::default(),
            );
            assert_eq!(events(&mut fast), ["tick"], "the fast socket gets tick {i}");
        }
        assert_eq!(hub.room_size(1), 1);
        assert_eq!(hub.leave(1, slow), None, "the slow socket left the room");
        assert!(matches!(
            slow_outbox.work().await,
            crate::ws::outbox::Work::End(ending) if ending == crate::ws::outbox::TOO_SLOW
        ));
    }

    #[tokio::test]
    async fn a_fan_out_past_tokio_s_budget_still_writes_every_socket_at_once() {
        use futures_util::FutureExt;
        let hub = Hub::new();
        let mut sockets = Vec::new();
        for i in 0..300 {
            sockets.push(join(&hub, 1, client(&format!("c{i}")), None).await);
        }
        hub.send(1, &frame("tick", json!(1)), Except::default());
        let waiting = sockets
            .iter()
            .filter(|(_, _, outbox)| outbox.work().now_or_never().is_some())
            .count();
        assert_eq!(waiting, 0, "sockets left with a backlog for their task");
        for (_, end, _) in &mut sockets {
            assert_eq!(events(end), ["tick"]);
        }
    }

    #[tokio::test]
    async fn every_socket_of_every_room_is_pinged_once_per_round_of_slices() {
        use futures_util::{FutureExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let hub = Hub::new();
        let mut sockets = Vec::new();
        for i in 0..2 * PING_SLICES {
            sockets.push(join(&hub, 1 + (i % 2) as i64, client(&format!("c{i}")), None).await);
        }
        let mut pinged = vec![0; sockets.len()];
        for slice in 0..PING_SLICES {
            hub.ping_slice(slice);
            let in_slice: Vec<usize> = sockets
                .iter_mut()
                .enumerate()
                .filter_map(|(i, (_, end, _))| {
                    matches!(end.next().now_or_never(), Some(Some(Ok(Message::Ping(_)))))
                        .then_some(i)
                })
                .collect();
            assert_eq!(in_slice.len(), 2, "slice {slice} pinged {in_slice:?}");
            for i in in_slice {
                pinged[i] += 1;
            }
        }
        assert!(
            pinged.iter().all(|&n| n == 1),
            "pings per socket: {pinged:?}"
        );
    }

    #[tokio::test]
    async fn leaving_returns_the_client_once_and_empty_rooms_vanish() {
        let hub = Hub::new();
        let (id, _end, _) = join(&hub, 3, client("first"), None).await;
        assert_eq!(hub.rooms(), vec![3]);
        assert_eq!(hub.room_clients(3), vec![client("first")]);
        assert_eq!(hub.leave(3, id), Some(client("first")));
        assert_eq!(hub.leave(3, id), None);
        assert_eq!(hub.socket_count(), 0);
        assert!(hub.rooms().is_empty());
        assert!(hub.room_clients(3).is_empty());
    }
}
