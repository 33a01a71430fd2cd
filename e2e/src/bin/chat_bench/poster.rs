//! How a message is posted to each hub: through LiveStreamer's REST API as a signed-in user (the
//! posters take turns, to stay under the per-user rate limit), or to the Node hub's own endpoint.
//! Each post is timed from just before its request, the time its text carries.

use std::sync::Arc;

use e2e::{Platform, SignedInUser, bench::now_us};
use serde_json::json;

use crate::mark;

pub enum Poster {
    Ours {
        platform: Arc<Platform>,
        users: Vec<Arc<SignedInUser>>,
        room: i64,
    },
    Node {
        http: reqwest::Client,
        url: String,
        room: i64,
    },
}

impl Poster {
    /// Posts message `seq`; returns the HTTP status (0 when the request failed) and how long it took
    /// in microseconds.
    pub async fn post(&self, seq: u64) -> (u16, u64) {
        let text = |sent: u64| json!({ "message": mark::text(seq, sent) });
        let sent = now_us();
        let request = match self {
            Poster::Ours {
                platform,
                users,
                room,
            } => users[seq as usize % users.len()]
                .request(
                    platform,
                    reqwest::Method::POST,
                    &format!("/api/v1/broadcasts/{room}/messages"),
                )
                .json(&text(sent)),
            Poster::Node { http, url, room } => http
                .post(format!("{url}/api/v1/broadcasts/{room}/messages"))
                .json(&text(sent)),
        };
        let status = match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        (status, now_us().saturating_sub(sent))
    }
}
