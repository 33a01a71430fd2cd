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

use super::hub::{Client, Hub};

#[derive(Clone)]
pub struct Presence {
    redis: Pool,
    prefix: String,
    publisher: EventPublisher,
    /// A socket whose replica has not vouched for it this long is gone; replicas vouch three times
    /// per expiry (GATEWAY_PRESENCE_EXPIRY_SECS, 30 s).
    expiry_ms: i64,
}

impl Presence {
    pub fn new(redis: Pool, prefix: &str, publisher: EventPublisher, expiry: Duration) -> Self {
        Self {
            redis,
            prefix: prefix.to_owned(),
            publisher,
            expiry_ms: expiry.as_millis() as i64,
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
        let (uuids,): (Vec<String>,) = redis::pipe()
            .zadd(&members, &client.uuid, now)
            .ignore()
            .hset(&details, &client.uuid, serde_json::to_string(client)?)
            .ignore()
            .pexpire(&members, 2 * self.expiry_ms)
            .ignore()
            .pexpire(&details, 2 * self.expiry_ms)
            .ignore()
            .zrangebyscore(&members, now - self.expiry_ms, "+inf")
            .query_async(&mut conn)
            .await?;
        let clients = if uuids.is_empty() {
            Vec::new()
        } else {
            let found: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(&details)
                .arg(&uuids)
                .query_async(&mut conn)
                .await?;
            found
                .into_iter()
                .flatten()
                .filter_map(|json| serde_json::from_str(&json).ok())
                .collect()
        };
        self.announce(room, client, true, uuids.len() as i64).await;
        Ok(clients)
    }

    /// Removes a socket from its room and announces it, unless another replica already did.
    pub async fn left(&self, room: i64, client: &Client) -> anyhow::Result<()> {
        let (members, details) = self.keys(room);
        let mut conn = self.redis.get().await?;
        let (removed, _, count): (i64, i64, i64) = redis::pipe()
            .zrem(&members, &client.uuid)
            .hdel(&details, &client.uuid)
            .zcount(&members, now_ms() - self.expiry_ms, "+inf")
            .query_async(&mut conn)
            .await?;
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
        let now = now_ms();
        for (room, clients) in hub.clients() {
            let (members, details) = self.keys(room);
            let mut conn = self.redis.get().await?;
            let mut pipe = redis::pipe();
            for client in &clients {
                pipe.zadd(&members, &client.uuid, now).ignore();
            }
            pipe.pexpire(&members, 2 * self.expiry_ms).ignore();
            pipe.pexpire(&details, 2 * self.expiry_ms).ignore();
            pipe.zrangebyscore(&members, "-inf", now - self.expiry_ms);
            let (stale,): (Vec<String>,) = pipe.query_async(&mut conn).await?;
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
        }
        Ok(())
    }

    /// Refreshes three times per expiry until shutdown.
    pub async fn keep_fresh(self, hub: std::sync::Arc<Hub>, shutdown: Shutdown) {
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
