//! The Accounts table of API.md driven through nginx, as a browser would: sign-up, the confirmation
//! mail, sessions, a password reset through its mail, deletion, and what every old session gets
//! afterwards. Profiles, pictures, stream keys, the admin list and rate limits: account_settings.rs.

mod account_support;

use account_support::{Browser, PASSWORD, confirmed_account, envelope, reset_token};
use e2e::{Platform, session_cookie};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn sign_up_confirm_reset_delete_and_every_old_session_is_rejected() {
    let platform = Platform::from_env();
    let (username, email) = confirmed_account(&platform, "life").await;

    let mut laptop = Browser::new(&platform);
    let early = laptop.me().await;
    assert_eq!(envelope(early).await.0, 401);
    let signed_in = laptop.sign_in(&username, PASSWORD).await;
    assert_eq!(signed_in.status(), 200);
    let user: Value = laptop.me().await.json().await.unwrap();
    assert_eq!(user["results"]["email"], email.as_str());
    assert_eq!(user["results"]["role"], "streamer");
    assert!(user["results"]["permissions"]["own_broadcast"].is_array());
    let mut phone = Browser::new(&platform);
    assert_eq!(phone.sign_in(&email, PASSWORD).await.status(), 200);

    // Forgot the password: the reset mail's link sets a new one and signs every browser out.
    let ask = Browser::new(&platform)
        .request(Method::PATCH, "/api/v1/users/me/settings/password")
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert_eq!(ask.status(), 202);
    let token = reset_token(&platform, &email).await;
    let new_password = "a new and better secret";
    let reset = Browser::new(&platform)
        .request(Method::PATCH, "/api/v1/users/me/settings/password")
        .json(&json!({ "token": token, "newPassword": new_password }))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 204);
    for browser in [&laptop, &phone] {
        assert_eq!(
            envelope(browser.me().await).await.0,
            401,
            "a session from before the reset"
        );
    }
    let old = Browser::new(&platform).sign_in(&username, PASSWORD).await;
    assert_eq!(envelope(old).await.0, 401);
    assert_eq!(laptop.sign_in(&username, new_password).await.status(), 200);
    assert_eq!(phone.sign_in(&username, new_password).await.status(), 200);

    // Deleting the account: 204, the cookie cleared, every session gone, the names kept.
    let deleted = laptop
        .request(Method::DELETE, "/api/v1/users/me")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(session_cookie(&deleted).as_deref(), Some("sess.sid="));
    for browser in [&laptop, &phone] {
        assert_eq!(
            envelope(browser.me().await).await.0,
            401,
            "a session of a deleted account"
        );
    }
    let after = Browser::new(&platform)
        .sign_in(&username, new_password)
        .await;
    assert_eq!(envelope(after).await.0, 401);
    let profile = Browser::new(&platform)
        .request(Method::GET, &format!("/api/v1/users/{username}"))
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(profile).await.0, 404);
    let again = Browser::new(&platform)
        .request(Method::POST, "/api/v1/users")
        .json(&json!({ "username": username, "email": "other@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(again).await.0, 409);
}

#[tokio::test]
async fn sessions_end_on_sign_out_and_are_replaced_on_sign_in() {
    let platform = Platform::from_env();
    let (username, _) = confirmed_account(&platform, "sess").await;
    let mut browser = Browser::new(&platform);
    browser.sign_in(&username, PASSWORD).await;
    let first = browser.cookie.clone().unwrap();

    // Signing in while signed in works and replaces the old session (the original failed).
    assert_eq!(browser.sign_in(&username, PASSWORD).await.status(), 200);
    let second = browser.cookie.clone().unwrap();
    assert_ne!(first, second);
    let stale = Browser {
        cookie: Some(first),
        ..Browser::new(&platform)
    };
    assert_eq!(envelope(stale.me().await).await.0, 401);

    let out = browser
        .request(Method::DELETE, "/api/v1/sessions")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(session_cookie(&out).as_deref(), Some("sess.sid="));
    assert_eq!(
        envelope(browser.me().await).await.0,
        401,
        "used after sign-out"
    );
    let twice = browser
        .request(Method::DELETE, "/api/v1/sessions")
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(twice).await.0, 401);
}

#[tokio::test]
async fn wrong_passwords_unconfirmed_accounts_and_bad_links_get_their_statuses() {
    let platform = Platform::from_env();
    let browser = Browser::new(&platform);
    let username = Platform::unique_username("uncf");
    let email = format!("{username}@example.com");
    let created = browser
        .request(Method::POST, "/api/v1/users")
        .json(&json!({ "username": username, "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 202);
    let (status, message) =
        envelope(Browser::new(&platform).sign_in(&username, PASSWORD).await).await;
    assert_eq!(status, 403);
    assert!(message.contains("confirmation mail"), "{message}");
    let wrong = Browser::new(&platform)
        .sign_in(&username, "not the password")
        .await;
    assert_eq!(envelope(wrong).await.0, 401);

    for (body, status) in [
        (
            json!({ "token": "forged", "newPassword": "whatever it is" }),
            404,
        ),
        (json!({ "token": "forged", "newPassword": "short" }), 400),
        (json!({ "email": email, "token": "x" }), 400),
        (json!({ "email": "not an address" }), 400),
    ] {
        let response = browser
            .request(Method::PATCH, "/api/v1/users/me/settings/password")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(envelope(response).await.0, status, "{body}");
    }
    let forged = browser
        .request(
            Method::POST,
            "/api/v1/verification?token=%27%20OR%201%3D1%20--",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(forged).await.0, 404);
    let ten_megabytes = format!("{{\"username\":\"{}\"}}", "a".repeat(10 * 1024 * 1024));
    let huge = browser
        .request(Method::POST, "/api/v1/sessions")
        .header("content-type", "application/json")
        .body(ten_megabytes)
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(huge).await.0, 413);
}

#[tokio::test]
async fn a_reset_for_an_unknown_address_answers_the_same() {
    let platform = Platform::from_env();
    let browser = Browser::new(&platform);
    let nobody = format!("{}@example.com", Platform::unique_username("nobody"));
    let response = browser
        .request(Method::PATCH, "/api/v1/users/me/settings/password")
        .json(&json!({ "email": nobody }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert!(response.text().await.unwrap().is_empty());
}
