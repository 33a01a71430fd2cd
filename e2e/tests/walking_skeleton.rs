//! One thin path through every service and every wire, driven through nginx as users drive it:
//! sign-up → confirmation mail → sign-in → schedule → go live with a chunked MP3 PUT → a listener
//! hears those bytes from a frame boundary → chat reaches another client's WebSocket → the stream
//! ends and the room is told.

use std::time::Duration;

use bytes::Bytes;
use e2e::{Platform, next_event};
use futures_util::StreamExt;
use serde_json::json;

const TONE: &[u8] = include_bytes!("../fixtures/tone-6s.mp3");

/// The audio of the fixture: its bytes after the ID3v2 tag.
fn audio() -> &'static [u8] {
    assert_eq!(&TONE[..3], b"ID3");
    let size = TONE[6..10]
        .iter()
        .fold(0usize, |n, b| (n << 7) | (*b as usize & 0x7f));
    &TONE[10 + size..]
}

fn is_frame_header(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0
}

#[tokio::test]
async fn a_listener_hears_the_dj_and_the_room_chats() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("dj").await?;

    // Schedule a broadcast for now.
    let now = chrono_like_now();
    let response = platform
        .http
        .post(platform.url("/api/v1/users/me/broadcasts"))
        .header("cookie", &dj.cookie)
        .json(&json!({ "title": "Skeleton session", "startAt": now.0, "endAt": now.1 }))
        .send()
        .await?;
    assert_eq!(response.status(), 201, "{}", response.text().await?);
    let broadcast: serde_json::Value = response.json().await?;
    let broadcast_id = broadcast["results"]["broadcastId"]
        .as_i64()
        .expect("a broadcast id");
    assert_eq!(broadcast["results"]["username"], dj.username.as_str());

    // A guest opens the room: off air.
    let mut room = platform.connect_ws(broadcast_id).await?;
    let state = next_event(&mut room, "stream:state", Duration::from_secs(5)).await?;
    assert_eq!(state["isStreaming"], false);

    // The DJ goes live: a chunked PUT whose body the test feeds.
    let (feed, body) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let source = {
        let request = platform
            .http
            .put(platform.url(&format!(
                "/api/v1/users/me/broadcasts/{broadcast_id}/stream"
            )))
            .header("cookie", &dj.cookie)
            .header("content-type", "audio/mpeg")
            .body(reqwest::Body::wrap_stream(tokio_stream_from(body)));
        tokio::spawn(async move { request.send().await })
    };
    let audio = audio();
    let (first, rest) = audio.split_at(audio.len() / 2);
    for chunk in TONE[..TONE.len() - audio.len()]
        .chunks(1000)
        .chain(first.chunks(1000))
    {
        feed.send(Ok(Bytes::copy_from_slice(chunk))).await?;
    }
    let state = next_event(&mut room, "stream:state", Duration::from_secs(10)).await?;
    assert_eq!(state["isStreaming"], true);
    assert_eq!(state["broadcast"]["broadcastId"], broadcast_id);

    // A listener tunes in.
    let listener = platform
        .http
        .get(platform.url(&format!("/api/v1/broadcasts/{broadcast_id}/stream")))
        .send()
        .await?;
    assert_eq!(listener.status(), 200);
    assert_eq!(listener.headers()["content-type"], "audio/mpeg");
    let heard = tokio::spawn(async move {
        let mut bytes = Vec::new();
        let mut stream = listener.bytes_stream();
        while let Some(chunk) = stream.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        Ok::<_, reqwest::Error>(bytes)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    for chunk in rest.chunks(1000) {
        feed.send(Ok(Bytes::copy_from_slice(chunk))).await?;
    }

    // The DJ chats; the guest's socket gets it.
    let response = platform
        .http
        .post(platform.url(&format!("/api/v1/broadcasts/{broadcast_id}/messages")))
        .header("cookie", &dj.cookie)
        .header("origin", &platform.base)
        .json(&json!({ "message": "  hello <b>room</b>  " }))
        .send()
        .await?;
    assert_eq!(response.status(), 201, "{}", response.text().await?);
    let message = next_event(&mut room, "chat:created_message", Duration::from_secs(5)).await?;
    assert_eq!(message["message"], "hello <b>room</b>");
    assert_eq!(message["username"], dj.username.as_str());
    assert_eq!(message["broadcastId"], broadcast_id);

    // The source ends; the relay answers the PUT, the listener's body ends, the room is told.
    drop(feed);
    let put = source.await??;
    assert_eq!(put.status(), 200, "{}", put.text().await?);
    let heard = tokio::time::timeout(Duration::from_secs(10), heard).await???;
    assert!(
        is_frame_header(&heard),
        "the listener must start on a frame header"
    );
    assert!(
        heard.len() > rest.len(),
        "the listener got the burst and the live audio"
    );
    let offset = audio.len() - heard.len();
    assert_eq!(
        &audio[offset..],
        &heard[..],
        "the listener hears exactly the DJ's bytes, from a frame boundary"
    );
    let state = next_event(&mut room, "stream:state", Duration::from_secs(10)).await?;
    assert_eq!(state["isStreaming"], false);

    // History has the message too.
    let history: serde_json::Value = platform
        .http
        .get(platform.url(&format!(
            "/api/v1/broadcasts/{broadcast_id}/messages?limit=5"
        )))
        .header("cookie", &dj.cookie)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(
        history["results"]["messages"][0]["message"],
        "hello <b>room</b>"
    );
    Ok(())
}

/// Now and an hour later, as ISO-8601 strings.
fn chrono_like_now() -> (String, String) {
    let now = chrono::Utc::now();
    (
        now.to_rfc3339(),
        (now + chrono::Duration::hours(1)).to_rfc3339(),
    )
}

fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}
