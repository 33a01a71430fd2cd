//! The rooms of this gateway replica: which sockets are in which broadcast's room, and fan-out to
//! them.
//!
//! An event is serialized once and its bytes shared by every socket (`Utf8Bytes` is reference
//! counted). Each socket has a bounded queue; fan-out never waits on a socket: a socket whose queue is
//! full is removed from its room, which closes its queue, and its task closes the connection. A slow
//! reader never slows the room.

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::extract::ws::{Message, Utf8Bytes};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Who a socket is, as the room sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    pub uuid: String,
    #[serde(skip)]
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub profile_picture_url: Option<String>,
}

struct Member {
    queue: mpsc::Sender<Message>,
    client: Client,
    /// The hash of the socket's session, to skip the sender of an event.
    origin: Option<String>,
}

pub struct Hub {
    rooms: Mutex<HashMap<i64, HashMap<u64, Member>>>,
    next_id: AtomicU64,
    queue_len: usize,
}

/// `{ "event": name, "data": data }`, serialized once.
pub fn frame(event: &str, data: Value) -> Message {
    Message::Text(Utf8Bytes::from(
        json!({ "event": event, "data": data }).to_string(),
    ))
}

impl Hub {
    pub fn new(queue_len: usize) -> Self {
        Self {
            rooms: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            queue_len,
        }
    }

    /// Adds a socket to a room; returns its id and the queue its task drains. The room is told about
    /// the newcomer, and the newcomer gets the room's client list first.
    pub fn join(
        &self,
        room: i64,
        client: Client,
        origin: Option<String>,
    ) -> (u64, mpsc::Receiver<Message>) {
        let (queue, receiver) = mpsc::channel(self.queue_len);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms.lock().expect("hub lock");
        let members = rooms.entry(room).or_default();
        let list: Vec<&Client> = members
            .values()
            .map(|m| &m.client)
            .chain([&client])
            .collect();
        let _ = queue.try_send(frame("chat:client_list", json!(list)));
        let new_client = frame("chat:new_client", json!(client));
        members.insert(
            id,
            Member {
                queue,
                client,
                origin,
            },
        );
        Self::send_locked(members, &new_client, None, Some(id));
        let count = frame("chat:client_count", json!({ "count": members.len() }));
        Self::send_locked(members, &count, None, None);
        (id, receiver)
    }

    /// Removes a socket (gone, or too slow) and tells the room.
    pub fn leave(&self, room: i64, id: u64) {
        let mut rooms = self.rooms.lock().expect("hub lock");
        let Some(members) = rooms.get_mut(&room) else {
            return;
        };
        let Some(member) = members.remove(&id) else {
            return;
        };
        let gone = frame(
            "chat:deleted_client",
            json!({ "uuid": member.client.uuid, "userId": member.client.user_id, "username": member.client.username }),
        );
        Self::send_locked(members, &gone, None, None);
        let count = frame("chat:client_count", json!({ "count": members.len() }));
        Self::send_locked(members, &count, None, None);
        if members.is_empty() {
            rooms.remove(&room);
        }
    }

    /// Sends a frame to a room, skipping the sockets of `except_origin`.
    pub fn send(&self, room: i64, message: &Message, except_origin: Option<&str>) {
        let mut rooms = self.rooms.lock().expect("hub lock");
        if let Some(members) = rooms.get_mut(&room) {
            Self::send_locked(members, message, except_origin, None);
        }
    }

    /// Sends a frame directly to one socket.
    pub fn send_to(&self, room: i64, id: u64, message: Message) {
        let rooms = self.rooms.lock().expect("hub lock");
        if let Some(member) = rooms.get(&room).and_then(|m| m.get(&id)) {
            let _ = member.queue.try_send(message);
        }
    }

    /// Queues the frame for each member; a member whose queue is full (too slow) is removed, which
    /// closes its queue and so its connection.
    fn send_locked(
        members: &mut HashMap<u64, Member>,
        message: &Message,
        except_origin: Option<&str>,
        except_id: Option<u64>,
    ) {
        let mut slow = Vec::new();
        for (id, member) in members.iter() {
            let skip = Some(*id) == except_id
                || (except_origin.is_some() && member.origin.as_deref() == except_origin);
            if !skip && member.queue.try_send(message.clone()).is_err() {
                slow.push(*id);
            }
        }
        for id in slow {
            members.remove(&id);
        }
    }

    pub fn room_size(&self, room: i64) -> usize {
        self.rooms
            .lock()
            .expect("hub lock")
            .get(&room)
            .map_or(0, HashMap::len)
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

    fn event_name(message: &Message) -> String {
        let Message::Text(text) = message else {
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
        while alice.try_recv().is_ok() {}
        while bob.try_recv().is_ok() {}

        hub.send(
            1,
            &frame("chat:created_message", json!({"message": "hi"})),
            Some("alice-origin"),
        );
        assert!(alice.try_recv().is_err());
        assert_eq!(event_name(&bob.try_recv().unwrap()), "chat:created_message");
    }

    #[tokio::test]
    async fn a_slow_socket_is_dropped_without_blocking_the_room() {
        let hub = Hub::new(2);
        let (_, mut slow) = hub.join(1, client("slow"), None);
        let (_, mut fast) = hub.join(1, client("fast"), None);
        for i in 0..10 {
            while fast.try_recv().is_ok() {}
            hub.send(1, &frame("tick", json!(i)), None);
        }
        assert_eq!(hub.room_size(1), 1);
        // The slow socket's queue is closed once it is drained: its task then closes the connection.
        while slow.try_recv().is_ok() {}
        assert!(slow.recv().await.is_none());
    }

    #[tokio::test]
    async fn joining_and_leaving_tell_the_room() {
        let hub = Hub::new(8);
        let (_, mut first) = hub.join(3, client("first"), None);
        assert_eq!(event_name(&first.try_recv().unwrap()), "chat:client_list");
        assert_eq!(event_name(&first.try_recv().unwrap()), "chat:client_count");
        let (second, _rx) = hub.join(3, client("second"), None);
        assert_eq!(event_name(&first.try_recv().unwrap()), "chat:new_client");
        assert_eq!(event_name(&first.try_recv().unwrap()), "chat:client_count");
        hub.leave(3, second);
        assert_eq!(
            event_name(&first.try_recv().unwrap()),
            "chat:deleted_client"
        );
        assert_eq!(event_name(&first.try_recv().unwrap()), "chat:client_count");
    }
}
