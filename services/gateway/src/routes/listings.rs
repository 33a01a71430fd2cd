//! Broadcast listings: live now, by time group with cursors, per user, and the caller's own.
//!
//! The public listings are cache-aside in Redis as the exact JSON answered, under versioned keys
//! that broadcasts-archive invalidates on every write (`service_kit::cache`), for as long as
//! broadcasts-archive says nothing changes group by the clock. Without Redis they are answered from
//! broadcasts-archive, only slower. The caller's own lists are never cached.

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use livestreamer_proto::broadcasts::{
    Broadcast, GroupedBroadcasts, ListBroadcastsRequest, ListLiveRequest, ListMyBroadcastsRequest,
    ListUserBroadcastsRequest, TimeGroup,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use service_kit::cache::{VersionedCache, namespaces};

use super::parse_limit;
use crate::{AppState, error::ApiError, json::ok, session::SignedIn, views::BroadcastView};

fn views(broadcasts: Vec<Broadcast>) -> Vec<BroadcastView> {
    broadcasts.into_iter().map(BroadcastView::from).collect()
}

/// `time=past|current|future`; absent is `Unspecified` (every group, where that is allowed).
fn time_group(raw: Option<&str>) -> Result<TimeGroup, ApiError> {
    match raw {
        None => Ok(TimeGroup::Unspecified),
        Some("past") => Ok(TimeGroup::Past),
        Some("current") => Ok(TimeGroup::Current),
        Some("future") => Ok(TimeGroup::Future),
        Some(other) => Err(ApiError::bad_request(format!(
            "time must be past, current or future, not {other:?}"
        ))),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LiveView {
    #[serde(flatten)]
    broadcast: BroadcastView,
    listener_count: i64,
}

pub async fn live(State(state): State<AppState>) -> Result<Response, ApiError> {
    let live = state
        .broadcasts
        .clone()
        .list_live(ListLiveRequest {})
        .await?;
    let views: Vec<LiveView> = live
        .into_inner()
        .broadcasts
        .into_iter()
        .map(|b| LiveView {
            listener_count: b.listener_count,
            broadcast: BroadcastView::from(b),
        })
        .collect();
    Ok(ok(views).into_response())
}

fn cache(state: &AppState) -> Option<VersionedCache> {
    state.config.listing_cache.then(|| {
        VersionedCache::new(
            state.redis.clone(),
            state.config.redis_prefix.as_str(),
            namespaces::BROADCAST_LISTINGS,
        )
    })
}

fn json_response(body: Bytes, cache_status: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("x-cache", HeaderValue::from_static(cache_status));
    response
}

/// Answers from the cache, or from `fill` (the JSON body and how long it may be cached), storing it.
async fn cached<F>(state: &AppState, key: &str, fill: F) -> Result<Response, ApiError>
where
    F: Future<Output = Result<(Vec<u8>, i64), ApiError>>,
{
    let Some(cache) = cache(state) else {
        return Ok(json_response(fill.await?.0.into(), "off"));
    };
    let version = match cache.get(key).await {
        Ok(lookup) => match lookup.value {
            Some(body) => return Ok(json_response(body.into(), "hit")),
            None => Some(lookup.version),
        },
        Err(error) => {
            tracing::debug!(%error, "listing cache unavailable");
            None
        }
    };
    let (body, ttl_ms) = fill.await?;
    if let Some(version) = version
        && let Err(error) = cache.put(version, key, &body, ttl_ms.max(1) as u64).await
    {
        tracing::debug!(%error, "cannot fill the listing cache");
    }
    Ok(json_response(body.into(), "miss"))
}

fn body(results: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "results": results })).expect("JSON values serialize")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    time: Option<String>,
    limit: Option<String>,
    next_cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let time = time_group(query.time.as_deref())?;
    if time == TimeGroup::Unspecified {
        return Err(ApiError::bad_request(
            "time must be past, current or future",
        ));
    }
    let request = ListBroadcastsRequest {
        time: time as i32,
        limit: parse_limit(query.limit.as_deref())?,
        cursor: query.next_cursor.unwrap_or_default(),
    };
    let key = format!("list:{}:{}:{}", request.time, request.limit, request.cursor);
    let mut client = state.broadcasts.clone();
    cached(&state, &key, async move {
        let page = client.list_broadcasts(request).await?.into_inner();
        let results = json!({
            "nextCursor": Some(page.next_cursor).filter(|c| !c.is_empty()),
            "broadcasts": views(page.broadcasts),
        });
        Ok((body(results), page.cache_ttl_ms))
    })
    .await
}

fn grouped_json(groups: GroupedBroadcasts) -> serde_json::Value {
    json!({
        "past": views(groups.past),
        "current": views(groups.current),
        "future": views(groups.future),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupQuery {
    time: Option<String>,
    is_visible: Option<String>,
}

pub async fn by_user(
    State(state): State<AppState>,
    Path(username): Path<String>,
    Query(query): Query<GroupQuery>,
) -> Result<Response, ApiError> {
    let time = time_group(query.time.as_deref())?;
    let key = format!("user:{}:{username}", time as i32);
    let request = ListUserBroadcastsRequest {
        username,
        time: time as i32,
    };
    let mut client = state.broadcasts.clone();
    cached(&state, &key, async move {
        let groups = client.list_user_broadcasts(request).await?.into_inner();
        let ttl = groups.cache_ttl_ms;
        Ok((body(grouped_json(groups)), ttl))
    })
    .await
}

pub async fn mine(
    State(state): State<AppState>,
    caller: SignedIn,
    Query(query): Query<GroupQuery>,
) -> Result<Response, ApiError> {
    let is_visible = match query.is_visible.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "isVisible must be true or false, not {other:?}"
            )));
        }
    };
    let request = ListMyBroadcastsRequest {
        time: time_group(query.time.as_deref())? as i32,
        is_visible,
    };
    let groups = state
        .broadcasts
        .clone()
        .list_my_broadcasts(caller.request(request))
        .await?
        .into_inner();
    Ok(ok(grouped_json(groups)).into_response())
}
