//! Listings: broadcasts by time group, with keyset pagination for the public list and grouping for
//! per-user lists. Groups, as API.md defines them: future `start > now`, past `end < now` or ended,
//! current otherwise (a live broadcast is always current).

use deadpool_postgres::GenericClient;
use livestreamer_proto::broadcasts::{Broadcast, GroupedBroadcasts, TimeGroup};

use crate::{
    cursor::Cursor,
    domain::PageLimit,
    error::BroadcastError,
    repo::{COLUMNS, broadcast},
};

/// How long a listing may be cached at most, even when no group boundary comes sooner.
pub const MAX_CACHE_TTL_MS: i64 = 60_000;
/// Per-user lists hold at most this many broadcasts (the most recent by start).
pub const USER_LIST_MAX: i64 = 500;

const FUTURE: &str = "(start_at > now() AND NOT is_live)";
const PAST: &str =
    "(NOT is_live AND start_at <= now() AND (end_at < now() OR ended_at IS NOT NULL))";
const CURRENT: &str = "(start_at <= now() AND (is_live OR (end_at >= now() AND ended_at IS NULL)))";

fn condition(group: TimeGroup) -> &'static str {
    match group {
        TimeGroup::Past => PAST,
        TimeGroup::Current => CURRENT,
        TimeGroup::Future | TimeGroup::Unspecified => FUTURE,
    }
}

/// One page of visible broadcasts of `group`: past newest first, current and future soonest first.
pub async fn page(
    client: &impl GenericClient,
    group: TimeGroup,
    limit: PageLimit,
    after: Option<Cursor>,
) -> Result<(Vec<Broadcast>, Option<Cursor>), BroadcastError> {
    let (order, compare) = match group {
        TimeGroup::Past => ("DESC", "<"),
        _ => ("ASC", ">"),
    };
    let keyset = match after {
        Some(_) => format!(
            "AND (start_at, broadcast_id) {compare}
                 (to_timestamp(0) + $2::bigint * interval '1 microsecond', $3::bigint)"
        ),
        None => "AND $2::bigint IS NOT NULL AND $3::bigint IS NOT NULL".to_owned(),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM broadcasts.broadcasts
         WHERE is_visible AND {} {keyset}
         ORDER BY start_at {order}, broadcast_id {order} LIMIT $1",
        condition(group)
    );
    let (start_us, id) = after.map_or((0, 0), |c| (c.start_us, c.broadcast_id));
    let rows = client
        .query(&sql, &[&(limit.0 + 1), &start_us, &id])
        .await?;
    let more = rows.len() as i64 > limit.0;
    let rows = &rows[..rows.len().min(limit.0 as usize)];
    let next = rows.last().filter(|_| more).map(|row| Cursor {
        group,
        start_us: row.get("start_at_us"),
        broadcast_id: row.get("broadcast_id"),
    });
    Ok((rows.iter().map(broadcast).collect(), next))
}

/// Milliseconds until some visible broadcast changes group by the clock alone (capped).
pub async fn cache_ttl_ms(client: &impl GenericClient) -> Result<i64, BroadcastError> {
    let row = client
        .query_one(
            "SELECT (extract(epoch FROM least(
                        (SELECT min(start_at) FROM broadcasts.broadcasts
                         WHERE is_visible AND start_at > now()),
                        (SELECT min(end_at) FROM broadcasts.broadcasts
                         WHERE is_visible AND end_at >= now() AND NOT is_live AND ended_at IS NULL)
                    ) - now()) * 1000)::bigint",
            &[],
        )
        .await?;
    let until: Option<i64> = row.get(0);
    Ok(until.unwrap_or(MAX_CACHE_TTL_MS).clamp(1, MAX_CACHE_TTL_MS))
}

/// Which broadcasts of a per-user list.
pub enum Owner<'a> {
    /// Anyone's view of a user: visible ones only.
    Public { username: &'a str },
    /// The owner's own view: hidden ones too, optionally filtered by visibility.
    Own {
        user_id: i64,
        is_visible: Option<bool>,
    },
}

/// A user's broadcasts grouped by time, optionally only one group.
pub async fn grouped(
    client: &impl GenericClient,
    owner: Owner<'_>,
    only: TimeGroup,
) -> Result<GroupedBroadcasts, BroadcastError> {
    let only_sql = match only {
        TimeGroup::Unspecified => "true",
        group => condition(group),
    };
    let sql = |filter: &str| {
        format!(
            "SELECT {COLUMNS}, {FUTURE} AS is_future, {PAST} AS is_past
             FROM broadcasts.broadcasts WHERE {filter} AND {only_sql}
             ORDER BY start_at DESC, broadcast_id DESC LIMIT {USER_LIST_MAX}"
        )
    };
    let rows = match owner {
        Owner::Public { username } => {
            client
                .query(&sql("username = $1 AND is_visible"), &[&username])
                .await?
        }
        Owner::Own {
            user_id,
            is_visible,
        } => {
            client
                .query(
                    &sql("user_id = $1 AND ($2::bool IS NULL OR is_visible = $2)"),
                    &[&user_id, &is_visible],
                )
                .await?
        }
    };
    let mut groups = GroupedBroadcasts::default();
    for row in &rows {
        let list = match (row.get("is_future"), row.get("is_past")) {
            (true, _) => &mut groups.future,
            (_, true) => &mut groups.past,
            _ => &mut groups.current,
        };
        list.push(broadcast(row));
    }
    groups.current.reverse();
    groups.future.reverse();
    Ok(groups)
}

/// The visible broadcasts live now, longest on air first.
pub async fn live(client: &impl GenericClient) -> Result<Vec<Broadcast>, BroadcastError> {
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM broadcasts.broadcasts
                 WHERE is_live AND is_visible ORDER BY went_live_at, broadcast_id"
            ),
            &[],
        )
        .await?;
    Ok(rows.iter().map(broadcast).collect())
}
