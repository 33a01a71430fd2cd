//! SQL of the `chat` schema.

use deadpool_postgres::GenericClient;
use livestreamer_proto::chat::ChatMessage;
use tokio_postgres::Row;

use crate::{
    domain::{Cursor, MessageText},
    error::ChatError,
};

const COLUMNS: &str = "m.message_id, m.broadcast_id, m.user_id, m.username, m.message,
    (extract(epoch FROM m.created_at) * 1000)::bigint AS created_at_ms,
    (extract(epoch FROM m.created_at) * 1000000)::bigint AS created_at_us,
    coalesce((SELECT array_agg(l.user_id ORDER BY l.created_at) FROM chat.message_likes l
              WHERE l.message_id = m.message_id), '{}') AS liked_by";

fn message(row: &Row) -> ChatMessage {
    ChatMessage {
        message_id: row.get("message_id"),
        broadcast_id: row.get("broadcast_id"),
        user_id: row.get("user_id"),
        username: row.get("username"),
        created_at_ms: row.get("created_at_ms"),
        message: row.get("message"),
        liked_by_user_id: row.get("liked_by"),
    }
}

pub async fn insert(
    client: &impl GenericClient,
    broadcast_id: i64,
    user_id: i64,
    username: &str,
    text: &MessageText,
) -> Result<ChatMessage, ChatError> {
    let row = client
        .query_one(
            &format!(
                "WITH m AS (
                     INSERT INTO chat.messages (broadcast_id, user_id, username, message)
                     VALUES ($1, $2, $3, $4) RETURNING *)
                 SELECT {COLUMNS} FROM m"
            ),
            &[&broadcast_id, &user_id, &username, &text.as_str()],
        )
        .await?;
    Ok(message(&row))
}

/// One page of history, newest first, and the cursor of the next page when there is one.
pub async fn page(
    client: &impl GenericClient,
    broadcast_id: i64,
    limit: i64,
    after: Option<Cursor>,
) -> Result<(Vec<ChatMessage>, Option<Cursor>), ChatError> {
    let (time, id) = after.map_or((i64::MAX, i64::MAX), |c| (c.created_at_us, c.message_id));
    // Integer microseconds against the epoch: exact, unlike a float conversion.
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM chat.messages m
                 WHERE m.broadcast_id = $1
                   AND ($2 = 9223372036854775807
                        OR (m.created_at, m.message_id)
                           < (TIMESTAMPTZ 'epoch' + $2 * INTERVAL '1 microsecond', $3))
                 ORDER BY m.created_at DESC, m.message_id DESC
                 LIMIT $4"
            ),
            &[&broadcast_id, &time, &id, &(limit + 1)],
        )
        .await?;
    let has_more = rows.len() as i64 > limit;
    let page: Vec<&Row> = rows.iter().take(limit as usize).collect();
    let next = if has_more {
        page.last().map(|row| Cursor {
            created_at_us: row.get("created_at_us"),
            message_id: row.get("message_id"),
        })
    } else {
        None
    };
    Ok((page.into_iter().map(message).collect(), next))
}

/// One message of one broadcast, if it exists there.
pub async fn find(
    client: &impl GenericClient,
    broadcast_id: i64,
    message_id: i64,
) -> Result<Option<ChatMessage>, ChatError> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM chat.messages m WHERE m.broadcast_id = $1 AND m.message_id = $2"),
            &[&broadcast_id, &message_id],
        )
        .await?;
    Ok(row.as_ref().map(message))
}

pub async fn delete(client: &impl GenericClient, message_id: i64) -> Result<(), ChatError> {
    client
        .execute(
            "DELETE FROM chat.messages WHERE message_id = $1",
            &[&message_id],
        )
        .await?;
    Ok(())
}

/// Records the like of a message of `broadcast_id`; false when this user already liked it or the
/// broadcast has no such message ([`find`] tells which).
pub async fn like(
    client: &impl GenericClient,
    broadcast_id: i64,
    message_id: i64,
    user_id: i64,
) -> Result<bool, ChatError> {
    let inserted = client
        .execute(
            "INSERT INTO chat.message_likes (message_id, user_id)
             SELECT message_id, $3 FROM chat.messages WHERE broadcast_id = $1 AND message_id = $2
             ON CONFLICT DO NOTHING",
            &[&broadcast_id, &message_id, &user_id],
        )
        .await?;
    Ok(inserted == 1)
}

/// Removes the like of a message of `broadcast_id`; false when this user had not liked it or the
/// broadcast has no such message ([`find`] tells which).
pub async fn unlike(
    client: &impl GenericClient,
    broadcast_id: i64,
    message_id: i64,
    user_id: i64,
) -> Result<bool, ChatError> {
    let deleted = client
        .execute(
            "DELETE FROM chat.message_likes l USING chat.messages m
             WHERE l.message_id = m.message_id AND m.broadcast_id = $1
               AND l.message_id = $2 AND l.user_id = $3",
            &[&broadcast_id, &message_id, &user_id],
        )
        .await?;
    Ok(deleted == 1)
}

/// Deletes a broadcast's whole chat (the broadcast itself was deleted).
pub async fn delete_broadcast(
    client: &impl GenericClient,
    broadcast_id: i64,
) -> Result<u64, ChatError> {
    Ok(client
        .execute(
            "DELETE FROM chat.messages WHERE broadcast_id = $1",
            &[&broadcast_id],
        )
        .await?)
}
