//! Redis: a connection pool and the key prefix that keeps tests (and several deployments sharing one
//! server) apart.

use deadpool_redis::{Config, Pool, Runtime};

pub fn pool(url: &str) -> anyhow::Result<Pool> {
    Ok(Config::from_url(url).create_pool(Some(Runtime::Tokio1))?)
}

/// A readiness check: PING answers PONG.
pub async fn ping(pool: &Pool) -> Result<(), String> {
    let mut conn = pool.get().await.map_err(|e| e.to_string())?;
    let pong: String = deadpool_redis::redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    if pong == "PONG" {
        Ok(())
    } else {
        Err(format!("PING answered {pong}"))
    }
}
