//! Audio helpers for the end-to-end tests: real ffmpeg as the source, real decoding of what
//! listeners and recordings get, and raw TCP for the Icecast source port.

use std::{
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    process::{Child, Command},
};

use crate::Platform;

/// The 6-second, 128 kbit/s tone every audio test streams.
pub fn tone_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/tone-6s.mp3")
}

/// The Icecast source port through the edge's TCP pass-through.
pub fn source_addr() -> String {
    std::env::var("E2E_SOURCE_ADDR").unwrap_or_else(|_| "127.0.0.1:18000".into())
}

/// Starts ffmpeg streaming the tone in real time to `output`, with `options` before it.
pub fn ffmpeg_source(options: &[&str], output: &str) -> anyhow::Result<Child> {
    let tone = tone_path();
    let mut args = vec!["-hide_banner", "-v", "error", "-re", "-i"];
    args.push(tone.to_str().context("a UTF-8 path")?);
    args.extend(["-c:a", "copy", "-f", "mp3"]);
    args.extend(options);
    args.push(output);
    Command::new("ffmpeg")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("start ffmpeg")
}

/// ffmpeg as a signed-in DJ's source: the tone `PUT` (chunked) to `url` with `headers` (the
/// `Cookie: ...\r\n` line and any others), `options` first.
pub fn ffmpeg_put(url: &str, headers: &str, options: &[&str]) -> anyhow::Result<Child> {
    let mut all = options.to_vec();
    all.extend([
        "-method",
        "PUT",
        "-content_type",
        "audio/mpeg",
        "-headers",
        headers,
    ]);
    ffmpeg_source(&all, url)
}

/// Decodes `mp3` with ffmpeg; fails on any decoding error it reports.
pub async fn assert_decodes(mp3: &[u8]) -> anyhow::Result<()> {
    let file = std::env::temp_dir().join(format!("e2e-{}.mp3", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&file, mp3).await?;
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-i"])
        .arg(&file)
        .args(["-f", "null", "-"])
        .output()
        .await
        .context("run ffmpeg to decode")?;
    let _ = tokio::fs::remove_file(&file).await;
    let errors = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() || !errors.trim().is_empty() {
        bail!(
            "ffmpeg could not decode {} bytes cleanly: {errors}",
            mp3.len()
        );
    }
    Ok(())
}

/// Whether `bytes` begin with an MPEG audio frame header.
pub fn starts_on_frame_header(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0
}

/// Reads a listener's body until it ends or `within` passes.
pub async fn listen(response: reqwest::Response, within: Duration) -> Vec<u8> {
    let mut heard = Vec::new();
    let mut stream = response.bytes_stream();
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, stream.next()).await {
        heard.extend_from_slice(&chunk);
    }
    heard
}

/// Waits until `path` answers a GET with audio (the stream is live); returns that response.
pub async fn wait_for_stream(platform: &Platform, path: &str) -> anyhow::Result<reqwest::Response> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let response = platform.http.get(platform.url(path)).send().await?;
        if response.status() == 200 {
            return Ok(response);
        }
        if Instant::now() > deadline {
            bail!("{path} did not go live within 15 s: {}", response.status());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Schedules a broadcast of the signed-in user from now to an hour later; returns its id.
pub async fn schedule_now(platform: &Platform, cookie: &str, title: &str) -> anyhow::Result<i64> {
    let now = chrono::Utc::now();
    let response = platform
        .http
        .post(platform.url("/api/v1/users/me/broadcasts"))
        .header("cookie", cookie)
        .json(&json!({
            "title": title,
            "startAt": now.to_rfc3339(),
            "endAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        }))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 201,
        "scheduling answered {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await?;
    body["results"]["broadcastId"]
        .as_i64()
        .context("a broadcast id")
}

/// A chunked `PUT` of `audio` to `url` as `cookie`'s source: `chunk` bytes every `every`. `finish` ends
/// the body properly; otherwise it stays open (the caller aborts the task to break the connection).
pub fn paced_put(
    http: &reqwest::Client,
    url: &str,
    cookie: &str,
    audio: Vec<u8>,
    (chunk, every): (usize, Duration),
    finish: bool,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let chunks = futures_util::stream::unfold((audio, 0usize), move |(audio, at)| async move {
        if at >= audio.len() {
            if !finish {
                std::future::pending::<()>().await;
            }
            return None;
        }
        tokio::time::sleep(every).await;
        let end = (at + chunk).min(audio.len());
        let bytes = bytes::Bytes::copy_from_slice(&audio[at..end]);
        Some((Ok::<_, std::io::Error>(bytes), (audio, end)))
    });
    let request = http
        .put(url)
        .header("cookie", cookie)
        .header("content-type", "audio/mpeg")
        .body(reqwest::Body::wrap_stream(chunks));
    tokio::spawn(request.send())
}

/// Sends a raw request to `addr` and returns the answer's head and body (the server closes).
pub async fn raw_exchange(addr: &str, request: &[u8]) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
    read.await.context("no answer within 10 s")??;
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// A fresh stream key of the signed-in user (`POST /api/v1/users/me/stream-key`).
pub async fn stream_key(platform: &Platform, cookie: &str) -> anyhow::Result<String> {
    let response = platform
        .http
        .post(platform.url("/api/v1/users/me/stream-key"))
        .header("cookie", cookie)
        .header("origin", &platform.base)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "stream-key answered {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await?;
    let key = body["results"]["streamKey"].as_str();
    Ok(key
        .with_context(|| format!("no streamKey in {body}"))?
        .to_owned())
}

/// The credentials of an `Authorization: Basic` header.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
