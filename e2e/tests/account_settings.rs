//! The signed-in side of the Accounts table through nginx: profile changes, pictures, public profiles,
//! stream keys, the admin list, CSRF on account routes, and the rate limits of sign-in, sign-up and
//! reset mails.

mod account_support;

use account_support::{Browser, PASSWORD, PIXEL_PNG, confirmed_account, envelope};
use e2e::Platform;
use reqwest::Method;
use serde_json::{Value, json};

async fn signed_in<'a>(platform: &'a Platform, prefix: &str) -> (Browser<'a>, String) {
    let (username, _) = confirmed_account(platform, prefix).await;
    let mut browser = Browser::new(platform);
    assert_eq!(browser.sign_in(&username, PASSWORD).await.status(), 200);
    (browser, username)
}

/// A multipart body with one file part.
fn multipart(part: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----livestreamer-e2e-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{part}\"; filename=\"x\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_profile_changes_and_shows_publicly_without_private_fields() {
    let platform = Platform::from_env();
    let (browser, username) = signed_in(&platform, "prof").await;
    let (_, taken) = confirmed_account(&platform, "taken").await;
    let renamed = format!("{}x", &username[..username.len() - 1]);
    let change = json!({
        "username": renamed, "displayName": "Ночь 🦉 '; DROP TABLE --",
        "about": "<script>alert(1)</script>", "websiteUrl": "https://example.com/dj"
    });
    let response = browser
        .request(Method::PATCH, "/api/v1/users/me")
        .header("content-type", "application/json; charset=utf-8")
        .body(change.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["results"]["username"], renamed.as_str());
    assert_eq!(user["results"]["about"], "<script>alert(1)</script>");

    let public: Value = Browser::new(&platform)
        .request(Method::GET, &format!("/api/v1/users/{renamed}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut keys: Vec<&str> = public["results"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    let expected = [
        "about",
        "createdAt",
        "displayName",
        "profilePictureUrl",
        "userId",
        "username",
        "websiteUrl",
    ];
    assert_eq!(keys, expected, "never the email, role or permissions");

    let taken_name = taken.split('@').next().unwrap();
    for (body, status, names) in [
        (json!({ "username": taken_name }), 409, vec!["username"]),
        (
            json!({ "username": "a b", "websiteUrl": "javascript:alert(1)" }),
            400,
            vec!["username", "websiteUrl"],
        ),
        (json!({ "password": "sneaky" }), 400, vec!["password"]),
    ] {
        let response = browser
            .request(Method::PATCH, "/api/v1/users/me")
            .json(&body)
            .send()
            .await
            .unwrap();
        let (got, message) = envelope(response).await;
        assert_eq!(got, status, "{body}: {message}");
        for name in names {
            assert!(message.contains(name), "{message} should name {name}");
        }
    }
    // A page on another site making the browser send its cookie: one Origin, not ours.
    let cross_site = platform
        .http
        .patch(platform.url("/api/v1/users/me"))
        .header("cookie", browser.cookie.as_deref().unwrap())
        .header("origin", "https://evil.example")
        .json(&json!({ "about": "csrf" }))
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(cross_site).await.0, 403);
    let me: Value = browser.me().await.json().await.unwrap();
    assert_eq!(
        me["results"]["about"], "<script>alert(1)</script>",
        "the cross-site change did nothing"
    );
}

#[tokio::test]
async fn a_picture_is_uploaded_served_checked_and_reset() {
    let platform = Platform::from_env();
    let (browser, username) = signed_in(&platform, "pic").await;
    let upload = |part: &str, content_type: &str, bytes: &[u8]| {
        let (header, body) = multipart(part, content_type, bytes);
        browser
            .request(Method::PUT, "/api/v1/users/me/profile-picture")
            .header("content-type", header)
            .body(body)
    };
    let response = upload("picture", "image/png", PIXEL_PNG)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    let url = user["results"]["profilePictureUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&format!("/api/v1/users/{username}/picture?v=")),
        "{url}"
    );
    let served = platform.http.get(platform.url(&url)).send().await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(&served.bytes().await.unwrap()[1..4], b"PNG");

    // What it claims to be does not matter, what it is does.
    let html = upload("picture", "image/png", b"<html><script>alert(1)</script>");
    assert_eq!(envelope(html.send().await.unwrap()).await.0, 415);
    let four_mb = vec![0xFF; 4 * 1024 * 1024];
    let large = upload("picture", "image/jpeg", &four_mb);
    assert_eq!(envelope(large.send().await.unwrap()).await.0, 413);
    let unnamed = upload("avatar", "image/png", PIXEL_PNG);
    assert_eq!(envelope(unnamed.send().await.unwrap()).await.0, 400);
    let json_body = browser
        .request(Method::PUT, "/api/v1/users/me/profile-picture")
        .json(&json!({ "picture": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(json_body).await.0, 415);

    let reset = browser
        .request(Method::DELETE, "/api/v1/users/me/profile-picture")
        .send()
        .await
        .unwrap();
    let user: Value = reset.json().await.unwrap();
    let default_url = user["results"]["profilePictureUrl"].as_str().unwrap();
    assert_eq!(default_url, format!("/api/v1/users/{username}/picture"));
    let served = platform
        .http
        .get(platform.url(default_url))
        .send()
        .await
        .unwrap();
    assert_eq!(served.headers()["content-type"], "image/svg+xml");
}

#[tokio::test]
async fn a_stream_key_is_shown_once_when_rotated() {
    let platform = Platform::from_env();
    let (browser, _) = signed_in(&platform, "key").await;
    let get = || async {
        let response = browser
            .request(Method::GET, "/api/v1/users/me/stream-key")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["results"].clone()
    };
    assert_eq!(get().await, json!({ "streamKey": null, "createdAt": null }));
    let rotated: Value = browser
        .request(Method::POST, "/api/v1/users/me/stream-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = rotated["results"]["streamKey"].as_str().unwrap();
    assert!(key.len() >= 40);
    let shown = get().await;
    assert!(shown["streamKey"].is_null() && shown["createdAt"].is_string());
    let anonymous = Browser::new(&platform)
        .request(Method::GET, "/api/v1/users/me/stream-key")
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(anonymous).await.0, 401);
}

#[tokio::test]
async fn the_superadmin_pages_through_users_and_streamers_may_not() {
    let platform = Platform::from_env();
    let (streamer, _) = signed_in(&platform, "plain").await;
    let denied = streamer
        .request(Method::GET, "/api/v1/admin/users")
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(denied).await.0, 403);

    let name = std::env::var("E2E_SUPERADMIN_USERNAME").unwrap_or_else(|_| "superadmin".into());
    let password =
        std::env::var("E2E_SUPERADMIN_PASSWORD").unwrap_or_else(|_| "test stack superadmin".into());
    let mut admin = Browser::new(&platform);
    assert_eq!(admin.sign_in(&name, &password).await.status(), 200);
    let mut seen = Vec::new();
    let mut path = "/api/v1/admin/users?limit=2".to_owned();
    for _ in 0..3 {
        let response = admin.request(Method::GET, &path).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("argon2") && !text.to_lowercase().contains("password"),
            "{text}"
        );
        let page: Value = serde_json::from_str(&text).unwrap();
        let users = page["results"]["users"].as_array().unwrap();
        assert!(users.len() <= 2);
        seen.extend(users.iter().map(|u| u["userId"].as_i64().unwrap()));
        match page["results"]["nextCursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/admin/users?limit=2&nextCursor={cursor}"),
            None => break,
        }
    }
    let mut distinct = seen.clone();
    distinct.dedup();
    assert_eq!(
        distinct, seen,
        "a page never repeats the last item of the previous one"
    );
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    for bad in ["?limit=0", "?limit=51", "?limit=x", "?nextCursor=forged"] {
        let response = admin
            .request(Method::GET, &format!("/api/v1/admin/users{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(envelope(response).await.0, 400, "{bad}");
    }
}

#[tokio::test]
async fn sign_in_is_limited_per_address_and_per_account_name() {
    let platform = Platform::from_env();
    let (username, _) = confirmed_account(&platform, "rate").await;
    let mut guesser = Browser::new(&platform);
    for attempt in 1..=10 {
        let response = guesser
            .sign_in(&format!("nobody{attempt}"), "wrong guess!")
            .await;
        assert_eq!(response.status(), 401, "attempt {attempt}");
    }
    let limited = guesser.sign_in(&username, PASSWORD).await;
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(envelope(limited).await.0, 429);

    // The same account from ten other addresses: the name is limited too.
    for _ in 0..10 {
        let response = Browser::new(&platform)
            .sign_in(&username, "wrong guess!")
            .await;
        assert_eq!(response.status(), 401);
    }
    let by_name = Browser::new(&platform).sign_in(&username, PASSWORD).await;
    assert_eq!(envelope(by_name).await.0, 429);
}

#[tokio::test]
async fn sign_up_and_reset_mails_are_limited() {
    let platform = Platform::from_env();
    let browser = Browser::new(&platform);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let username = Platform::unique_username("flood");
        let response = browser
            .request(Method::POST, "/api/v1/users")
            .json(&json!({ "username": username, "email": "bad", "password": "x" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses[..10], [400; 10]);
    assert_eq!(statuses[10], 429);

    let email = format!("{}@example.com", Platform::unique_username("mails"));
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = Browser::new(&platform)
            .request(Method::PATCH, "/api/v1/users/me/settings/password")
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [202, 202, 202, 202, 202, 429]);
}
