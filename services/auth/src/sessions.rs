//! Browser sessions in Redis: `sess:<id>` holds the user id with a sliding expiry, and
//! `user-sess:<user id>` indexes a user's sessions so that they can all be revoked at once.

use deadpool_redis::{
    Pool,
    redis::{AsyncCommands, Script},
};

use crate::{error::AuthError, secrets::random_token};

#[derive(Clone)]
pub struct SessionStore {
    pool: Pool,
    prefix: String,
    ttl_secs: u64,
}

impl SessionStore {
    pub fn new(pool: Pool, prefix: String, ttl_secs: u64) -> Self {
        Self {
            pool,
            prefix,
            ttl_secs,
        }
    }

    pub fn ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    fn session_key(&self, session_id: &str) -> String {
        format!("{}sess:{session_id}", self.prefix)
    }

    fn index_key(&self, user_id: i64) -> String {
        format!("{}user-sess:{user_id}", self.prefix)
    }

    pub async fn create(&self, user_id: i64) -> Result<String, AuthError> {
        let session_id = random_token();
        let mut conn = self.pool.get().await?;
        let index = self.index_key(user_id);
        deadpool_redis::redis::pipe()
            .atomic()
            .set_ex(self.session_key(&session_id), user_id, self.ttl_secs)
            .sadd(&index, &session_id)
            .expire(&index, self.ttl_secs as i64)
            .query_async::<()>(&mut conn)
            .await?;
        Ok(session_id)
    }

    /// The session's user, sliding its expiry; `None` for an unknown or expired session.
    pub async fn resolve(&self, session_id: &str) -> Result<Option<i64>, AuthError> {
        let mut conn = self.pool.get().await?;
        let key = self.session_key(session_id);
        let user_id: Option<i64> = conn
            .get_ex(&key, deadpool_redis::redis::Expiry::EX(self.ttl_secs))
            .await?;
        if let Some(user_id) = user_id {
            // The index lives as long as the longest-lived session it lists.
            let _: () = conn
                .expire(self.index_key(user_id), self.ttl_secs as i64)
                .await?;
        }
        Ok(user_id)
    }

    pub async fn delete(&self, session_id: &str) -> Result<(), AuthError> {
        let mut conn = self.pool.get().await?;
        let key = self.session_key(session_id);
        let user_id: Option<i64> = conn.get_del(&key).await?;
        if let Some(user_id) = user_id {
            let _: () = conn.srem(self.index_key(user_id), session_id).await?;
        }
        Ok(())
    }

    /// Revokes every session of a user at once (deletion, password reset, role change); returns how
    /// many there were. One script, so a session listed in the index cannot outlive it.
    pub async fn revoke_all(&self, user_id: i64) -> Result<usize, AuthError> {
        let script = Script::new(
            r"local ids = redis.call('SMEMBERS', KEYS[1])
              for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id) end
              redis.call('DEL', KEYS[1])
              return #ids",
        );
        let mut conn = self.pool.get().await?;
        let revoked: usize = script
            .key(self.index_key(user_id))
            .arg(self.session_key(""))
            .invoke_async(&mut conn)
            .await?;
        tracing::info!(user_id, revoked, "revoked every session of a user");
        Ok(revoked)
    }
}
