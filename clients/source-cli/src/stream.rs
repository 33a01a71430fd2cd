//! Streaming an MP3 file as a live source: frame by frame, each sent when its time comes, in one
//! chunked `PUT` that lasts as long as the set.

use std::{path::Path, time::Duration};

use anyhow::Context;
use bytes::Bytes;
use livestreamer_mp3::FrameSplitter;
use tokio::{sync::mpsc, time::Instant};

use crate::{
    api::{Api, results},
    session,
};

/// How far ahead of real time frames are sent, so the network never starves the relay.
const LEAD: Duration = Duration::from_millis(500);

pub async fn stream_file(api: &Api, broadcast_id: u64, input: &Path) -> anyhow::Result<()> {
    let session = session::load(api)?;
    let bytes = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let mut splitter = FrameSplitter::new();
    splitter.push(&bytes);
    let mut frames = Vec::new();
    while let Some(frame) = splitter.next_frame() {
        frames.push(frame);
    }
    frames.extend(splitter.finish());
    anyhow::ensure!(
        !frames.is_empty(),
        "{} holds no MP3 frames",
        input.display()
    );

    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let body =
        reqwest::Body::wrap_stream(futures_util::stream::unfold(receiver, |mut r| async move {
            r.recv().await.map(|item| (item, r))
        }));
    let request = api
        .http
        .put(api.url(&format!(
            "/api/v1/users/me/broadcasts/{broadcast_id}/stream"
        )))
        .header("cookie", &session.cookie)
        .header("content-type", "audio/mpeg")
        .body(body)
        .send();
    let pacing = tokio::spawn(pace(frames, sender));
    eprintln!(
        "Streaming {} into broadcast {broadcast_id}… (Ctrl-C to stop)",
        input.display()
    );
    let response = request
        .await
        .context("the connection to the server failed")?;
    let summary = results(response).await?;
    pacing.abort();
    eprintln!(
        "Stream ended: {} bytes received in {} s.",
        summary["bytesReceived"].as_u64().unwrap_or(0),
        summary["durationSec"].as_u64().unwrap_or(0)
    );
    Ok(())
}

/// Sends each frame when its start time (minus a small lead) comes.
async fn pace(frames: Vec<Bytes>, sender: mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let start = Instant::now();
    let mut position = Duration::ZERO;
    for frame in frames {
        let duration =
            livestreamer_mp3::FrameHeader::parse(&frame).map_or(Duration::ZERO, |h| h.duration());
        tokio::time::sleep_until(start + position.saturating_sub(LEAD)).await;
        if sender.send(Ok(frame)).await.is_err() {
            return;
        }
        position += duration;
    }
}
