//! Chat and the WebSocket room through nginx, as browsers use them: messages over REST arriving on
//! other sockets, likes, deletions by authors and moderators, presence, the flood limit, and the
//! errors of API.md's Chat table.

use std::time::Duration;

use e2e::{Platform, SignedInUser, Socket, next_event, session_cookie};
use futures_util::SinkExt;
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

const WAIT: Duration = Duration::from_secs(5);

/// A WebSocket into a broadcast's room through the edge, with the user's cookie (a guest without one).
async fn room(
    platform: &Platform,
    broadcast_id: i64,
    user: Option<&SignedInUser>,
) -> anyhow::Result<Socket> {
    room_on(
        &platform.base.replacen("http", "ws", 1),
        platform,
        broadcast_id,
        user,
    )
    .await
}

/// Posts a message that must be accepted; returns its id.
async fn post_message(
    platform: &Platform,
    user: &SignedInUser,
    broadcast_id: i64,
    text: &str,
) -> anyhow::Result<i64> {
    let response = post(platform, user, broadcast_id, text).await;
    anyhow::ensure!(
        response.status() == 201,
        "posting answered {}",
        response.status()
    );
    let body: Value = response.json().await?;
    body["results"]["messageId"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("no messageId in {body}"))
}

async fn post(
    platform: &Platform,
    user: &SignedInUser,
    broadcast_id: i64,
    text: &str,
) -> reqwest::Response {
    let path = format!("/api/v1/broadcasts/{broadcast_id}/messages");
    user.request(platform, Method::POST, &path)
        .json(&json!({ "message": text }))
        .send()
        .await
        .unwrap()
}

async fn status(builder: reqwest::RequestBuilder) -> u16 {
    builder.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn messages_likes_and_deletions_reach_the_other_sockets_of_the_room() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("chatdj").await?;
    let fan = platform.signed_in_user("chatfan").await?;
    let broadcast = dj.broadcast_now(&platform, "Chat over the wire").await?;

    let mut fan_socket = room(&platform, broadcast, Some(&fan)).await?;
    let list = next_event(&mut fan_socket, "chat:client_list", WAIT).await?;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["username"] == fan.username.as_str()),
        "{list}"
    );
    let mut guest = room(&platform, broadcast, None).await?;
    let newcomer = next_event(&mut fan_socket, "chat:new_client", WAIT).await?;
    assert_eq!(newcomer["username"], Value::Null, "a guest has no name");
    assert_eq!(
        next_event(&mut fan_socket, "chat:client_count", WAIT).await?["count"],
        2
    );

    let message_id =
        post_message(&platform, &dj, broadcast, "<img src=x onerror=alert(1)>").await?;
    for socket in [&mut fan_socket, &mut guest] {
        let created = next_event(socket, "chat:created_message", WAIT).await?;
        assert_eq!(
            (created["messageId"].as_i64(), created["message"].as_str()),
            (Some(message_id), Some("<img src=x onerror=alert(1)>"))
        );
    }

    let likes = format!("/api/v1/broadcasts/{broadcast}/messages/{message_id}/likes");
    assert_eq!(
        status(fan.request(&platform, Method::POST, &likes)).await,
        204
    );
    let liked = next_event(&mut guest, "chat:liked_message", WAIT).await?;
    assert_eq!(liked["messageId"], message_id);
    assert_eq!(liked["likedByUserId"].as_array().unwrap().len(), 1);
    assert_eq!(
        status(fan.request(&platform, Method::POST, &likes)).await,
        409,
        "liking twice"
    );
    assert_eq!(
        status(fan.request(&platform, Method::DELETE, &likes)).await,
        204
    );
    assert_eq!(
        next_event(&mut guest, "chat:unliked_message", WAIT).await?["likedByUserId"],
        json!([])
    );

    let message = format!("/api/v1/broadcasts/{broadcast}/messages/{message_id}");
    assert_eq!(
        status(fan.request(&platform, Method::DELETE, &message)).await,
        403,
        "not yours"
    );
    let unknown = format!(
        "/api/v1/broadcasts/{broadcast}/messages/{}",
        message_id + 100_000
    );
    assert_eq!(
        status(dj.request(&platform, Method::DELETE, &unknown)).await,
        404
    );
    let wrong_broadcast = format!(
        "/api/v1/broadcasts/{}/messages/{message_id}",
        broadcast + 100_000
    );
    assert_eq!(
        status(dj.request(&platform, Method::DELETE, &wrong_broadcast)).await,
        404
    );
    assert_eq!(
        status(dj.request(&platform, Method::DELETE, &message)).await,
        204
    );
    let deleted = next_event(&mut fan_socket, "chat:deleted_message", WAIT).await?;
    assert_eq!(
        (
            deleted["messageId"].as_i64(),
            deleted["broadcastId"].as_i64()
        ),
        (Some(message_id), Some(broadcast))
    );

    guest.send(Message::Close(None)).await?;
    next_event(&mut fan_socket, "chat:deleted_client", WAIT).await?;
    assert_eq!(
        next_event(&mut fan_socket, "chat:client_count", WAIT).await?["count"],
        1
    );
    Ok(())
}

#[tokio::test]
async fn a_moderator_deletes_anyone_s_message_and_others_cannot() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("moddj").await?;
    let broadcast = dj.broadcast_now(&platform, "Moderated session").await?;
    let message_id = post_message(&platform, &dj, broadcast, "rude words").await?;
    let admin_path = format!("/api/v1/admin/broadcasts/{broadcast}/messages/{message_id}");
    assert_eq!(
        status(dj.request(&platform, Method::DELETE, &admin_path)).await,
        403,
        "a streamer is no moderator"
    );

    let username = std::env::var("E2E_SUPERADMIN_USERNAME").unwrap_or_else(|_| "superadmin".into());
    let password =
        std::env::var("E2E_SUPERADMIN_PASSWORD").unwrap_or_else(|_| "test stack superadmin".into());
    let signed_in = platform
        .http
        .post(platform.url("/api/v1/sessions"))
        // A client address of its own: the per-address sign-in limit counts this test apart.
        .header("x-forwarded-for", e2e::client_address())
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await?;
    assert_eq!(
        signed_in.status(),
        200,
        "the test stack's superadmin signs in"
    );
    let moderator = SignedInUser {
        username,
        cookie: session_cookie(&signed_in).unwrap(),
    };
    assert_eq!(
        status(moderator.request(&platform, Method::DELETE, &admin_path)).await,
        204
    );
    let history: Value = platform
        .http
        .get(platform.url(&format!("/api/v1/broadcasts/{broadcast}/messages")))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(history["results"]["messages"], json!([]));
    Ok(())
}

#[tokio::test]
async fn a_flood_is_answered_with_429_and_retry_after() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("flooddj").await?;
    let broadcast = dj.broadcast_now(&platform, "Flooded session").await?;
    for i in 0..3 {
        assert_eq!(
            post(&platform, &dj, broadcast, &format!("quick {i}"))
                .await
                .status(),
            201
        );
    }
    let refused = post(&platform, &dj, broadcast, "one too many").await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=2).contains(&retry_after));
    let body: Value = refused.json().await?;
    assert_eq!(body["statusText"], "TooManyRequests");
    Ok(())
}

#[tokio::test]
async fn bad_messages_and_unknown_broadcasts_are_refused() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("baddj").await?;
    let broadcast = dj.broadcast_now(&platform, "Bad input session").await?;
    for bad in ["", "   ", &"x".repeat(501)] {
        assert_eq!(
            post(&platform, &dj, broadcast, bad).await.status(),
            400,
            "{bad:?}"
        );
    }
    assert_eq!(
        post(&platform, &dj, 999_999_999, "hello").await.status(),
        404
    );
    let anonymous = platform
        .http
        .post(platform.url(&format!("/api/v1/broadcasts/{broadcast}/messages")))
        .json(&json!({"message": "hi"}));
    assert_eq!(status(anonymous).await, 401);
    let cross_site = platform
        .http
        .post(platform.url(&format!("/api/v1/broadcasts/{broadcast}/messages")))
        .header("cookie", &dj.cookie)
        .header("origin", "https://evil.example")
        .json(&json!({"message": "csrf"}));
    assert_eq!(status(cross_site).await, 403);
    Ok(())
}

#[tokio::test]
async fn oversized_client_frames_close_the_socket_and_other_sites_are_refused() -> anyhow::Result<()>
{
    use futures_util::StreamExt;
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("wsdj").await?;
    let broadcast = dj.broadcast_now(&platform, "Socket limits").await?;

    let mut socket = room(&platform, broadcast, None).await?;
    next_event(&mut socket, "stream:state", WAIT).await?;
    socket
        .send(Message::Text("x".repeat(5 * 1024).into()))
        .await?;
    let closed = tokio::time::timeout(WAIT, async {
        while let Some(frame) = socket.next().await {
            match frame {
                Ok(Message::Close(close)) => return close.map(|c| u16::from(c.code)),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
        None
    })
    .await?;
    assert!(
        matches!(closed, None | Some(1009)),
        "closed with {closed:?}"
    );

    let mut request = platform.ws_url(broadcast).into_client_request()?;
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse()?);
    let refused = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");
    let unknown = tokio_tungstenite::connect_async(platform.ws_url(999_999_999))
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("404"), "{unknown}");
    Ok(())
}

/// The gateway replicas' own addresses (the test stack runs two behind nginx).
fn gateway_replicas() -> Vec<String> {
    std::env::var("E2E_GATEWAY_URLS")
        .unwrap_or_else(|_| "http://127.0.0.1:18100,http://127.0.0.1:18101".into())
        .split(',')
        .map(|url| url.replacen("http", "ws", 1))
        .collect()
}

async fn room_on(
    replica: &str,
    platform: &Platform,
    broadcast_id: i64,
    user: Option<&SignedInUser>,
) -> anyhow::Result<Socket> {
    let mut request = format!("{replica}/ws/{broadcast_id}").into_client_request()?;
    request
        .headers_mut()
        .insert("origin", platform.base.parse()?);
    if let Some(user) = user {
        request.headers_mut().insert("cookie", user.cookie.parse()?);
    }
    Ok(tokio_tungstenite::connect_async(request).await?.0)
}

#[tokio::test]
async fn a_room_spans_the_gateway_replicas() -> anyhow::Result<()> {
    let replicas = gateway_replicas();
    assert!(
        replicas.len() >= 2,
        "the test stack runs two gateway replicas: {replicas:?}"
    );
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("replidj").await?;
    let fan = platform.signed_in_user("replifan").await?;
    let broadcast = dj.broadcast_now(&platform, "Across replicas").await?;

    let mut on_first = room_on(&replicas[0], &platform, broadcast, Some(&fan)).await?;
    next_event(&mut on_first, "chat:client_list", WAIT).await?;
    let mut on_second = room_on(&replicas[1], &platform, broadcast, None).await?;
    let list = next_event(&mut on_second, "chat:client_list", WAIT).await?;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["username"] == fan.username.as_str()),
        "the second replica lists the first one's socket: {list}"
    );
    next_event(&mut on_first, "chat:new_client", WAIT).await?;
    assert_eq!(
        next_event(&mut on_first, "chat:client_count", WAIT).await?["count"],
        2
    );

    let message_id = post_message(&platform, &dj, broadcast, "heard on both replicas").await?;
    for socket in [&mut on_first, &mut on_second] {
        assert_eq!(
            next_event(socket, "chat:created_message", WAIT).await?["messageId"],
            message_id
        );
    }
    let likes = format!("/api/v1/broadcasts/{broadcast}/messages/{message_id}/likes");
    assert_eq!(
        status(dj.request(&platform, Method::POST, &likes)).await,
        204
    );
    for socket in [&mut on_first, &mut on_second] {
        assert_eq!(
            next_event(socket, "chat:liked_message", WAIT).await?["messageId"],
            message_id
        );
    }

    on_second.send(Message::Close(None)).await?;
    next_event(&mut on_first, "chat:deleted_client", WAIT).await?;
    assert_eq!(
        next_event(&mut on_first, "chat:client_count", WAIT).await?["count"],
        1
    );
    Ok(())
}
