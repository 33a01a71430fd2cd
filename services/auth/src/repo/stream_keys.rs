//! Stream keys: the password Icecast source clients send. Only a hash is stored, one per user.

use deadpool_postgres::{GenericClient, Pool};

use crate::error::AuthError;

/// The live, confirmed user named `username` and the hash of their stream key, if they have one.
pub async fn stream_key_of(
    pool: &Pool,
    username: &str,
) -> Result<Option<(i64, Vec<u8>)>, AuthError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT u.user_id, k.key_hash FROM auth.users u JOIN auth.stream_keys k USING (user_id)
             WHERE lower(u.username) = lower($1) AND u.deleted_at IS NULL AND u.is_email_confirmed",
            &[&username],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// When the user's current key was made (Unix ms), if they have one.
pub async fn stream_key_created_at(
    client: &impl GenericClient,
    user_id: i64,
) -> Result<Option<i64>, AuthError> {
    let row = client
        .query_opt(
            "SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM auth.stream_keys
             WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Stores a new key hash in place of the old one; returns when it was made (Unix ms). `None` deletes
/// the key (a deleted account).
pub async fn replace_stream_key(
    client: &impl GenericClient,
    user_id: i64,
    key_hash: Option<&[u8]>,
) -> Result<Option<i64>, AuthError> {
    let Some(key_hash) = key_hash else {
        client
            .execute(
                "DELETE FROM auth.stream_keys WHERE user_id = $1",
                &[&user_id],
            )
            .await?;
        return Ok(None);
    };
    let row = client
        .query_one(
            "INSERT INTO auth.stream_keys (user_id, key_hash) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET key_hash = excluded.key_hash, created_at = now()
             RETURNING (extract(epoch FROM created_at) * 1000)::bigint",
            &[&user_id, &key_hash],
        )
        .await?;
    Ok(Some(row.get(0)))
}
