//! SQL of the `broadcasts` schema: one broadcast at a time (listings are in `listings.rs`).

use deadpool_postgres::GenericClient;
use livestreamer_proto::broadcasts::Broadcast;
use tokio_postgres::Row;

use crate::{
    artwork::Artwork,
    domain::{Description, Schedule, Title},
    error::BroadcastError,
};

/// Served by the gateway for broadcasts without artwork of their own.
pub const DEFAULT_ARTWORK_URL: &str = "/api/v1/artwork/default.svg";

pub const COLUMNS: &str = "broadcast_id, user_id, username, title, description,
    (extract(epoch FROM start_at) * 1000)::bigint AS start_at_ms,
    (extract(epoch FROM end_at) * 1000)::bigint AS end_at_ms,
    (extract(epoch FROM start_at) * 1000000)::bigint AS start_at_us,
    artwork_url, is_visible, is_live, listener_peak_count, like_count, duration_sec, recording_url";

pub fn broadcast(row: &Row) -> Broadcast {
    let artwork_url: String = row.get("artwork_url");
    Broadcast {
        broadcast_id: row.get("broadcast_id"),
        user_id: row.get("user_id"),
        username: row.get("username"),
        title: row.get("title"),
        description: row.get("description"),
        start_at_ms: row.get("start_at_ms"),
        end_at_ms: row.get("end_at_ms"),
        artwork_url: if artwork_url.is_empty() {
            DEFAULT_ARTWORK_URL.to_owned()
        } else {
            artwork_url
        },
        is_visible: row.get("is_visible"),
        is_live: row.get("is_live"),
        listener_peak_count: row.get("listener_peak_count"),
        like_count: row.get("like_count"),
        duration_sec: row.get("duration_sec"),
        recording_url: row.get("recording_url"),
        listener_count: 0,
    }
}

fn overlap_or(error: tokio_postgres::Error) -> BroadcastError {
    if BroadcastError::is_overlap(&error) {
        BroadcastError::InvalidInput(
            "startAt and endAt overlap another of your broadcasts".to_owned(),
        )
    } else {
        error.into()
    }
}

/// A new broadcast of `user_id` (call inside a transaction when artwork follows).
pub async fn insert(
    client: &impl GenericClient,
    user_id: i64,
    username: &str,
    title: &Title,
    description: &Description,
    schedule: Schedule,
) -> Result<Broadcast, BroadcastError> {
    let row = client
        .query_one(
            &format!(
                "INSERT INTO broadcasts.broadcasts (user_id, username, title, description, start_at, end_at)
                 VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000), to_timestamp($6::float8 / 1000))
                 RETURNING {COLUMNS}"
            ),
            &[
                &user_id,
                &username,
                &title.as_str(),
                &description.as_str(),
                &(schedule.start_ms as f64),
                &(schedule.end_ms as f64),
            ],
        )
        .await
        .map_err(overlap_or)?;
    Ok(broadcast(&row))
}

pub async fn find(
    client: &impl GenericClient,
    broadcast_id: i64,
) -> Result<Option<Broadcast>, BroadcastError> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM broadcasts.broadcasts WHERE broadcast_id = $1"),
            &[&broadcast_id],
        )
        .await?;
    Ok(row.as_ref().map(broadcast))
}

/// The caller's broadcast, locked for an update in the caller's transaction; NotFound otherwise.
pub async fn lock_own(
    client: &impl GenericClient,
    broadcast_id: i64,
    user_id: i64,
) -> Result<Broadcast, BroadcastError> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM broadcasts.broadcasts
                 WHERE broadcast_id = $1 AND user_id = $2 FOR UPDATE"
            ),
            &[&broadcast_id, &user_id],
        )
        .await?;
    row.as_ref()
        .map(broadcast)
        .ok_or(BroadcastError::NotFound(broadcast_id))
}

/// The editable fields of a broadcast, as they are to be after an update.
pub struct Editable<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub schedule: Schedule,
    pub is_visible: bool,
}

pub async fn update(
    client: &impl GenericClient,
    broadcast_id: i64,
    fields: &Editable<'_>,
) -> Result<Broadcast, BroadcastError> {
    let row = client
        .query_one(
            &format!(
                "UPDATE broadcasts.broadcasts
                 SET title = $2, description = $3, is_visible = $4,
                     start_at = CASE WHEN (extract(epoch FROM start_at) * 1000)::bigint = $5 THEN start_at
                                     ELSE to_timestamp($5::float8 / 1000) END,
                     end_at = CASE WHEN (extract(epoch FROM end_at) * 1000)::bigint = $6 THEN end_at
                                   ELSE to_timestamp($6::float8 / 1000) END
                 WHERE broadcast_id = $1
                 RETURNING {COLUMNS}"
            ),
            &[
                &broadcast_id,
                &fields.title,
                &fields.description,
                &fields.is_visible,
                &fields.schedule.start_ms,
                &fields.schedule.end_ms,
            ],
        )
        .await
        .map_err(overlap_or)?;
    Ok(broadcast(&row))
}

/// Stores re-encoded artwork and points the broadcast at it (replacing any previous one).
pub async fn set_artwork(
    client: &impl GenericClient,
    broadcast_id: i64,
    artwork: &Artwork,
) -> Result<Broadcast, BroadcastError> {
    client
        .execute(
            "DELETE FROM broadcasts.artworks WHERE broadcast_id = $1",
            &[&broadcast_id],
        )
        .await?;
    client
        .execute(
            "INSERT INTO broadcasts.artworks (broadcast_id, artwork_id, content_type, data)
             VALUES ($1, $2, $3, $4)",
            &[
                &broadcast_id,
                &artwork.artwork_id,
                &artwork.content_type,
                &artwork.data,
            ],
        )
        .await?;
    let url = artwork.url(broadcast_id);
    let row = client
        .query_one(
            &format!(
                "UPDATE broadcasts.broadcasts SET artwork_url = $2 WHERE broadcast_id = $1
                 RETURNING {COLUMNS}"
            ),
            &[&broadcast_id, &url],
        )
        .await?;
    Ok(broadcast(&row))
}

pub async fn artwork(
    client: &impl GenericClient,
    broadcast_id: i64,
    artwork_id: &str,
) -> Result<Option<(String, Vec<u8>)>, BroadcastError> {
    let row = client
        .query_opt(
            "SELECT content_type, data FROM broadcasts.artworks
             WHERE broadcast_id = $1 AND artwork_id = $2",
            &[&broadcast_id, &artwork_id],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// Deletes the caller's broadcast (artwork cascades); 409 while live. Returns what was deleted.
pub async fn delete_own(
    client: &impl GenericClient,
    broadcast_id: i64,
    user_id: i64,
) -> Result<Broadcast, BroadcastError> {
    let current = lock_own(client, broadcast_id, user_id).await?;
    if current.is_live {
        return Err(BroadcastError::Conflict(
            "This broadcast is live: end the stream before deleting it".to_owned(),
        ));
    }
    client
        .execute(
            "DELETE FROM broadcasts.broadcasts WHERE broadcast_id = $1",
            &[&broadcast_id],
        )
        .await?;
    Ok(current)
}
