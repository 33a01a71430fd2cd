//! Listings: time groups, visibility, cursor pagination without repeats, per-user and own lists,
//! and the cache version that every write bumps.

mod common;

use common::{HOUR_MS, TestApp, spawn_app, user};
use livestreamer_proto::broadcasts::{
    ListMyBroadcastsRequest, ListUserBroadcastsRequest, TimeGroup, UpdateBroadcastRequest,
};
use tonic::Code;

async fn page(app: &TestApp, time: TimeGroup, limit: u32, cursor: &str) -> (Vec<i64>, String) {
    let page = app.list(time, limit, cursor).await.unwrap();
    let ids = page.broadcasts.iter().map(|b| b.broadcast_id).collect();
    (ids, page.next_cursor)
}

async fn cache_version(app: &TestApp) -> u64 {
    let mut redis = deadpool_redis::redis::Client::open(test_support::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let key = format!("{}broadcasts:listings:version", app.redis_prefix);
    let version: Option<u64> = deadpool_redis::redis::AsyncCommands::get(&mut redis, key)
        .await
        .unwrap();
    version.unwrap_or(0)
}

#[tokio::test]
async fn pages_walk_every_visible_broadcast_once_in_order() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let dj = user(i % 3 + 1);
        let from = (i + 1) * HOUR_MS;
        let b = app
            .schedule(&dj, &format!("Show number {i}"), from, from + 1_000)
            .await;
        ids.push(b.broadcast_id);
    }
    let hidden = ids[3];
    let version = cache_version(&app).await;
    app.client
        .clone()
        .update_broadcast(app.as_user(
            &user(1),
            UpdateBroadcastRequest {
                broadcast_id: hidden,
                is_visible: Some(false),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    assert!(
        cache_version(&app).await > version,
        "a write invalidates the cache"
    );

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (page_ids, next) = page(&app, TimeGroup::Future, 2, &cursor).await;
        assert!(page_ids.len() <= 2);
        seen.extend(page_ids);
        if next.is_empty() {
            break;
        }
        assert!(
            next.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        cursor = next;
    }
    let expected: Vec<i64> = ids.iter().copied().filter(|id| *id != hidden).collect();
    assert_eq!(
        seen, expected,
        "soonest first, each once, the hidden one never"
    );
    assert!(page(&app, TimeGroup::Past, 20, "").await.0.is_empty());

    let cursor = page(&app, TimeGroup::Future, 2, "").await.1;
    let foreign = app.list(TimeGroup::Past, 2, &cursor).await.unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    let too_many = app.list(TimeGroup::Future, 51, "").await.unwrap_err();
    assert!(too_many.message().contains("limit"));
}

#[tokio::test]
async fn user_lists_are_grouped_and_only_the_owner_sees_hidden_ones() {
    let app = spawn_app().await;
    let dj = user(1);
    let now_b = app.schedule(&dj, "On right now", -60_000, HOUR_MS).await;
    let soon = app
        .schedule(&dj, "Coming soon", 2 * HOUR_MS, 3 * HOUR_MS)
        .await;
    let secret = app
        .schedule(&dj, "Secret rehearsal", 4 * HOUR_MS, 5 * HOUR_MS)
        .await;
    app.client
        .clone()
        .update_broadcast(app.as_user(
            &dj,
            UpdateBroadcastRequest {
                broadcast_id: secret.broadcast_id,
                is_visible: Some(false),
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    let public = app
        .client
        .clone()
        .list_user_broadcasts(ListUserBroadcastsRequest {
            username: "dj1".into(),
            time: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let ids = |list: &[livestreamer_proto::broadcasts::Broadcast]| {
        list.iter().map(|b| b.broadcast_id).collect::<Vec<_>>()
    };
    assert_eq!(ids(&public.current), vec![now_b.broadcast_id]);
    assert_eq!(ids(&public.future), vec![soon.broadcast_id]);
    assert!(public.past.is_empty());
    assert!(public.cache_ttl_ms > 0 && public.cache_ttl_ms <= 60_000);

    let own = app
        .client
        .clone()
        .list_my_broadcasts(app.as_user(
            &dj,
            ListMyBroadcastsRequest {
                time: TimeGroup::Future as i32,
                is_visible: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ids(&own.future),
        vec![soon.broadcast_id, secret.broadcast_id]
    );
    assert!(own.current.is_empty(), "only the group asked for");
    let hidden_only = app
        .client
        .clone()
        .list_my_broadcasts(app.as_user(
            &dj,
            ListMyBroadcastsRequest {
                time: 0,
                is_visible: Some(false),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(&hidden_only.future), vec![secret.broadcast_id]);
    let other = app
        .client
        .clone()
        .list_my_broadcasts(app.as_user(&user(2), ListMyBroadcastsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(other.future.is_empty() && other.current.is_empty());
}
