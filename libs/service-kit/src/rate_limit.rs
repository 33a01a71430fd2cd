//! Sliding-window rate limits in Redis, shared by every replica of a service.
//!
//! A sorted set per subject holds the times of its recent actions; one Lua script drops the old ones,
//! counts the rest and admits the action when under the limit, atomically, so two replicas cannot
//! both admit the limit's last slot. A refused action is not recorded: a flood does not extend its
//! own ban, and the answer says when the next action will be admitted.

use std::time::Duration;

use deadpool_redis::{Pool, redis::Script};

const SCRIPT: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + tonumber(ARGV[2]) - tonumber(ARGV[1]))
";

/// At most `limit` actions per `window` for each subject.
#[derive(Clone)]
pub struct SlidingWindow {
    pool: Pool,
    key_prefix: String,
    limit: u32,
    window: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; the next action is admitted after this long.
    Limited {
        retry_after: Duration,
    },
}

impl SlidingWindow {
    /// `key_prefix` names the limit (e.g. `ls:chat-rate:`); the subject is appended.
    pub fn new(pool: Pool, key_prefix: impl Into<String>, limit: u32, window: Duration) -> Self {
        Self {
            pool,
            key_prefix: key_prefix.into(),
            limit,
            window,
        }
    }

    /// Records an action by `subject` if the limit allows it.
    pub async fn check(&self, subject: &str) -> anyhow::Result<Decision> {
        let now = crate::clock::now_ms();
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce)?;
        let member = format!("{now}-{}", u64::from_le_bytes(nonce));
        let mut conn = self.pool.get().await?;
        let wait_ms: i64 = Script::new(SCRIPT)
            .key(format!("{}{subject}", self.key_prefix))
            .arg(now)
            .arg(self.window.as_millis() as i64)
            .arg(self.limit)
            .arg(member)
            .invoke_async(&mut conn)
            .await?;
        Ok(if wait_ms <= 0 {
            Decision::Allowed
        } else {
            Decision::Limited {
                retry_after: Duration::from_millis(wait_ms as u64),
            }
        })
    }
}

/// Whole seconds for a `Retry-After` header, rounded up so a client that waits that long is admitted.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
    }
}
