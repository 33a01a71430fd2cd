//! "Listeners now" for the status line: the broadcast room's `stream:listeners` WebSocket events,
//! the same the web app shows. Best effort: while the count is unknown the line says so, and a
//! failure here never touches the stream.

use std::{sync::Arc, sync::atomic::Ordering, time::Duration};

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::{api::Api, uplink::Target, uplink::stats::Stats};

const RETRY: Duration = Duration::from_secs(5);

/// Follows the listener count of the stream's broadcast until the task is dropped.
pub async fn follow(api: Arc<Api>, cookie: String, target: Target, stats: Arc<Stats>) {
    let broadcast_id = match target {
        Target::Broadcast(id) => id,
        Target::Now => loop {
            if let Some(id) = live_broadcast_id(&api, &cookie).await {
                break id;
            }
            tokio::time::sleep(RETRY).await;
        },
    };
    loop {
        let _ = count_listeners(&api, &cookie, broadcast_id, &stats).await;
        tokio::time::sleep(RETRY).await;
    }
}

/// The caller's broadcast that is live now (for "go live now", whose id the CLI is not told).
async fn live_broadcast_id(api: &Api, cookie: &str) -> Option<u64> {
    let request = api
        .http
        .get(api.url("/api/v1/users/me/broadcasts?time=current"))
        .header("cookie", cookie);
    let body: Value = api.send(request).await.ok()?.json().await.ok()?;
    body["results"]["current"]
        .as_array()?
        .iter()
        .find(|b| b["isLive"] == true)
        .and_then(|b| b["broadcastId"].as_u64())
}

async fn count_listeners(
    api: &Api,
    cookie: &str,
    broadcast_id: u64,
    stats: &Stats,
) -> Result<(), Box<dyn std::error::Error>> {
    let url = format!("{}/ws/{broadcast_id}", api.base.replacen("http", "ws", 1));
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("cookie", cookie.parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let event: Value = serde_json::from_str(text.as_str())?;
        if let ("stream:listeners", Some(count)) = (
            event["event"].as_str().unwrap_or(""),
            event["data"]["count"].as_i64(),
        ) {
            stats.listeners.store(count, Ordering::Relaxed);
        }
    }
    Ok(())
}
