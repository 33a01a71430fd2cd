//! What is live now, in Redis: a heartbeat key per live broadcast that expires unless the relay's
//! `stream.started` / `stream.stats` events keep refreshing it (so a crashed relay cannot keep a
//! broadcast "live" forever), the live figures (listeners, peak, likes, last heartbeat) in a hash
//! that outlives the heartbeat until the end is saved, and the per-user like cooldowns.

use std::collections::HashMap;

use deadpool_redis::{
    Pool,
    redis::{AsyncCommands, Script},
};

use crate::error::BroadcastError;

/// The figures hash lives this long at most (a safety net: the end of a broadcast deletes it).
const FIGURES_TTL_SECS: i64 = 7 * 24 * 3600;
/// One like per user and broadcast per this many milliseconds.
pub const LIKE_COOLDOWN_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub listeners: i64,
    pub peak: i64,
    pub likes: i64,
    /// The last heartbeat, Unix ms; 0 when none came.
    pub last_seen_ms: i64,
}

impl Figures {
    fn from_hash(hash: &HashMap<String, i64>) -> Self {
        let field = |name: &str| hash.get(name).copied().unwrap_or(0);
        Self {
            listeners: field("listeners"),
            peak: field("peak"),
            likes: field("likes"),
            last_seen_ms: field("last_seen_ms"),
        }
    }
}

/// The outcome of a like.
#[derive(Debug, PartialEq, Eq)]
pub enum Like {
    Counted(i64),
    NotLive,
    CoolingDown { retry_after_ms: u64 },
}

#[derive(Clone)]
pub struct LiveState {
    pool: Pool,
    prefix: String,
    ttl_ms: u64,
}

// KEYS: heartbeat, figures. ARGV: ttl ms, listeners (or -1), peak, now ms, figures ttl s.
const HEARTBEAT: &str = r#"
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
if tonumber(ARGV[2]) >= 0 then redis.call('HSET', KEYS[2], 'listeners', ARGV[2]) end
local peak = tonumber(redis.call('HGET', KEYS[2], 'peak') or '0')
if tonumber(ARGV[3]) > peak then redis.call('HSET', KEYS[2], 'peak', ARGV[3]) end
redis.call('HSET', KEYS[2], 'last_seen_ms', ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return 1
"#;

// KEYS: heartbeat, figures, cooldown. ARGV: cooldown ms. -1: not live; {-2, pttl}: cooling down.
const LIKE: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
  return {-2, redis.call('PTTL', KEYS[3])}
end
return {redis.call('HINCRBY', KEYS[2], 'likes', 1), 0}
"#;

impl LiveState {
    pub fn new(pool: Pool, prefix: &str, ttl_secs: u64) -> Self {
        Self {
            pool,
            prefix: format!("{prefix}broadcasts:"),
            ttl_ms: ttl_secs.max(1) * 1000,
        }
    }

    fn heartbeat_key(&self, id: i64) -> String {
        format!("{}live:{id}", self.prefix)
    }

    fn figures_key(&self, id: i64) -> String {
        format!("{}figures:{id}", self.prefix)
    }

    /// A new live session: fresh figures, and a heartbeat so it counts as live until the relay's
    /// first event.
    pub async fn start(&self, id: i64, now_ms: i64) -> Result<(), BroadcastError> {
        let mut conn = self.pool.get().await?;
        let _: () = conn.del(self.figures_key(id)).await?;
        self.beat(id, None, now_ms).await
    }

    /// A heartbeat, with the relay's listener figures when it sent some.
    pub async fn beat(
        &self,
        id: i64,
        listeners: Option<(i64, i64)>,
        now_ms: i64,
    ) -> Result<(), BroadcastError> {
        let mut conn = self.pool.get().await?;
        let (count, peak) = listeners.unwrap_or((-1, 0));
        let _: i64 = Script::new(HEARTBEAT)
            .key(self.heartbeat_key(id))
            .key(self.figures_key(id))
            .arg(self.ttl_ms)
            .arg(count)
            .arg(peak.max(count))
            .arg(now_ms)
            .arg(FIGURES_TTL_SECS)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    pub async fn is_live(&self, id: i64) -> Result<bool, BroadcastError> {
        let mut conn = self.pool.get().await?;
        Ok(conn.exists(self.heartbeat_key(id)).await?)
    }

    pub async fn like(&self, id: i64, user_id: i64) -> Result<Like, BroadcastError> {
        let mut conn = self.pool.get().await?;
        let (first, second): (i64, i64) = Script::new(LIKE)
            .key(self.heartbeat_key(id))
            .key(self.figures_key(id))
            .key(format!("{}like:{id}:{user_id}", self.prefix))
            .arg(LIKE_COOLDOWN_MS)
            .invoke_async(&mut conn)
            .await?;
        Ok(match first {
            -1 => Like::NotLive,
            -2 => Like::CoolingDown {
                retry_after_ms: u64::try_from(second).unwrap_or(LIKE_COOLDOWN_MS),
            },
            count => Like::Counted(count),
        })
    }

    /// The live figures of each of `ids` (zeros for those without any).
    pub async fn figures(&self, ids: &[i64]) -> Result<Vec<Figures>, BroadcastError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.pool.get().await?;
        let mut pipe = deadpool_redis::redis::pipe();
        for id in ids {
            pipe.hgetall(self.figures_key(*id));
        }
        let hashes: Vec<HashMap<String, i64>> = pipe.query_async(&mut conn).await?;
        Ok(hashes.iter().map(Figures::from_hash).collect())
    }

    /// Forgets a live session whose end has been saved.
    pub async fn forget(&self, id: i64) -> Result<(), BroadcastError> {
        let mut conn = self.pool.get().await?;
        let _: () = conn
            .del(&[self.heartbeat_key(id), self.figures_key(id)])
            .await?;
        Ok(())
    }
}
