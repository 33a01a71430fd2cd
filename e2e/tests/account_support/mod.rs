//! What the account tests share: a browser with its own address and cookie, the error envelope, and
//! a confirmed account made through the confirmation mail.

#![allow(dead_code)] // each test file uses its own part of this

use e2e::{Platform, client_address, confirmation_token, session_cookie};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

pub const PASSWORD: &str = "a long enough secret";
pub const PIXEL_PNG: &[u8] = include_bytes!("../../fixtures/pixel.png");

/// One browser: its address, and its session cookie once signed in.
pub struct Browser<'a> {
    pub platform: &'a Platform,
    pub address: String,
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(platform: &'a Platform) -> Self {
        Self {
            platform,
            address: client_address(),
            cookie: None,
        }
    }

    /// A request from this browser: its address, the site's Origin, its cookie if any.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self
            .platform
            .http
            .request(method, self.platform.url(path))
            .header("x-forwarded-for", &self.address)
            .header("origin", &self.platform.base);
        match &self.cookie {
            Some(cookie) => request.header("cookie", cookie),
            None => request,
        }
    }

    pub async fn sign_in(&mut self, login: &str, password: &str) -> Response {
        let response = self
            .request(Method::POST, "/api/v1/sessions")
            .json(&json!({ "username": login, "password": password }))
            .send()
            .await
            .unwrap();
        if let Some(cookie) = session_cookie(&response).filter(|c| c != "sess.sid=") {
            self.cookie = Some(cookie);
        }
        response
    }

    pub async fn me(&self) -> Response {
        self.request(Method::GET, "/api/v1/users/me")
            .send()
            .await
            .unwrap()
    }
}

/// Reads an error envelope and checks its shape.
pub async fn envelope(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error envelope");
    assert_eq!(body["status"], status, "{body}");
    (
        status,
        body["message"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Signs up a new account and confirms it through the mail; returns its username and email.
pub async fn confirmed_account(platform: &Platform, prefix: &str) -> (String, String) {
    let browser = Browser::new(platform);
    let username = Platform::unique_username(prefix);
    let email = format!("{username}@example.com");
    let response = browser
        .request(Method::POST, "/api/v1/users")
        .json(&json!({ "username": username, "email": email, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let mail = platform
        .wait_for_mail(&email, "Confirm your email address")
        .await
        .unwrap();
    let token = confirmation_token(mail["text"].as_str().unwrap()).unwrap();
    let path = format!("/api/v1/verification?token={token}");
    let confirmed = browser.request(Method::POST, &path).send().await.unwrap();
    assert_eq!(confirmed.status(), 204);
    let again = browser.request(Method::POST, &path).send().await.unwrap();
    assert_eq!(
        envelope(again).await.0,
        404,
        "a confirmation link works once"
    );
    platform
        .wait_for_mail(&email, "Your email address is confirmed")
        .await
        .unwrap();
    (username, email)
}

/// The token of the reset link in the newest reset mail to `email`.
pub async fn reset_token(platform: &Platform, email: &str) -> String {
    let mail = platform
        .wait_for_mail(email, "Reset your password")
        .await
        .unwrap();
    let text = mail["text"].as_str().unwrap();
    let start = text.find("/reset-password?token=").expect("a reset link") + 22;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
