//! SQL of the `broadcasts` schema.

use deadpool_postgres::GenericClient;
use livestreamer_proto::broadcasts::Broadcast;
use tokio_postgres::Row;

use crate::{
    domain::{Description, Schedule, Title},
    error::BroadcastError,
};

const COLUMNS: &str = "broadcast_id, user_id, username, title, description,
    (extract(epoch FROM start_at) * 1000)::bigint AS start_at_ms,
    (extract(epoch FROM end_at) * 1000)::bigint AS end_at_ms,
    artwork_url, is_visible, is_live, listener_peak_count, like_count, duration_sec, recording_url";

fn broadcast(row: &Row) -> Broadcast {
    Broadcast {
        broadcast_id: row.get("broadcast_id"),
        user_id: row.get("user_id"),
        username: row.get("username"),
        title: row.get("title"),
        description: row.get("description"),
        start_at_ms: row.get("start_at_ms"),
        end_at_ms: row.get("end_at_ms"),
        artwork_url: row.get("artwork_url"),
        is_visible: row.get("is_visible"),
        is_live: row.get("is_live"),
        listener_peak_count: row.get("listener_peak_count"),
        like_count: row.get("like_count"),
        duration_sec: row.get("duration_sec"),
        recording_url: row.get("recording_url"),
    }
}

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
        .await?;
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

/// Marks the broadcast live if it is the caller's, inside its window and not live already.
pub async fn go_live(
    client: &impl GenericClient,
    broadcast_id: i64,
    user_id: i64,
) -> Result<Broadcast, BroadcastError> {
    let updated = client
        .query_opt(
            &format!(
                "UPDATE broadcasts.broadcasts SET is_live = true, went_live_at = now(), ended_at = NULL
                 WHERE broadcast_id = $1 AND user_id = $2 AND NOT is_live
                   AND now() >= start_at AND now() < end_at
                 RETURNING {COLUMNS}"
            ),
            &[&broadcast_id, &user_id],
        )
        .await?;
    if let Some(row) = updated {
        return Ok(broadcast(&row));
    }
    // Say why not, in the order a user would want to know it.
    let current = find(client, broadcast_id).await?;
    match current {
        Some(b) if b.user_id != user_id => Err(BroadcastError::NotFound(broadcast_id)),
        None => Err(BroadcastError::NotFound(broadcast_id)),
        Some(b) if b.is_live => Err(BroadcastError::Conflict(
            "This broadcast is already live".to_owned(),
        )),
        Some(_) => Err(BroadcastError::Forbidden(
            "This broadcast can only go live between its start and end times".to_owned(),
        )),
    }
}

/// Records the end of a live stream; the broadcast becomes hidden until its owner publishes it.
pub async fn end_stream(
    client: &impl GenericClient,
    broadcast_id: i64,
    listener_peak_count: i64,
    duration_sec: i64,
) -> Result<(), BroadcastError> {
    client
        .execute(
            "UPDATE broadcasts.broadcasts
             SET is_live = false, ended_at = now(), is_visible = false,
                 listener_peak_count = greatest(listener_peak_count, $2),
                 duration_sec = duration_sec + $3
             WHERE broadcast_id = $1",
            &[&broadcast_id, &listener_peak_count, &duration_sec],
        )
        .await?;
    Ok(())
}

/// "Go live now": marks live the owner's broadcast whose window contains now, or creates one of an
/// hour starting now (live at once) when there is none.
pub async fn go_live_now(
    client: &impl GenericClient,
    user_id: i64,
    username: &str,
    title: &Title,
    description: &Description,
) -> Result<Broadcast, BroadcastError> {
    let scheduled = client
        .query_opt(
            &format!(
                "WITH target AS (
                     SELECT broadcast_id, is_live FROM broadcasts.broadcasts
                     WHERE user_id = $1 AND now() >= start_at AND now() < end_at
                     ORDER BY start_at LIMIT 1 FOR UPDATE)
                 UPDATE broadcasts.broadcasts b
                 SET is_live = true, went_live_at = now(), ended_at = NULL
                 FROM target WHERE b.broadcast_id = target.broadcast_id AND NOT target.is_live
                 RETURNING {}",
                COLUMNS.replace("broadcast_id,", "b.broadcast_id,")
            ),
            &[&user_id],
        )
        .await?;
    if let Some(row) = scheduled {
        return Ok(broadcast(&row));
    }
    let live_now = client
        .query_opt(
            "SELECT 1 FROM broadcasts.broadcasts
             WHERE user_id = $1 AND is_live AND now() >= start_at AND now() < end_at",
            &[&user_id],
        )
        .await?;
    if live_now.is_some() {
        return Err(BroadcastError::Conflict(
            "Your broadcast scheduled for now is already live".to_owned(),
        ));
    }
    let row = client
        .query_one(
            &format!(
                "INSERT INTO broadcasts.broadcasts
                     (user_id, username, title, description, start_at, end_at, is_live, went_live_at)
                 VALUES ($1, $2, $3, $4, now(), now() + interval '1 hour', true, now())
                 RETURNING {COLUMNS}"
            ),
            &[&user_id, &username, &title.as_str(), &description.as_str()],
        )
        .await?;
    Ok(broadcast(&row))
}
