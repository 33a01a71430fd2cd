//! The broadcasts archive through the edge, as browsers and DJs use it: scheduling rules and their
//! error messages, partial updates, publishing and hiding, deletion, artwork, cached listings with
//! cursors, and a live broadcast that is liked, ends, and is found in the archive with its figures.

use std::time::Duration;

use e2e::{
    Platform, SignedInUser,
    audio::{ffmpeg_put, listen, wait_for_stream},
    next_event,
};
use reqwest::{Method, multipart};
use serde_json::{Value, json};

fn iso_in(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

async fn send(request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)?
    };
    Ok((status, body))
}

async fn create(
    platform: &Platform,
    dj: &SignedInUser,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    send(
        dj.request(platform, Method::POST, "/api/v1/users/me/broadcasts")
            .json(&body),
    )
    .await
}

/// A PNG the size of `side`×`side`.
fn png(side: u32) -> Vec<u8> {
    // Uncompressed-enough PNG built by hand would be long; ffmpeg makes one in a few ms.
    let out = std::env::temp_dir().join(format!("art-{}-{side}.png", uuid::Uuid::new_v4()));
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={side}x{side}:rate=1"))
        .args(["-frames:v", "1", "-y"])
        .arg(&out)
        .status()
        .expect("run ffmpeg");
    assert!(status.success());
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(out);
    bytes
}

#[tokio::test]
async fn scheduling_rules_answer_with_every_invalid_field() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("sched").await?;

    // Another time zone, a charset in the Content-Type, an emoji title.
    let start = (chrono::Utc::now() + chrono::Duration::hours(2))
        .with_timezone(&chrono::FixedOffset::east_opt(5 * 3600 + 1800).unwrap());
    let body = json!({
        "title": "🎧🎧🎧🎧🎧", "startAt": start.to_rfc3339(),
        "endAt": (start + chrono::Duration::hours(1)).to_rfc3339(),
    });
    let response = dj
        .request(&platform, Method::POST, "/api/v1/users/me/broadcasts")
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await?;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str()?.to_owned();
    let created: Value = response.json().await?;
    let b = &created["results"];
    assert_eq!(location, format!("/api/v1/broadcasts/{}", b["broadcastId"]));
    let start_at = b["startAt"].as_str().unwrap();
    assert!(
        start_at.ends_with('Z') && start_at.len() == 24,
        "UTC with ms: {start_at}"
    );
    assert_eq!(b["artworkUrl"], "/api/v1/artwork/default.svg");
    assert_eq!(b["recordingUrl"], Value::Null);

    let (status, error) = create(&platform, &dj, json!({
        "title": "abc", "description": "d".repeat(5000), "startAt": iso_in(120), "endAt": iso_in(60),
    })).await?;
    assert_eq!(status, 400);
    let message = error["message"].as_str().unwrap();
    for field in ["title", "description", "startAt"] {
        assert!(message.contains(field), "{message}");
    }
    let (status, error) = create(
        &platform,
        &dj,
        json!({
            "title": "Bad times", "startAt": "next friday", "endAt": "2026-13-45",
        }),
    )
    .await?;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("startAt"));
    assert!(error["message"].as_str().unwrap().contains("endAt"));
    let (status, error) = create(
        &platform,
        &dj,
        json!({
            "title": "In the past", "startAt": iso_in(-120), "endAt": iso_in(-60),
        }),
    )
    .await?;
    assert_eq!(
        (status, error["statusText"].as_str()),
        (400, Some("BadRequest"))
    );
    let (status, error) = create(
        &platform,
        &dj,
        json!({
            "title": "Overlapping", "startAt": start.to_rfc3339(), "endAt": iso_in(600),
        }),
    )
    .await?;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("overlap"));
    Ok(())
}

#[tokio::test]
async fn owners_edit_publish_hide_and_delete_and_others_get_404() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("edit").await?;
    let other = platform.signed_in_user("other").await?;
    let (_, created) = create(
        &platform,
        &dj,
        json!({
            "title": "Editable show", "startAt": iso_in(300), "endAt": iso_in(360),
        }),
    )
    .await?;
    let id = created["results"]["broadcastId"].as_i64().unwrap();
    let path = format!("/api/v1/users/me/broadcasts/{id}");

    let hide = json!({ "isVisible": false, "title": "Renamed show" });
    let (status, _) = send(other.request(&platform, Method::PATCH, &path).json(&hide)).await?;
    assert_eq!(
        status, 404,
        "someone else's broadcast is not found, never changed"
    );
    let (status, _) = send(other.request(&platform, Method::DELETE, &path)).await?;
    assert_eq!(status, 404);
    let (status, updated) = send(dj.request(&platform, Method::PATCH, &path).json(&hide)).await?;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["results"]["title"], "Renamed show");
    assert_eq!(updated["results"]["isVisible"], false);

    let public = format!("/api/v1/broadcasts/{id}");
    assert_eq!(send(platform.http.get(platform.url(&public))).await?.0, 404);
    assert_eq!(
        send(dj.request(&platform, Method::GET, &public)).await?.0,
        200
    );
    let user_list = format!("/api/v1/users/{}/broadcasts", dj.username);
    let (_, listed) = send(platform.http.get(platform.url(&user_list))).await?;
    assert_eq!(
        listed["results"]["future"],
        json!([]),
        "hidden ones are not listed publicly"
    );
    let (_, mine) = send(dj.request(
        &platform,
        Method::GET,
        "/api/v1/users/me/broadcasts?time=future",
    ))
    .await?;
    assert_eq!(mine["results"]["future"][0]["broadcastId"], id);

    let publish = json!({ "isVisible": true });
    send(dj.request(&platform, Method::PATCH, &path).json(&publish)).await?;
    let (_, listed) = send(platform.http.get(platform.url(&user_list))).await?;
    assert_eq!(
        listed["results"]["future"][0]["broadcastId"], id,
        "published: listed at once"
    );

    let (status, body) = send(dj.request(&platform, Method::DELETE, &path)).await?;
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(
        send(dj.request(&platform, Method::GET, &public)).await?.0,
        404
    );
    Ok(())
}

#[tokio::test]
async fn artwork_is_checked_by_content_re_encoded_and_cached_for_long() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("art").await?;
    let fields = json!({ "title": "Cover art", "startAt": iso_in(600), "endAt": iso_in(660) });
    let form = multipart::Form::new()
        .text("broadcast", fields.to_string())
        .part(
            "artwork",
            multipart::Part::bytes(png(1600)).file_name("cover.jpg"),
        );
    let path = "/api/v1/users/me/broadcasts";
    let (status, created) = send(dj.request(&platform, Method::POST, path).multipart(form)).await?;
    assert_eq!(status, 201, "{created}");
    let url = created["results"]["artworkUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let image = platform.http.get(platform.url(&url)).send().await?;
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/jpeg");
    assert!(
        image.headers()["cache-control"]
            .to_str()?
            .contains("immutable")
    );
    let bytes = image.bytes().await?;
    assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF], "re-encoded as JPEG");

    let id = created["results"]["broadcastId"].as_i64().unwrap();
    let patch = format!("/api/v1/users/me/broadcasts/{id}");
    let mut executable = b"\x7fELF\x02\x01\x01\x00".to_vec();
    executable.resize(50_000, 0);
    let form = multipart::Form::new().text("broadcast", "{}").part(
        "artwork",
        multipart::Part::bytes(executable)
            .file_name("cover.jpg")
            .mime_str("image/jpeg")?,
    );
    let (status, error) =
        send(dj.request(&platform, Method::PATCH, &patch).multipart(form)).await?;
    assert_eq!(
        (status, error["statusText"].as_str()),
        (415, Some("UnsupportedMediaType"))
    );

    let form = multipart::Form::new().text("broadcast", "{}").part(
        "artwork",
        multipart::Part::bytes(vec![0xFF; 11 * 1024 * 1024]),
    );
    let (status, _) = send(dj.request(&platform, Method::PATCH, &patch).multipart(form)).await?;
    assert_eq!(status, 413);
    let form = multipart::Form::new().text("broadcast", "{}").part(
        "artwork",
        multipart::Part::bytes(vec![0xFF; 50 * 1024 * 1024]),
    );
    let response = dj
        .request(&platform, Method::PATCH, &patch)
        .multipart(form)
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(
            response.status(),
            413,
            "a 50 MB image is refused, never a 500"
        );
    }

    let default = platform
        .http
        .get(platform.url("/api/v1/artwork/default.svg"))
        .send()
        .await?;
    assert_eq!(default.headers()["content-type"], "image/svg+xml");
    Ok(())
}

#[tokio::test]
async fn listings_page_with_cursors_and_the_cache_sees_writes_at_once() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("list").await?;
    let mut ids = Vec::new();
    for i in 0..3 {
        let body = json!({ "title": format!("Listed show {i}"), "startAt": iso_in(2000 + i * 60), "endAt": iso_in(2030 + i * 60) });
        ids.push(
            create(&platform, &dj, body).await?.1["results"]["broadcastId"]
                .as_i64()
                .unwrap(),
        );
    }
    let (mut seen, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let mut path = "/api/v1/broadcasts?time=future&limit=2".to_owned();
        if let Some(c) = &cursor {
            assert!(
                c.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            );
            path.push_str(&format!("&nextCursor={c}"));
        }
        let (status, page) = send(platform.http.get(platform.url(&path))).await?;
        assert_eq!(status, 200, "{page}");
        for b in page["results"]["broadcasts"].as_array().unwrap() {
            let id = b["broadcastId"].as_i64().unwrap();
            assert!(!seen.contains(&id), "a page repeated broadcast {id}");
            seen.push(id);
        }
        match page["results"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(ids.iter().all(|id| seen.contains(id)));
    assert_eq!(
        send(
            platform
                .http
                .get(platform.url("/api/v1/broadcasts?time=someday"))
        )
        .await?
        .0,
        400
    );

    // A second read is a cache hit (unless another test wrote in between); a write shows at once.
    let url = platform.url(&format!(
        "/api/v1/users/{}/broadcasts?time=future",
        dj.username
    ));
    let mut hit = false;
    for _ in 0..10 {
        platform.http.get(&url).send().await?;
        let again = platform.http.get(&url).send().await?;
        if again.headers().get("x-cache").is_some_and(|v| v == "hit") {
            hit = true;
            break;
        }
    }
    assert!(hit, "the public listing is served from the cache");
    let body = json!({ "title": "Added later", "startAt": iso_in(3000), "endAt": iso_in(3030) });
    let added = create(&platform, &dj, body).await?.1["results"]["broadcastId"]
        .as_i64()
        .unwrap();
    let (_, listed) = send(platform.http.get(&url)).await?;
    let future = listed["results"]["future"].as_array().unwrap();
    assert!(
        future.iter().any(|b| b["broadcastId"] == added),
        "a write invalidates the cache"
    );
    Ok(())
}

#[tokio::test]
async fn a_live_broadcast_is_liked_ends_and_is_archived_with_its_figures() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("live").await?;
    let fan = platform.signed_in_user("fan").await?;
    let (_, created) = create(
        &platform,
        &dj,
        json!({
            "title": "Liked live set", "startAt": iso_in(0), "endAt": iso_in(60),
        }),
    )
    .await?;
    let id = created["results"]["broadcastId"].as_i64().unwrap();
    let likes = format!("/api/v1/broadcasts/{id}/stream/likes");
    let (status, _) = send(fan.request(&platform, Method::PUT, &likes)).await?;
    assert_eq!(status, 410, "offline: nothing to like");
    assert_eq!(send(platform.http.put(platform.url(&likes))).await?.0, 401);

    let mut room = platform.connect_ws(id).await?;
    let state = next_event(&mut room, "stream:state", Duration::from_secs(5)).await?;
    assert_eq!(
        state["isStreaming"], false,
        "a new socket is told the state first"
    );
    let headers = format!("Cookie: {}\r\n", dj.cookie);
    let url = platform.url(&format!("/api/v1/users/me/broadcasts/{id}/stream"));
    let mut source = ffmpeg_put(&url, &headers, &[])?;
    let state = next_event(&mut room, "stream:state", Duration::from_secs(15)).await?;
    assert_eq!(state["isStreaming"], true);
    let listener = wait_for_stream(&platform, &format!("/api/v1/broadcasts/{id}/stream")).await?;
    let heard = tokio::spawn(listen(listener, Duration::from_secs(20)));

    let (status, _) = send(fan.request(&platform, Method::PUT, &likes)).await?;
    assert_eq!(status, 204);
    let like = next_event(&mut room, "stream:like", Duration::from_secs(5)).await?;
    assert_eq!(like["likeCount"], 1, "a number: {like}");
    assert_eq!(like["likedByUsername"], fan.username.as_str());
    let response = fan.request(&platform, Method::PUT, &likes).send().await?;
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=10).contains(&retry));

    let (_, live) = send(platform.http.get(platform.url("/api/v1/broadcasts/live"))).await?;
    let on_air = live["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["broadcastId"] == id)
        .cloned();
    let on_air = on_air.expect("listed as live");
    assert!(
        on_air["listenerCount"].is_i64() && on_air["isLive"] == true,
        "{on_air}"
    );

    assert!(
        source.wait().await?.success(),
        "the DJ's source streamed without error"
    );
    heard.await?;
    let state = next_event(&mut room, "stream:state", Duration::from_secs(15)).await?;
    assert_eq!(state["isStreaming"], false);

    let path = format!("/api/v1/broadcasts/{id}");
    let mut ended = Value::Null;
    for _ in 0..50 {
        ended = send(dj.request(&platform, Method::GET, &path)).await?.1["results"].clone();
        if ended["isLive"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ended["isLive"], false, "{ended}");
    assert_eq!(ended["likeCount"], 1);
    assert!(ended["listenerPeakCount"].as_i64() >= Some(1), "{ended}");
    assert!(
        ended["durationSec"].as_i64() >= Some(4),
        "the tone lasts 6 s: {ended}"
    );
    assert_eq!(
        ended["isVisible"], false,
        "hidden until its owner publishes it"
    );
    assert_eq!(send(platform.http.get(platform.url(&path))).await?.0, 404);
    let recording = ended["recordingUrl"]
        .as_str()
        .expect("a recording")
        .to_owned();

    let publish = json!({ "isVisible": true });
    let patch = format!("/api/v1/users/me/broadcasts/{id}");
    assert_eq!(
        send(dj.request(&platform, Method::PATCH, &patch).json(&publish))
            .await?
            .0,
        200
    );
    let (_, past) = send(platform.http.get(platform.url(&format!(
        "/api/v1/users/{}/broadcasts?time=past",
        dj.username
    ))))
    .await?;
    assert_eq!(past["results"]["past"][0]["broadcastId"], id);
    let played = platform.http.get(platform.url(&recording)).send().await?;
    assert_eq!(played.status(), 200);
    assert_eq!(played.headers()["content-type"], "audio/mpeg");
    assert!(
        played.bytes().await?.len() > 50_000,
        "the recording holds the set"
    );
    Ok(())
}
