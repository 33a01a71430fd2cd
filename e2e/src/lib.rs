//! Drives the whole platform from outside, through the edge proxy, as a browser, a DJ and a listener
//! would. The test command starts the platform and points these tests at it with `E2E_BASE_URL`
//! (the nginx edge) and `E2E_MAILDEV_URL` (the mail catcher's REST API).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Platform {
    pub base: String,
    pub maildev: String,
    pub http: reqwest::Client,
}

/// A user who signed up, confirmed their email and signed in.
pub struct SignedInUser {
    pub username: String,
    pub cookie: String,
}

impl Platform {
    pub fn from_env() -> Self {
        let base =
            std::env::var("E2E_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:18080".into());
        let maildev =
            std::env::var("E2E_MAILDEV_URL").unwrap_or_else(|_| "http://127.0.0.1:1180".into());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Self {
            base,
            maildev,
            http,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The WebSocket URL of a broadcast's room.
    pub fn ws_url(&self, broadcast_id: i64) -> String {
        format!("{}/ws/{broadcast_id}", self.base.replacen("http", "ws", 1))
    }

    /// A username no other test run has used.
    pub fn unique_username(prefix: &str) -> String {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        format!("{prefix}{}", &suffix[..16 - prefix.len()])
    }

    /// Waits for the newest mail to `to` whose subject is `subject`, through maildev's REST API.
    pub async fn wait_for_mail(&self, to: &str, subject: &str) -> anyhow::Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mails: Vec<Value> = self
                .http
                .get(format!("{}/api/email", self.maildev))
                .send()
                .await?
                .json()
                .await?;
            let found = mails.into_iter().rev().find(|mail| {
                mail["subject"] == subject
                    && mail["to"]
                        .as_array()
                        .is_some_and(|to_list| to_list.iter().any(|t| t["address"] == to))
            });
            if let Some(mail) = found {
                return Ok(mail);
            }
            if Instant::now() > deadline {
                bail!("no mail {subject:?} to {to} arrived within 20 s: is the mailer running?");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The sign-up request (`POST /api/v1/users`) of a browser at `address`.
    pub fn sign_up(
        &self,
        username: &str,
        email: &str,
        password: &str,
        address: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/api/v1/users"))
            .header("x-forwarded-for", address)
            .json(&json!({ "username": username, "email": email, "password": password }))
    }

    /// Signs up, follows the confirmation link from the mail, and signs in.
    pub async fn signed_in_user(&self, prefix: &str) -> anyhow::Result<SignedInUser> {
        let username = Self::unique_username(prefix);
        let email = format!("{username}@example.com");
        let password = "a long enough secret";
        // Each simulated user comes from an address of its own, as real users do: the per-address
        // rate limits of sign-up and sign-in then count each user, not the whole suite.
        let address = client_address();
        let response = self
            .sign_up(&username, &email, password, &address)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 202,
            "sign-up answered {}: {}",
            response.status(),
            response.text().await?
        );

        let mail = self
            .wait_for_mail(&email, "Confirm your email address")
            .await?;
        let token = confirmation_token(mail["text"].as_str().unwrap_or_default())?;
        let response = self
            .http
            .post(self.url(&format!("/api/v1/verification?token={token}")))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 204,
            "confirmation answered {}",
            response.status()
        );

        let response = self
            .http
            .post(self.url("/api/v1/sessions"))
            .header("x-forwarded-for", &address)
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 200,
            "sign-in answered {}",
            response.status()
        );
        let cookie = session_cookie(&response).context("sign-in set no sess.sid cookie")?;
        Ok(SignedInUser { username, cookie })
    }

    pub async fn connect_ws(&self, broadcast_id: i64) -> anyhow::Result<Socket> {
        let (socket, _) = tokio_tungstenite::connect_async(self.ws_url(broadcast_id)).await?;
        Ok(socket)
    }
}

/// The token of the `/verify?token=...` link in a confirmation mail.
pub fn confirmation_token(text: &str) -> anyhow::Result<String> {
    let start = text
        .find("/verify?token=")
        .context("the mail has no confirmation link")?
        + "/verify?token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    anyhow::ensure!(!token.is_empty(), "empty token in the confirmation link");
    Ok(token)
}

/// `sess.sid=...` from a response's `Set-Cookie`, ready for a `Cookie` header.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("sess.sid="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// The next `{event, data}` frame named `event`, skipping others; fails after `within`.
pub async fn next_event(
    socket: &mut Socket,
    event: &str,
    within: Duration,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .with_context(|| format!("no {event} event within {within:?}"))?
            .context("the socket closed")??;
        if let Message::Text(text) = frame {
            let value: Value = serde_json::from_str(text.as_str())?;
            if value["event"] == event {
                return Ok(value["data"].clone());
            }
        }
    }
}

pub mod audio;
pub mod bench;
pub mod traces;

impl SignedInUser {
    /// A request as this user's browser sends it: the session cookie and the site's `Origin`.
    pub fn request(
        &self,
        platform: &Platform,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        platform
            .http
            .request(method, platform.url(path))
            .header("cookie", &self.cookie)
            .header("origin", &platform.base)
    }

    /// Schedules a broadcast of an hour starting now; returns its id.
    pub async fn broadcast_now(&self, platform: &Platform, title: &str) -> anyhow::Result<i64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let body = json!({ "title": title, "startAt": iso_utc(now), "endAt": iso_utc(now + 3600) });
        let response = self
            .request(
                platform,
                reqwest::Method::POST,
                "/api/v1/users/me/broadcasts",
            )
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status() == 201,
            "scheduling answered {}: {}",
            response.status(),
            response.text().await?
        );
        let created: Value = response.json().await?;
        created["results"]["broadcastId"]
            .as_i64()
            .context("no broadcastId")
    }
}

/// Unix seconds as an ISO-8601 UTC date-time.
pub fn iso_utc(unix_secs: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix_secs, 0)
        .unwrap_or_default()
        .to_rfc3339()
}

/// A random client address in 198.18.0.0/15 (reserved for benchmarks), to send as
/// `X-Forwarded-For`: the gateway believes it because the edge and the tests are on loopback.
pub fn client_address() -> String {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    format!(
        "198.{}.{}.{}",
        18 + (bytes[0] & 1),
        bytes[1],
        bytes[2].max(1)
    )
}
