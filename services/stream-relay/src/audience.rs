//! Listener counts across relay replicas: current and peak per broadcast, kept in Redis.
//!
//! Why this shape: each replica knows only its own listeners. Every replica writes its count for a
//! broadcast into one Redis hash (field = replica) and stamps an expiry for itself in a sorted set; one
//! Lua script, atomic on the server, writes, forgets replicas whose stamp has passed (a replica that
//! died stops counting after [`REPLICA_TTL`]), sums, and raises the peak. Redis's own clock decides
//! expiry, so replicas' clocks may differ. When Redis is unreachable the caller falls back to the
//! replica's own counts: listeners never notice.

use std::time::Duration;

use deadpool_redis::{Pool, redis};

#[cfg(test)]
mod tests;

/// A replica that has not reported for this long no longer counts.
pub const REPLICA_TTL: Duration = Duration::from_secs(15);
/// The peak outlives the broadcast long enough for its end to be recorded.
const PEAK_TTL: Duration = Duration::from_secs(24 * 3600);
/// Redis slower than this is treated as down for this report.
const REPORT_TIMEOUT: Duration = Duration::from_millis(500);

/// KEYS: counts hash, expiry zset, peak. ARGV: replica, count, ttl ms, peak ttl ms.
const REPORT_SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
for _, replica in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('HDEL', KEYS[1], replica)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local total = 0
for _, count in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(count) end
local peak = math.max(total, tonumber(redis.call('GET', KEYS[3]) or '0'))
redis.call('SET', KEYS[3], peak, 'PX', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {total, peak}
";

/// Listeners of one broadcast, over every replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub current: u64,
    pub peak: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    #[error("Redis: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    TimedOut(Duration),
}

/// This replica's view of the shared counts.
#[derive(Clone)]
pub struct Audience {
    pool: Pool,
    prefix: String,
    replica: String,
}

impl Audience {
    /// `replica` names this process among the relay replicas; it must be unique.
    pub fn new(pool: Pool, prefix: &str, replica: String) -> Self {
        Self {
            pool,
            prefix: prefix.to_owned(),
            replica,
        }
    }

    /// Reports this replica's `local` listeners of `broadcast_id`; returns the counts over all
    /// replicas still alive.
    pub async fn report(&self, broadcast_id: i64, local: usize) -> Result<Counts, AudienceError> {
        match tokio::time::timeout(REPORT_TIMEOUT, self.try_report(broadcast_id, local)).await {
            Ok(result) => result,
            Err(_) => Err(AudienceError::TimedOut(REPORT_TIMEOUT)),
        }
    }

    async fn try_report(&self, broadcast_id: i64, local: usize) -> Result<Counts, AudienceError> {
        let base = format!("{}relay:audience:{broadcast_id}", self.prefix);
        let mut connection = self.pool.get().await?;
        let (current, peak): (u64, u64) = redis::cmd("EVAL")
            .arg(REPORT_SCRIPT)
            .arg(3)
            .arg(format!("{base}:counts"))
            .arg(format!("{base}:expiry"))
            .arg(format!("{base}:peak"))
            .arg(&self.replica)
            .arg(local)
            .arg(REPLICA_TTL.as_millis() as u64)
            .arg(PEAK_TTL.as_millis() as u64)
            .query_async(&mut connection)
            .await?;
        Ok(Counts { current, peak })
    }
}

/// A name for this relay among the replicas: host, process id, start time, and a count (tests run
/// several relays in one process).
pub fn replica_name() -> String {
    static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "relay".into());
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{host}-{}-{}-{n}",
        std::process::id(),
        service_kit::clock::now_ms()
    )
}
