//! A versioned cache-aside in Redis, shared by a writer that invalidates and readers that fill.
//!
//! Entries live under `<prefix><namespace>:v<version>:<key>`. A writer invalidates every entry of the
//! namespace at once by incrementing its version *after* its transaction committed; readers read the
//! version first, so an entry filled from data older than a write is stored under a version nobody
//! reads any more, and simply expires. No write has to know which keys it affected, and a change is
//! visible at the next read. Redis being down is an error the caller answers by going to the
//! database: a cache is never the only way to an answer.

use deadpool_redis::{Pool, redis::AsyncCommands};

/// Namespaces shared between services (a writer in one, readers in another).
pub mod namespaces {
    /// Public broadcast listings: written by broadcasts-archive's writes, read by the gateway.
    pub const BROADCAST_LISTINGS: &str = "broadcasts:listings";
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("redis pool: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("redis: {0}")]
    Redis(#[from] deadpool_redis::redis::RedisError),
}

#[derive(Clone)]
pub struct VersionedCache {
    pool: Pool,
    prefix: String,
    namespace: &'static str,
}

/// What a lookup found: the entry if any, and the version to fill a miss under.
pub struct Lookup {
    pub version: u64,
    pub value: Option<Vec<u8>>,
}

impl VersionedCache {
    pub fn new(pool: Pool, prefix: impl Into<String>, namespace: &'static str) -> Self {
        Self {
            pool,
            prefix: prefix.into(),
            namespace,
        }
    }

    fn version_key(&self) -> String {
        format!("{}{}:version", self.prefix, self.namespace)
    }

    fn entry_key(&self, version: u64, key: &str) -> String {
        format!("{}{}:v{version}:{key}", self.prefix, self.namespace)
    }

    /// The entry for `key` under the current version.
    pub async fn get(&self, key: &str) -> Result<Lookup, CacheError> {
        let mut conn = self.pool.get().await?;
        let version: Option<u64> = conn.get(self.version_key()).await?;
        let version = version.unwrap_or(0);
        let value: Option<Vec<u8>> = conn.get(self.entry_key(version, key)).await?;
        Ok(Lookup { version, value })
    }

    /// Stores `value` for `key` under the version a lookup returned, for `ttl_ms` milliseconds.
    pub async fn put(
        &self,
        version: u64,
        key: &str,
        value: &[u8],
        ttl_ms: u64,
    ) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        let _: () = conn
            .pset_ex(self.entry_key(version, key), value, ttl_ms.max(1))
            .await?;
        Ok(())
    }

    /// Makes every entry of the namespace unreadable at once.
    pub async fn invalidate(&self) -> Result<(), CacheError> {
        let mut conn = self.pool.get().await?;
        let _: u64 = conn.incr(self.version_key(), 1u64).await?;
        Ok(())
    }
}
