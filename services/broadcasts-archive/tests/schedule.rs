//! Scheduling, editing, publishing and deleting, over gRPC, against the real servers.

mod common;

use common::{HOUR_MS, now_ms, spawn_app, user};
use livestreamer_proto::{
    broadcasts::{
        CreateBroadcastRequest, DeleteBroadcastRequest, GetArtworkRequest, GetBroadcastRequest,
        UpdateBroadcastRequest,
    },
    events::{BroadcastDeleted, routing},
};
use prost::Message;
use test_support::EventTap;
use tonic::Code;

fn png(side: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(side, side, image::Rgb([10, 200, 30]));
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

#[tokio::test]
async fn a_bad_broadcast_is_refused_naming_every_invalid_field() {
    let app = spawn_app().await;
    let now = now_ms();
    let request = CreateBroadcastRequest {
        title: "abc".into(),
        description: "x".repeat(801),
        start_at_ms: now + HOUR_MS,
        end_at_ms: now,
        artwork: None,
    };
    let error = app
        .client
        .clone()
        .create_broadcast(app.as_user(&user(1), request))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    for field in ["title", "description", "startAt"] {
        assert!(error.message().contains(field), "{}", error.message());
    }

    let long = CreateBroadcastRequest {
        title: "🎧🎧🎧🎧🎧 marathon".into(),
        description: String::new(),
        start_at_ms: now + HOUR_MS,
        end_at_ms: now + 14 * HOUR_MS,
        artwork: None,
    };
    let error = app
        .client
        .clone()
        .create_broadcast(app.as_user(&user(1), long))
        .await
        .unwrap_err();
    assert!(error.message().contains("12 hours"), "{}", error.message());

    let emoji = app
        .schedule(&user(1), "🎧🎧🎧🎧🎧", HOUR_MS, 2 * HOUR_MS)
        .await;
    assert_eq!(emoji.title, "🎧🎧🎧🎧🎧");
    assert_eq!(emoji.artwork_url, "/api/v1/artwork/default.svg");
    assert!(emoji.is_visible);
}

#[tokio::test]
async fn concurrent_overlapping_creations_cannot_both_win() {
    let app = spawn_app().await;
    let dj = user(5);
    let now = now_ms();
    let attempts = (0..8).map(|i| {
        let mut client = app.client.clone();
        let request = app.as_user(
            &dj,
            CreateBroadcastRequest {
                title: format!("Race number {i}"),
                description: String::new(),
                start_at_ms: now + HOUR_MS + i * 60_000,
                end_at_ms: now + 2 * HOUR_MS,
                artwork: None,
            },
        );
        async move { client.create_broadcast(request).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        won, 1,
        "exactly one of the overlapping broadcasts is created"
    );
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(error.message().contains("overlap"), "{}", error.message());
    }
    // Another user's window may overlap; the same user's adjacent window may touch.
    app.schedule(&user(6), "Someone else", HOUR_MS, 2 * HOUR_MS)
        .await;
    app.schedule(&dj, "Right after", 2 * HOUR_MS, 3 * HOUR_MS)
        .await;
}

#[tokio::test]
async fn owners_update_any_subset_and_others_get_404() {
    let app = spawn_app().await;
    let (dj, other) = (user(1), user(2));
    let b = app
        .schedule(&dj, "Morning show", HOUR_MS, 2 * HOUR_MS)
        .await;
    let mut client = app.client.clone();

    let hide = UpdateBroadcastRequest {
        broadcast_id: b.broadcast_id,
        is_visible: Some(false),
        description: Some("Coffee and vinyl".into()),
        ..Default::default()
    };
    let stolen = client
        .update_broadcast(app.as_user(&other, hide.clone()))
        .await
        .unwrap_err();
    assert_eq!(stolen.code(), Code::NotFound);
    let hidden = client
        .update_broadcast(app.as_user(&dj, hide))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (hidden.is_visible, hidden.title.as_str()),
        (false, "Morning show")
    );
    assert_eq!(hidden.description, "Coffee and vinyl");
    assert_eq!(hidden.start_at_ms, b.start_at_ms);

    // Hidden: 404 for others and guests, visible to its owner.
    let get = |id| GetBroadcastRequest { broadcast_id: id };
    let guest = client.get_broadcast(get(b.broadcast_id)).await.unwrap_err();
    assert_eq!(guest.code(), Code::NotFound);
    let theirs = client
        .get_broadcast(app.as_user(&other, get(b.broadcast_id)))
        .await;
    assert_eq!(theirs.unwrap_err().code(), Code::NotFound);
    client
        .get_broadcast(app.as_user(&dj, get(b.broadcast_id)))
        .await
        .unwrap();

    let bad = UpdateBroadcastRequest {
        broadcast_id: b.broadcast_id,
        title: Some("no".into()),
        end_at_ms: Some(b.start_at_ms - 1),
        ..Default::default()
    };
    let error = client
        .update_broadcast(app.as_user(&dj, bad))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().contains("title") && error.message().contains("endAt"));

    let later = app
        .schedule(&dj, "Evening show", 3 * HOUR_MS, 4 * HOUR_MS)
        .await;
    let overlapping = UpdateBroadcastRequest {
        broadcast_id: later.broadcast_id,
        start_at_ms: Some(b.start_at_ms + 60_000),
        ..Default::default()
    };
    let error = client
        .update_broadcast(app.as_user(&dj, overlapping))
        .await
        .unwrap_err();
    assert!(error.message().contains("overlap"), "{}", error.message());
}

#[tokio::test]
async fn artwork_is_re_encoded_served_and_checked_by_its_bytes() {
    let app = spawn_app().await;
    let dj = user(1);
    let now = now_ms();
    let mut client = app.client.clone();
    let request = CreateBroadcastRequest {
        title: "With a cover".into(),
        description: String::new(),
        start_at_ms: now + HOUR_MS,
        end_at_ms: now + 2 * HOUR_MS,
        artwork: Some(png(1500)),
    };
    let b = client
        .create_broadcast(app.as_user(&dj, request))
        .await
        .unwrap()
        .into_inner();
    let prefix = format!("/api/v1/broadcasts/{}/artwork/", b.broadcast_id);
    let artwork_id = b
        .artwork_url
        .strip_prefix(&prefix)
        .unwrap()
        .strip_suffix(".jpg")
        .unwrap();
    let artwork = client
        .get_artwork(GetArtworkRequest {
            broadcast_id: b.broadcast_id,
            artwork_id: artwork_id.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(artwork.content_type, "image/jpeg");
    let decoded = image::load_from_memory(&artwork.data).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (1024, 1024));

    let mut executable = b"MZ\x90\x00".to_vec();
    executable.resize(10_000, 0x90);
    let update = UpdateBroadcastRequest {
        broadcast_id: b.broadcast_id,
        artwork: Some(executable),
        ..Default::default()
    };
    let error = client
        .update_broadcast(app.as_user(&dj, update))
        .await
        .unwrap_err();
    assert_eq!(error.metadata().get("x-http-status").unwrap(), "415");
    let unchanged = client
        .get_broadcast(GetBroadcastRequest {
            broadcast_id: b.broadcast_id,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unchanged.artwork_url, b.artwork_url);
}

#[tokio::test]
async fn deleting_tells_chat_and_the_relay_and_refuses_others() {
    let app = spawn_app().await;
    let mut deleted = EventTap::bind(&app.exchange, routing::BROADCAST_DELETED).await;
    let (dj, other) = (user(1), user(2));
    let b = app.schedule(&dj, "Short lived", HOUR_MS, 2 * HOUR_MS).await;
    let mut client = app.client.clone();
    let delete = DeleteBroadcastRequest {
        broadcast_id: b.broadcast_id,
    };
    let error = client
        .delete_broadcast(app.as_user(&other, delete))
        .await
        .unwrap_err();
    assert_eq!(error.code(), Code::NotFound);
    client
        .delete_broadcast(app.as_user(&dj, delete))
        .await
        .unwrap();
    let (key, payload) = deleted.next().await;
    assert_eq!(key, "broadcast.deleted");
    let event = BroadcastDeleted::decode(payload.as_slice()).unwrap();
    assert_eq!((event.broadcast_id, event.user_id), (b.broadcast_id, 1));
    let gone = client
        .get_broadcast(app.as_user(
            &dj,
            GetBroadcastRequest {
                broadcast_id: b.broadcast_id,
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    let again = client
        .delete_broadcast(app.as_user(&dj, delete))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}
