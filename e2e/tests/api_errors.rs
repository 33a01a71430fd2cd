//! Bad input through the edge gets the JSON error envelope of API.md: never a 500, never a hang.

use e2e::Platform;
use reqwest::Method;
use serde_json::Value;

async fn envelope(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error envelope");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["statusText"]
            .as_str()
            .is_some_and(|s| !s.contains(' ')),
        "{body}"
    );
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    (status, body)
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let platform = Platform::from_env();
    let response = platform
        .http
        .post(platform.url("/api/v1/users"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(response).await;
    assert_eq!(
        (status, body["statusText"].as_str()),
        (400, Some("BadRequest"))
    );
}

#[tokio::test]
async fn json_with_a_charset_is_accepted_and_invalid_fields_are_named() {
    let platform = Platform::from_env();
    let response = platform
        .http
        .post(platform.url("/api/v1/users"))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"username":"x","email":"not-an-email","password":"short"}"#)
        .send()
        .await
        .unwrap();
    let (status, body) = envelope(response).await;
    assert_eq!(status, 400);
    let message = body["message"].as_str().unwrap();
    for field in ["username", "email", "password"] {
        assert!(message.contains(field), "{message} should name {field}");
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_a_415() {
    let platform = Platform::from_env();
    let response = platform
        .http
        .post(platform.url("/api/v1/sessions"))
        .header("content-type", "text/plain")
        .body("username=dj")
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(response).await.0, 415);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let platform = Platform::from_env();
    let huge = format!("{{\"username\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let response = platform
        .http
        .post(platform.url("/api/v1/users"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(response).await.0, 413);
}

#[tokio::test]
async fn unknown_routes_wrong_methods_missing_sessions_and_bad_ids_get_envelopes() {
    let platform = Platform::from_env();
    let cases = [
        (Method::GET, "/api/v1/no-such-thing", 404),
        (Method::PATCH, "/api/v1/sessions", 405),
        (Method::GET, "/api/v1/users/me", 401),
        (Method::GET, "/api/v1/broadcasts/999999999", 404),
        (Method::GET, "/api/v1/broadcasts/abc", 400),
        (Method::GET, "/api/v1/broadcasts/-1/messages", 400),
    ];
    for (method, path, expected) in cases {
        let response = platform
            .http
            .request(method.clone(), platform.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(envelope(response).await.0, expected, "{method} {path}");
    }
}

#[tokio::test]
async fn the_health_endpoint_answers() {
    let platform = Platform::from_env();
    let response = platform
        .http
        .get(platform.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
