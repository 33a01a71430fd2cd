//! Who is in a broadcast's room across every gateway replica.
//!
//! Each room has a sorted set of socket uuids scored by when their replica last vouched for them, and
//! a hash of who each socket is. A replica adds its sockets when they join, removes them when they
//! leave, and re-scores all of its sockets every few seconds; an entry not re-scored for the expiry (30 s)
//! belongs to a replica that died, and whichever replica sweeps it first tells the room it left. Every
//! change goes out on the event exchange as `presence.changed` with the room's new count, so each
//! replica tells its own sockets (`chat:new_client`, `chat:deleted_client`, `chat:client_count`).

use std::time::Duration;

use deadpool_redis::{Pool, redis};
use livestreamer_proto::events::{PresenceChanged, routing};
use service_kit::{amqp::EventPublisher, clock::now_ms, shutdown::Shutdown};

use super::{
    events,
    hub::{Client, Except, Hub, frame},
};

/// How often queued presence changes are told to this replica's sockets.
const DELIVER_EVERY: Duration = Duration::from_millis(100);
/// Above this many changes to a room in one delivery, the room gets its whole list instead...
const MAX_CHANGES_ONE_BY_ONE: usize = 16;
/// ...while it is this small; a bigger room gets its count alone, since a list to every socket on
/// every busy tick costs bytes in the square of the room's size (the chat benchmark measured 46 GB
/// for 5,000 sockets joining). The same bound caps the list a newcomer gets.
pub const MAX_LISTED_CLIENTS: usize = 200;

#[derive(Clone)]
pub struct Presence {
    redis: Pool,
    prefix: String,
    publisher: EventPublisher,
    /// A socket whose replica has not vouched for it this long is gone; replicas vouch three times
    /// per expiry (GATEWAY_PRESENCE_EXPIRY_SECS, 30 s).
    expiry_ms: i64,
    /// Changes heard on the event exchange, by room, not yet told to this replica's sockets.
    pending: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, Vec<PresenceChanged>>>>,
    /// Read by each leave, written by each vouching: see [`Self::vouching`].
    leaving: std::sync::Arc<tokio::sync::RwLock<()>>,
}

impl Presence {
    pub fn new(redis: Pool, prefix: &str, publisher: EventPublisher, expiry: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            publisher,
            expiry_ms: expiry.as_millis() as i64,
            pending: Default::default(),
            leaving: Default::default(),
        }
    }

    fn keys(&self, room: i64) -> (String, String) {
        (
            format!("{}presence:{room}", self.prefix),
            format!("{}presence-clients:{room}", self.prefix),
        )
    }

    /// Records a socket in its room and announces it; returns everyone in the room, itself included.
    pub async fn joined(&self, room: i64, client: &Client) -> anyhow::Result<Vec<Client>> {
        let (members, details) = self.keys(room);
        let mut conn = self.redis.get().await?;
        let now = now_ms();
        let since = now - self.expiry_ms;
        // Only the first few members and the count: a join must not cost the size of the room (5,000
        // joins reading every member made a storm of joins quadratic).
        let (count, uuids): (i64, Vec<String>) = redis::pipe()
            .zadd(&members, &client.uuid, now)
            .ignore()
            .hset(&details, &client.uuid, serde_json::to_string(client)?)
            .ignore()
            .pexpire(&members, 2 * self.expiry_ms)
            .ignore()
            .pexpire(&details, 2 * self.expiry_ms)
            .ignore()
            .zcount(&members, since, "+inf")
            .zrangebyscore_limit(&members, since, "+inf", 0, MAX_LISTED_CLIENTS as isize)
            .query_async(&mut conn)
            .await?;
        // The newcomer first (it must find itself), then the others up to the bound.
        let others = uuids
            .iter()
            .filter(|uuid| **uuid != client.uuid)
            .take(MAX_LISTED_CLIENTS - 1);
        let listed: Vec<String> = std::iter::once(client.uuid.clone())
            .chain(others.cloned())
            .collect();
        let clients = Self::describe(&mut conn, &details, &listed).await?;
        // The connection goes back to the pool before the broker round trip of the announcement.
        drop(conn);
        self.announce(room, client, true, count).await;
        Ok(clients)
    }

    /// Everyone in a room now, across replicas.
    pub async fn list(&self, room: i64) -> anyhow::Result<Vec<Client>> {
        let (members, details) = self.keys(room);
        let mut conn = self.redis.get().await?;
        let uuids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
            .arg(&members)
            .arg(now_ms() - self.expiry_ms)
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        Self::describe(&mut conn, &details, &uuids).await
    }

    /// Who the sockets `uuids` are, from the room's hash.
    async fn describe(
        conn: &mut deadpool_redis::Connection,
        details: &str,
        uuids: &[String],
    ) -> anyhow::Result<Vec<Client>> {
        if uuids.is_empty() {
            return Ok(Vec::new());
        }
        let found: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(details)
            .arg(uuids)
            .query_async(conn)
            .await?;
        Ok(found
            .into_iter()
            .flatten()
            .filter_map(|json| serde_json::from_str(&json).ok())
            .collect())
    }

    /// Queues a change heard on the event exchange for the next delivery to this replica's sockets.
    pub fn note(&self, change: PresenceChanged) {
        let mut pending = self.pending.lock().expect("presence lock");
        pending.entry(change.broadcast_id).or_default().push(change);
    }

    /// Tells this replica's sockets what changed in their rooms since the last delivery: each change
    /// when they are few, else the room's whole list once (small rooms only); then the count once. A burst of thousands
    /// of joins so costs each socket a few frames, not one per join (which would overflow the send
    /// queues of the very sockets that just joined).
    pub async fn deliver(&self, hub: &Hub) {
        let batch = std::mem::take(&mut *self.pending.lock().expect("presence lock"));
        for (room, changes) in batch {
            let Some(last) = changes.last() else { continue };
            if changes.len() <= MAX_CHANGES_ONE_BY_ONE {
                changes
                    .iter()
                    .for_each(|change| events::tell_change(hub, change));
            }
            // Read now: the events' own counts were taken at their joins, which race each other.
            let count = self.count(room).await.unwrap_or(last.count);
            if changes.len() > MAX_CHANGES_ONE_BY_ONE && count as usize <= MAX_LISTED_CLIENTS {
                match self.list(room).await {
                    Ok(clients) => {
                        let list = frame("chat:client_list", serde_json::json!(clients));
                        hub.send(room, &list, Except::default());
                    }
                    Err(error) => tracing::warn!(%error, room, "presence list unavailable"),
                }
            }
            events::tell_count(hub, room, count);
        }
    }

    /// How many sockets are in a room now, across replicas.
    pub async fn count(&self, room: i64) -> anyhow::Result<i64> {
        let (members, _) = self.keys(room);
        let mut conn = self.redis.get().await?;
        let count: i64 = redis::cmd("ZCOUNT")
            .arg(&members)
            .arg(now_ms() - self.expiry_ms)
            .arg("+inf")
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }

    /// Delivers queued changes every `DELIVER_EVERY` until shutdown.
    pub async fn keep_delivering(
        self: std::sync::Arc<Self>,
        hub: std::sync::Arc<Hub>,
        shutdown: Shutdown,
    ) {
        let mut ticks = tokio::time::interval(DELIVER_EVERY);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.deliver(&hub).await,
                _ = shutdown.requested() => return,
            }
        }
    }

    /// Removes a socket from its room and announces it, unless another replica already did.
    pub async fn left(&self, room: i64, client: &Client) -> anyhow::Result<()> {
        let (members, details) = self.keys(room);
        let leaving = self.leaving.read().await;
        let mut conn = self.redis.get().await?;
        let (removed, _, count): (i64, i64, i64) = redis::pipe()
            .zrem(&members, &client.uuid)
            .hdel(&details, &client.uuid)
            .zcount(&members, now_ms() - self.expiry_ms, "+inf")
            .query_async(&mut conn)
            .await?;
        drop((conn, leaving));
        if removed == 1 {
            self.announce(room, client, false, count).await;
        }
        Ok(())
    }

    async fn announce(&self, room: i64, client: &Client, joined: bool, count: i64) {
        let event = PresenceChanged {
            broadcast_id: room,
            uuid: client.uuid.clone(),
            user_id: client.user_id.unwrap_or(0),
            username: client.username.clone().unwrap_or_default(),
            profile_picture_url: client.profile_picture_url.clone().unwrap_or_default(),
            joined,
            count,
        };
        if let Err(error) = self
            .publisher
            .publish(routing::PRESENCE_CHANGED, &event)
            .await
        {
            tracing::warn!(%error, room, "presence change not announced");
        }
    }

    /// Vouches again for this replica's sockets, and sweeps the rooms it serves of the sockets of
    /// replicas that stopped vouching for theirs.
    pub async fn refresh(&self, hub: &Hub) -> anyhow::Result<()> {
        for room in hub.rooms() {
            let vouching = self.vouching().await;
            let clients = hub.room_clients(room);
            let stale = self.vouch(vouching, room, &clients).await?;
            self.sweep(room, stale).await?;
        }
        Ok(())
    }

    /// Holds off every [`Self::left`] from taking a socket out of Redis until the vouching is done.
    /// A socket the hub listed, then lost before the vouching reached Redis, would be put back by it
    /// after its own leave: counted in the room until the expiry, then announced gone a second time.
    /// A leave waits only for a vouching under way (one round trip); leaves do not wait for each
    /// other. Take it before listing the hub's sockets.
    async fn vouching(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.leaving.write().await
    }

    /// Re-scores `clients`, this replica's sockets in `room` as listed under `vouching`; returns, from
    /// the same round trip, the sockets of the room that no replica vouched for within the expiry.
    async fn vouch(
        &self,
        vouching: tokio::sync::RwLockWriteGuard<'_, ()>,
        room: i64,
        clients: &[Client],
    ) -> anyhow::Result<Vec<String>> {
        let now = now_ms();
        let (members, details) = self.keys(room);
        let mut conn = self.redis.get().await?;
        let mut pipe = redis::pipe();
        for client in clients {
            pipe.zadd(&members, &client.uuid, now).ignore();
        }
        pipe.pexpire(&members, 2 * self.expiry_ms).ignore();
        pipe.pexpire(&details, 2 * self.expiry_ms).ignore();
        pipe.zrangebyscore(&members, "-inf", now - self.expiry_ms);
        let (stale,): (Vec<String>,) = pipe.query_async(&mut conn).await?;
        drop(vouching);
        Ok(stale)
    }

    /// Takes the `stale` sockets out of `room` and announces them gone: their replica has not
    /// vouched for them within the expiry. Outside the vouching's lock, which each leave takes.
    async fn sweep(&self, room: i64, stale: Vec<String>) -> anyhow::Result<()> {
        let (_, details) = self.keys(room);
        let mut conn = self.redis.get().await?;
        for uuid in stale {
            let gone: Option<String> = redis::cmd("HGET")
                .arg(&details)
                .arg(&uuid)
                .query_async(&mut conn)
                .await?;
            let client = gone
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or(Client {
                    uuid,
                    user_id: None,
                    username: None,
                    profile_picture_url: None,
                });
            self.left(room, &client).await?;
        }
        Ok(())
    }

    /// Refreshes three times per expiry until shutdown.
    pub async fn keep_fresh(
        self: std::sync::Arc<Self>,
        hub: std::sync::Arc<Hub>,
        shutdown: Shutdown,
    ) {
        let mut ticks = tokio::time::interval(Duration::from_millis(self.expiry_ms as u64 / 3));
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(error) = self.refresh(&hub).await {
                        tracing::warn!(%error, "cannot refresh presence");
                    }
                }
                _ = shutdown.requested() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::{
        hub::tests::{client, join},
        outbox::tests::events,
    };
    use service_kit::amqp::EventBus;

    fn presence() -> Presence {
        // Neither pool connects until used: the few-changes path needs neither Redis nor RabbitMQ.
        let redis = service_kit::redis::pool("redis://127.0.0.1:1/").unwrap();
        let publisher = EventPublisher::new(EventBus::new("amqp://127.0.0.1:1/%2f", "unused"));
        Presence::new(redis, "t:", publisher, Duration::from_secs(30))
    }

    /// On the test stack's Redis, under a prefix of its own; announcements go nowhere.
    fn presence_on_redis() -> Presence {
        let redis = service_kit::redis::pool(&test_support::redis_url()).unwrap();
        let publisher = EventPublisher::new(EventBus::new("amqp://127.0.0.1:1/%2f", "unused"));
        let prefix = format!("{}:", test_support::unique_name());
        Presence::new(redis, &prefix, publisher, Duration::from_secs(30))
    }

    async fn uuids(presence: &Presence, room: i64) -> Vec<String> {
        let clients = presence.list(room).await.unwrap();
        clients.into_iter().map(|c| c.uuid).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_socket_leaving_while_a_refresh_runs_is_not_vouched_back_in() {
        let (hub, presence, room) = (Hub::new(), presence_on_redis(), 5);
        let _stays = join(&hub, room, client("stays"), None).await;
        presence.joined(room, &client("stays")).await.unwrap();
        let (leaver, _end, _) = join(&hub, room, client("leaves"), None).await;
        presence.joined(room, &client("leaves")).await.unwrap();

        // A refresh lists the room; then, before its vouching reaches Redis, a socket leaves (the
        // hub, then presence, as a socket's task does).
        let vouching = presence.vouching().await;
        let listed = hub.room_clients(room);
        assert_eq!(listed.len(), 2);
        hub.leave(room, leaver);
        let leaving = tokio::spawn({
            let presence = presence.clone();
            async move { presence.left(room, &client("leaves")).await }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!leaving.is_finished(), "the leave waits for the vouching");
        let stale = presence.vouch(vouching, room, &listed).await.unwrap();
        assert!(stale.is_empty(), "nobody is stale: {stale:?}");
        leaving.await.unwrap().unwrap();

        assert_eq!(
            presence.count(room).await.unwrap(),
            1,
            "only `stays` counts"
        );
        assert_eq!(uuids(&presence, room).await, ["stays"]);
        // The next refresh vouches for the one socket left and sweeps nobody.
        presence.refresh(&hub).await.unwrap();
        assert_eq!(uuids(&presence, room).await, ["stays"]);
    }

    #[tokio::test]
    async fn a_few_changes_are_told_one_by_one_with_one_count() {
        let hub = Hub::new();
        let watcher = Client {
            uuid: "w".into(),
            user_id: None,
            username: None,
            profile_picture_url: None,
        };
        let (_, mut socket, _) = join(&hub, 9, watcher, None).await;
        let presence = presence();
        for (i, joined) in [(1, true), (2, true), (1, false)] {
            let uuid = format!("s{i}");
            presence.note(PresenceChanged {
                broadcast_id: 9,
                uuid,
                joined,
                count: 2,
                ..Default::default()
            });
        }
        presence.deliver(&hub).await;
        assert_eq!(
            events(&mut socket),
            [
                "chat:new_client",
                "chat:new_client",
                "chat:deleted_client",
                "chat:client_count"
            ]
        );
        presence.deliver(&hub).await;
        assert!(events(&mut socket).is_empty(), "nothing is told twice");
    }
}
