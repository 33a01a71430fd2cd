//! The live lifecycle and likes: going live, heartbeats, the end saved with its figures, a relay
//! that dies, like storms, and Redis being away.

mod common;

use std::time::Duration;

use common::{HOUR_MS, TestApp, eventually, spawn_app, spawn_app_with, user};
use livestreamer_proto::{
    broadcasts::{
        AuthorizeStreamRequest, Broadcast, GetBroadcastRequest, GoLiveNowRequest,
        LikeStreamRequest, ListLiveRequest, TimeGroup,
    },
    events::{StreamEnded, StreamLiked, StreamStats, routing},
};
use prost::Message;
use test_support::EventTap;
use tonic::Code;

async fn get(app: &TestApp, owner: &common::User, id: i64) -> Broadcast {
    app.client
        .clone()
        .get_broadcast(app.as_user(owner, GetBroadcastRequest { broadcast_id: id }))
        .await
        .unwrap()
        .into_inner()
}

async fn go_live(app: &TestApp, dj: &common::User, id: i64) -> Result<Broadcast, tonic::Status> {
    let request = app.as_user(dj, AuthorizeStreamRequest { broadcast_id: id });
    app.client
        .clone()
        .authorize_stream(request)
        .await
        .map(|r| r.into_inner())
}

async fn like(app: &TestApp, fan: &common::User, id: i64) -> Result<i64, tonic::Status> {
    let request = LikeStreamRequest {
        broadcast_id: id,
        origin: format!("browser-of-{}", fan.user_id),
    };
    app.client
        .clone()
        .like_stream(app.as_user(fan, request))
        .await
        .map(|r| r.into_inner().like_count)
}

async fn stats(app: &TestApp, id: i64, listeners: i64, peak: i64) {
    let stats = StreamStats {
        broadcast_id: id,
        listener_count: listeners,
        listener_peak_count: peak,
        at_ms: common::now_ms(),
    };
    app.publish(routing::STREAM_STATS, &stats).await;
}

#[tokio::test]
async fn a_stream_goes_live_collects_likes_and_ends_with_its_figures_saved() {
    let app = spawn_app().await;
    let mut liked = EventTap::bind(&app.exchange, routing::STREAM_LIKED).await;
    let dj = user(1);
    let b = app.schedule(&dj, "Friday night", -60_000, HOUR_MS).await;
    let offline = like(&app, &user(2), b.broadcast_id).await.unwrap_err();
    assert_eq!(offline.metadata().get("x-http-status").unwrap(), "410");

    let live = go_live(&app, &dj, b.broadcast_id).await.unwrap();
    assert!(live.is_live);
    let twice = go_live(&app, &dj, b.broadcast_id).await.unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    stats(&app, b.broadcast_id, 3, 5).await;
    assert_eq!(like(&app, &user(2), b.broadcast_id).await.unwrap(), 1);
    assert_eq!(like(&app, &user(3), b.broadcast_id).await.unwrap(), 2);
    let (_, payload) = liked.next().await;
    let event = StreamLiked::decode(payload.as_slice()).unwrap();
    assert_eq!((event.liked_by_user_id, event.like_count), (2, 1));
    assert_eq!(
        (event.liked_by_username.as_str(), event.origin.as_str()),
        ("dj2", "browser-of-2")
    );

    let on_air = eventually("the stats to arrive", || async {
        let live = app
            .client
            .clone()
            .list_live(ListLiveRequest {})
            .await
            .unwrap();
        let list = live.into_inner().broadcasts;
        list.into_iter().find(|b| b.listener_count == 3)
    })
    .await;
    assert_eq!((on_air.listener_peak_count, on_air.like_count), (5, 2));

    let ended = StreamEnded {
        broadcast_id: b.broadcast_id,
        user_id: 1,
        listener_peak_count: 4,
        duration_sec: 95,
        recording_url: format!("/api/v1/broadcasts/{}/recording", b.broadcast_id),
        ..Default::default()
    };
    app.publish(routing::STREAM_ENDED, &ended).await;
    let saved = eventually("the end to be saved", || async {
        Some(get(&app, &dj, b.broadcast_id).await).filter(|b| !b.is_live)
    })
    .await;
    assert_eq!(
        saved.listener_peak_count, 5,
        "the higher of relay and heartbeat peaks"
    );
    assert_eq!((saved.like_count, saved.duration_sec), (2, 95));
    assert_eq!(saved.recording_url, ended.recording_url);
    assert!(
        !saved.is_visible,
        "an ended broadcast is hidden until published"
    );
    let late = like(&app, &user(4), b.broadcast_id).await.unwrap_err();
    assert_eq!(
        late.code(),
        Code::NotFound,
        "hidden now: only its owner sees it"
    );

    // The same window may go live again: nothing was left behind in Redis.
    assert!(go_live(&app, &dj, b.broadcast_id).await.unwrap().is_live);
}

#[tokio::test]
async fn a_relay_that_dies_ends_the_broadcast_after_the_heartbeat_expires() {
    let app = spawn_app_with(|config| config.live_ttl_secs = 1).await;
    let dj = user(1);
    let b = app.schedule(&dj, "Fragile stream", -60_000, HOUR_MS).await;
    go_live(&app, &dj, b.broadcast_id).await.unwrap();
    stats(&app, b.broadcast_id, 6, 7).await;
    like(&app, &user(2), b.broadcast_id).await.unwrap();
    // No more heartbeats: the relay is gone.
    let ended = eventually("the broadcast to end", || async {
        Some(get(&app, &dj, b.broadcast_id).await).filter(|b| !b.is_live)
    })
    .await;
    assert_eq!((ended.listener_peak_count, ended.like_count), (7, 1));
    assert!(go_live(&app, &dj, b.broadcast_id).await.unwrap().is_live);
}

#[tokio::test]
async fn a_stale_live_flag_does_not_block_going_live_again() {
    let app = spawn_app().await;
    let dj = user(1);
    let b = app
        .schedule(&dj, "Crash and return", -60_000, HOUR_MS)
        .await;
    go_live(&app, &dj, b.broadcast_id).await.unwrap();
    // The heartbeat vanishes (the relay died and the key expired) before the reaper ran.
    let redis = redis_client(&app).await;
    let key = format!("{}broadcasts:live:{}", app.redis_prefix, b.broadcast_id);
    let _: () = deadpool_redis::redis::AsyncCommands::del(&mut redis.clone(), key)
        .await
        .unwrap();
    assert!(go_live(&app, &dj, b.broadcast_id).await.unwrap().is_live);
}

async fn redis_client(_app: &TestApp) -> deadpool_redis::redis::aio::MultiplexedConnection {
    deadpool_redis::redis::Client::open(test_support::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn like_storms_count_each_user_once_per_10_seconds() {
    let app = spawn_app().await;
    let dj = user(1);
    let b = app.schedule(&dj, "Storm watch", -60_000, HOUR_MS).await;
    go_live(&app, &dj, b.broadcast_id).await.unwrap();

    let fan = user(2);
    let storm = (0..20).map(|_| like(&app, &fan, b.broadcast_id));
    let results = futures_util::future::join_all(storm).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(error.code(), Code::ResourceExhausted);
        let secs: u64 = error
            .metadata()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=10).contains(&secs), "{secs}");
    }

    let crowd = (10..40).map(|id| {
        let fan = user(id);
        let app = &app;
        async move { like(app, &fan, b.broadcast_id).await }
    });
    let counts: Vec<i64> = futures_util::future::join_all(crowd)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        counts.iter().max(),
        Some(&31),
        "one from the first fan, 30 from the crowd"
    );
}

#[tokio::test]
async fn go_live_now_uses_the_window_of_now_or_makes_one_that_fits() {
    let app = spawn_app().await;
    let dj = user(1);
    let next = app
        .schedule(&dj, "Later tonight", 30 * 60_000, HOUR_MS)
        .await;
    let now = GoLiveNowRequest {
        title: "x".into(),
        description: String::new(),
    };
    let ad_hoc = app
        .client
        .clone()
        .go_live_now(app.as_user(&dj, now.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(ad_hoc.is_live && ad_hoc.title.starts_with("Live "));
    assert_eq!(
        ad_hoc.end_at_ms, next.start_at_ms,
        "it stops where the next one starts"
    );
    let again = app
        .client
        .clone()
        .go_live_now(app.as_user(&dj, now))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    let outside = go_live(&app, &dj, next.broadcast_id).await.unwrap_err();
    assert_eq!(outside.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn without_redis_listings_answer_and_likes_are_unavailable() {
    let app = spawn_app_with(|config| config.redis_url = "redis://127.0.0.1:1/".into()).await;
    let dj = user(1);
    let b = app
        .schedule(&dj, "No cache today", HOUR_MS, 2 * HOUR_MS)
        .await;
    let page = app.list(TimeGroup::Future, 0, "").await.unwrap();
    assert_eq!(page.broadcasts[0].broadcast_id, b.broadcast_id);
    let error = like(&app, &user(2), b.broadcast_id).await.unwrap_err();
    assert_eq!(error.code(), Code::Unavailable);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
