//! The live lifecycle in PostgreSQL: going live (a scheduled window, or "go live now") and ending,
//! where peak listeners, likes, duration and the recording's location are saved in one statement.
//! A broadcast whose heartbeat expired (its relay died) is ended by the reaper with the figures it
//! had, so it never blocks a new stream.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use livestreamer_proto::broadcasts::Broadcast;
use service_kit::{cache::VersionedCache, clock::now_ms, shutdown::Shutdown};

use crate::{
    domain::{Description, Title},
    error::BroadcastError,
    live::{Figures, LiveState},
    repo::{COLUMNS, broadcast},
};

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
    match crate::repo::find(client, broadcast_id).await? {
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

/// The caller's broadcast whose window contains now, live or not.
pub async fn scheduled_now(
    client: &impl GenericClient,
    user_id: i64,
) -> Result<Option<(i64, bool)>, BroadcastError> {
    let row = client
        .query_opt(
            "SELECT broadcast_id, is_live FROM broadcasts.broadcasts
             WHERE user_id = $1 AND now() >= start_at AND now() < end_at
             ORDER BY start_at LIMIT 1",
            &[&user_id],
        )
        .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// "Go live now": the owner's broadcast whose window contains now, or a new ad-hoc one of up to an
/// hour (until the owner's next scheduled broadcast), live at once.
pub async fn go_live_now(
    client: &impl GenericClient,
    user_id: i64,
    username: &str,
    title: &Title,
    description: &Description,
) -> Result<Broadcast, BroadcastError> {
    if let Some((broadcast_id, _)) = scheduled_now(client, user_id).await? {
        return go_live(client, broadcast_id, user_id)
            .await
            .map_err(|e| match e {
                BroadcastError::Conflict(_) => BroadcastError::Conflict(
                    "Your broadcast scheduled for now is already live".to_owned(),
                ),
                other => other,
            });
    }
    let row = client
        .query_one(
            &format!(
                "INSERT INTO broadcasts.broadcasts
                     (user_id, username, title, description, start_at, end_at, is_live, went_live_at, ad_hoc)
                 VALUES ($1, $2, $3, $4, now(),
                         least(now() + interval '1 hour',
                               coalesce((SELECT min(start_at) FROM broadcasts.broadcasts
                                         WHERE user_id = $1 AND start_at > now()),
                                        'infinity')),
                         true, now(), true)
                 RETURNING {COLUMNS}"
            ),
            &[&user_id, &username, &title.as_str(), &description.as_str()],
        )
        .await
        .map_err(|e| {
            if BroadcastError::is_overlap(&e) {
                BroadcastError::Conflict("Another of your broadcasts has just started".to_owned())
            } else {
                e.into()
            }
        })?;
    Ok(broadcast(&row))
}

/// How a live session ended, as far as the relay (or the reaper) knows.
#[derive(Debug, Clone, Default)]
pub struct EndReport {
    pub listener_peak_count: i64,
    /// `None`: count from going live to the last heartbeat.
    pub duration_sec: Option<i64>,
    pub recording_url: String,
}

/// Ends a live session: its figures (the report's and Redis's) in one statement; hidden until its
/// owner publishes it; an ad-hoc window shrinks to what was streamed. False when it was not live
/// (a redelivered event): only a missing recording location is then filled in.
pub async fn end(
    client: &impl GenericClient,
    broadcast_id: i64,
    report: &EndReport,
    figures: Figures,
) -> Result<bool, BroadcastError> {
    let peak = report.listener_peak_count.max(figures.peak);
    let last_seen_ms = if figures.last_seen_ms > 0 {
        figures.last_seen_ms
    } else {
        now_ms()
    };
    let ended = client
        .execute(
            "UPDATE broadcasts.broadcasts
             SET is_live = false, ended_at = now(), is_visible = false,
                 listener_peak_count = greatest(listener_peak_count, $2),
                 like_count = like_count + $3,
                 duration_sec = duration_sec + coalesce($4,
                     greatest(0, (($5::bigint - extract(epoch FROM went_live_at) * 1000) / 1000)::bigint)),
                 recording_url = CASE WHEN $6 = '' THEN recording_url ELSE $6 END,
                 end_at = CASE WHEN ad_hoc THEN greatest(start_at + interval '1 second', least(end_at, now()))
                               ELSE end_at END
             WHERE broadcast_id = $1 AND is_live",
            &[
                &broadcast_id,
                &peak,
                &figures.likes,
                &report.duration_sec,
                &last_seen_ms,
                &report.recording_url,
            ],
        )
        .await?;
    if ended == 0 && !report.recording_url.is_empty() {
        client
            .execute(
                "UPDATE broadcasts.broadcasts SET recording_url = $2
                 WHERE broadcast_id = $1 AND recording_url = ''",
                &[&broadcast_id, &report.recording_url],
            )
            .await?;
    }
    Ok(ended > 0)
}

/// Saves the end of a live session and forgets its live state; every cache is invalidated.
pub async fn finish(
    pool: &Pool,
    live: &LiveState,
    cache: &VersionedCache,
    broadcast_id: i64,
    report: &EndReport,
) -> Result<bool, BroadcastError> {
    let figures = live
        .figures(&[broadcast_id])
        .await?
        .pop()
        .unwrap_or_default();
    let client = pool.get().await?;
    let ended = end(&client, broadcast_id, report, figures).await?;
    live.forget(broadcast_id).await?;
    invalidate(cache).await;
    Ok(ended)
}

/// Invalidates the public listings; a failure only costs freshness until the entries expire.
pub async fn invalidate(cache: &VersionedCache) {
    if let Err(error) = cache.invalidate().await {
        tracing::warn!(%error, "cannot invalidate the listings cache");
    }
}

/// Ends the broadcast if it is live in PostgreSQL but its heartbeat expired. True when it did.
pub async fn reap_if_stale(
    pool: &Pool,
    live: &LiveState,
    cache: &VersionedCache,
    broadcast_id: i64,
) -> Result<bool, BroadcastError> {
    if live.is_live(broadcast_id).await? {
        return Ok(false);
    }
    tracing::warn!(broadcast_id, "live without heartbeat: ending it");
    finish(pool, live, cache, broadcast_id, &EndReport::default()).await
}

/// Every `period`, ends the live broadcasts whose heartbeat expired.
pub async fn reap(
    pool: Pool,
    live: LiveState,
    cache: VersionedCache,
    period: Duration,
    shutdown: Shutdown,
) {
    while !shutdown.is_requested() {
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = shutdown.requested() => break,
        }
        let stale = async {
            let client = pool.get().await?;
            let rows = client
                .query(
                    "SELECT broadcast_id FROM broadcasts.broadcasts
                     WHERE is_live AND went_live_at < now() - $1::bigint * interval '1 millisecond'",
                    &[&(period.as_millis() as i64)],
                )
                .await?;
            Ok::<_, BroadcastError>(rows.iter().map(|r| r.get::<_, i64>(0)).collect::<Vec<_>>())
        };
        let ids = match stale.await {
            Ok(ids) => ids,
            Err(error) => {
                tracing::warn!(%error, "reaper cannot list live broadcasts");
                continue;
            }
        };
        for id in ids {
            if let Err(error) = reap_if_stale(&pool, &live, &cache, id).await {
                tracing::warn!(%error, broadcast_id = id, "reaper cannot end a broadcast");
            }
        }
    }
}
