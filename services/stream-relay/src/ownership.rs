//! Which relay replica holds each live broadcast's source, kept in Redis so that every replica agrees.
//!
//! Why a record per broadcast: several relay processes serve the same broadcasts behind a round-robin
//! edge, so a source may land on any of them, and so may its listeners. The replica that takes the
//! source writes a record (owner, `connected` or `grace`, the user, the broadcast as protobuf, when it
//! started) with a short expiry it refreshes every second; the others read it to open a local mirror
//! ([`crate::mirror`]) and to refuse a second source (409) wherever the first one streams. Every change
//! is one Lua script, atomic on the server, so two replicas never both win a broadcast:
//!
//! - a new broadcast is claimed only if no record exists;
//! - a dropped source (`grace`) may be taken over by the same user on any replica: the script moves
//!   the record to the new owner, returns the sequence number of the last frame (from the burst list,
//!   see [`crate::replication`]) and tells the old owner on the frames channel, in the same step;
//! - only the owner refreshes or releases the record; releasing announces the end on the channel.
//!
//! A replica that dies stops refreshing: its record expires after [`RECORD_TTL`] and the mirrors end.
//! When Redis is unreachable, each replica falls back to what it holds itself (one replica's view).

use std::time::Duration;

use deadpool_redis::{Pool, redis};
use livestreamer_proto::broadcasts::Broadcast;
use prost::Message;

use crate::replication::{self, Keys};

/// A record not refreshed for this long is gone: its owner died.
pub const RECORD_TTL: Duration = Duration::from_secs(5);
/// Redis slower than this is treated as down for this call.
const CALL_TIMEOUT: Duration = Duration::from_millis(500);

/// KEYS: record, user name, burst. ARGV: replica, user id, broadcast, started ms, ttl ms, id.
const CLAIM_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'state', 'connected', 'user', ARGV[2],
  'broadcast', ARGV[3], 'started', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[5])
redis.call('DEL', KEYS[3])
return 1
";

/// KEYS: record, burst, channel. ARGV: replica, user id, ttl ms.
/// Returns {0} absent (or another user's), {1} busy, {2, last frame's sequence bytes or ''}.
const TAKE_OVER_SCRIPT: &str = r"
local f = redis.call('HMGET', KEYS[1], 'state', 'user')
if not f[1] or f[2] ~= ARGV[2] then return {0} end
if f[1] ~= 'grace' then return {1} end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'state', 'connected')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local last = redis.call('LINDEX', KEYS[2], -1)
redis.call('PUBLISH', KEYS[3], 'T' .. ARGV[1])
if last then return {2, string.sub(last, 2, 9)} end
return {2, ''}
";

/// KEYS: record, user name, burst. ARGV: replica, state, ttl ms, user id, broadcast, started ms, id.
/// Refreshes (or, after Redis lost it, rewrites) the record of its owner; 0 when another owns it.
const ASSERT_SCRIPT: &str = r"
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return 0 end
if not owner then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'user', ARGV[4], 'broadcast', ARGV[5], 'started', ARGV[6])
end
redis.call('HSET', KEYS[1], 'state', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call('SET', KEYS[2], ARGV[7], 'PX', ARGV[3])
return 1
";

/// KEYS: record, user name, burst, channel. ARGV: replica, id. Ends the owner's broadcast everywhere.
const RELEASE_SCRIPT: &str = r"
local owner = redis.call('HGET', KEYS[1], 'owner')
if owner and owner ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', KEYS[4], 'E')
return 1
";

#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error("Redis: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("the broadcast record does not decode: {0}")]
    Decode(#[from] prost::DecodeError),
}

/// What a returning source found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// No record of this user's broadcast: it is not live on any replica.
    Absent,
    /// Its source streams (on some replica): a second one is refused.
    Busy,
    /// The source is this replica's now; the next frame's sequence number.
    Taken { next_seq: u64 },
}

/// A live broadcast as its record tells it.
#[derive(Debug, Clone)]
pub struct Record {
    pub broadcast: Broadcast,
    pub started_at_ms: i64,
}

/// This replica's side of the ownership records.
#[derive(Clone)]
pub struct Ownership {
    pool: Pool,
    keys: Keys,
    replica: String,
}

impl Ownership {
    pub fn new(pool: Pool, keys: Keys, replica: String) -> Self {
        Self {
            pool,
            keys,
            replica,
        }
    }

    /// This replica's name.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Claims a new broadcast for this replica; `false` when a record already exists.
    pub async fn claim(&self, record: &Record) -> Result<bool, OwnershipError> {
        let id = record.broadcast.broadcast_id;
        let mut script = redis::cmd("EVAL");
        script
            .arg(CLAIM_SCRIPT)
            .arg(3)
            .arg(self.keys.record(id))
            .arg(self.keys.user(&record.broadcast.username))
            .arg(self.keys.burst(id))
            .arg(&self.replica)
            .arg(record.broadcast.user_id)
            .arg(record.broadcast.encode_to_vec())
            .arg(record.started_at_ms)
            .arg(RECORD_TTL.as_millis() as u64)
            .arg(id);
        Ok(self.eval::<i64>(script).await? == 1)
    }

    /// Takes over `user_id`'s broadcast `id` whose source dropped (on any replica).
    pub async fn take_over(&self, id: i64, user_id: i64) -> Result<Takeover, OwnershipError> {
        let mut script = redis::cmd("EVAL");
        script
            .arg(TAKE_OVER_SCRIPT)
            .arg(3)
            .arg(self.keys.record(id))
            .arg(self.keys.burst(id))
            .arg(self.keys.frames(id))
            .arg(&self.replica)
            .arg(user_id)
            .arg(RECORD_TTL.as_millis() as u64);
        let answer: Vec<redis::Value> = self.eval(script).await?;
        let code = answer
            .first()
            .and_then(|v| redis::from_redis_value_ref::<i64>(v).ok());
        let last = answer
            .get(1)
            .and_then(|v| redis::from_redis_value_ref::<Vec<u8>>(v).ok());
        Ok(match code {
            Some(2) => Takeover::Taken {
                next_seq: last
                    .as_deref()
                    .and_then(replication::seq_of)
                    .map_or(0, |seq| seq + 1),
            },
            Some(1) => Takeover::Busy,
            _ => Takeover::Absent,
        })
    }

    /// Refreshes the record of a broadcast this replica owns, with its source `connected` or not
    /// (`grace`); `false` when another replica took it over.
    pub async fn assert(&self, record: &Record, connected: bool) -> Result<bool, OwnershipError> {
        let id = record.broadcast.broadcast_id;
        let mut script = redis::cmd("EVAL");
        script
            .arg(ASSERT_SCRIPT)
            .arg(3)
            .arg(self.keys.record(id))
            .arg(self.keys.user(&record.broadcast.username))
            .arg(self.keys.burst(id))
            .arg(&self.replica)
            .arg(if connected { "connected" } else { "grace" })
            .arg(RECORD_TTL.as_millis() as u64)
            .arg(record.broadcast.user_id)
            .arg(record.broadcast.encode_to_vec())
            .arg(record.started_at_ms)
            .arg(id);
        Ok(self.eval::<i64>(script).await? == 1)
    }

    /// Ends the broadcast on every replica if this one owns it; `false` when another does.
    pub async fn release(&self, id: i64, username: &str) -> Result<bool, OwnershipError> {
        let mut script = redis::cmd("EVAL");
        script
            .arg(RELEASE_SCRIPT)
            .arg(4)
            .arg(self.keys.record(id))
            .arg(self.keys.user(username))
            .arg(self.keys.burst(id))
            .arg(self.keys.frames(id))
            .arg(&self.replica)
            .arg(id);
        Ok(self.eval::<i64>(script).await? == 1)
    }

    /// Whether broadcast `id` is live on some replica.
    pub async fn exists(&self, id: i64) -> Result<bool, OwnershipError> {
        let mut command = redis::cmd("EXISTS");
        command.arg(self.keys.record(id));
        Ok(self.eval::<i64>(command).await? == 1)
    }

    /// The broadcast live under `username` on some replica, by id.
    pub async fn id_of_user(&self, username: &str) -> Result<Option<i64>, OwnershipError> {
        let mut command = redis::cmd("GET");
        command.arg(self.keys.user(username));
        self.eval(command).await
    }

    /// The record of broadcast `id`, if it is live on some replica.
    pub async fn record(&self, id: i64) -> Result<Option<Record>, OwnershipError> {
        let mut command = redis::cmd("HMGET");
        command
            .arg(self.keys.record(id))
            .arg("broadcast")
            .arg("started");
        let (broadcast, started): (Option<Vec<u8>>, Option<i64>) = self.eval(command).await?;
        let (Some(broadcast), Some(started_at_ms)) = (broadcast, started) else {
            return Ok(None);
        };
        Ok(Some(Record {
            broadcast: Broadcast::decode(broadcast.as_slice())?,
            started_at_ms,
        }))
    }

    async fn eval<T: redis::FromRedisValue>(
        &self,
        command: redis::Cmd,
    ) -> Result<T, OwnershipError> {
        let call = async {
            let mut connection = self.pool.get().await?;
            Ok(command.query_async(&mut connection).await?)
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .unwrap_or(Err(OwnershipError::TimedOut(CALL_TIMEOUT)))
    }
}
