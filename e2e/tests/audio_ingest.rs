//! Every ingest path with real ffmpeg as the source, through the edge as a DJ's tools reach it, and
//! real decoding of what listeners and the recording get: go live now with a chunked PUT (cookie),
//! a source that drops and comes back within the grace period, the Icecast source port (stream key)
//! with ffmpeg's icecast:// and with `-method PUT -chunked_post 0`, and the refusals.

use std::time::Duration;

use e2e::{
    Platform,
    audio::{
        assert_decodes, basic_auth, ffmpeg_put, ffmpeg_source, listen, paced_put, raw_exchange,
        schedule_now, source_addr, starts_on_frame_header, stream_key, tone_path, wait_for_stream,
    },
    next_event,
};

#[tokio::test]
async fn go_live_now_with_ffmpeg_then_the_recording_plays_with_ranges() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("now").await?;
    let id = schedule_now(&platform, &dj.cookie, "Morning session").await?;
    let mut room = platform.connect_ws(id).await?;
    let initial = next_event(&mut room, "stream:state", Duration::from_secs(5)).await?;
    assert_eq!(
        initial["isStreaming"], false,
        "a new socket hears the state first"
    );

    let headers = format!("Cookie: {}\r\nice-name: Morning session\r\n", dj.cookie);
    let url = platform.url("/api/v1/users/me/stream");
    let mut ffmpeg = ffmpeg_put(&url, &headers, &[])?;

    let state = next_event(&mut room, "stream:state", Duration::from_secs(15)).await?;
    assert_eq!(state["isStreaming"], true);
    assert_eq!(
        state["broadcast"]["broadcastId"], id,
        "go live now took the scheduled one"
    );
    let listener = wait_for_stream(&platform, &format!("/live/{}", dj.username)).await?;
    assert_eq!(listener.headers()["content-type"], "audio/mpeg");
    let heard = tokio::spawn(listen(listener, Duration::from_secs(20)));
    // The count may first be announced as 0 (the stream started before anyone listened).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let listeners = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let listeners = next_event(&mut room, "stream:listeners", left).await?;
        assert_eq!(listeners["broadcastId"], id);
        if listeners["count"].as_i64() >= Some(1) {
            break listeners;
        }
    };
    assert!(listeners["peak"].as_i64() >= Some(1), "{listeners}");

    assert!(
        ffmpeg.wait().await?.success(),
        "ffmpeg streamed without error"
    );
    let heard = heard.await?;
    assert!(
        starts_on_frame_header(&heard),
        "the listener starts on a frame"
    );
    assert!(
        heard.len() > 40_000,
        "about 6 s of audio: {} bytes",
        heard.len()
    );
    assert_decodes(&heard).await?;
    let state = next_event(&mut room, "stream:state", Duration::from_secs(10)).await?;
    assert_eq!(
        state["isStreaming"], false,
        "a finished body ends the broadcast at once"
    );

    let recording = platform.url(&format!("/api/v1/broadcasts/{id}/recording"));
    let whole = wait_for_recording(&platform, &recording, &dj.cookie).await?;
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let whole = whole.bytes().await?;
    assert!(
        whole.len() > 90_000,
        "the whole tone: {} bytes",
        whole.len()
    );
    assert_decodes(&whole).await?;
    let part = platform
        .http
        .get(&recording)
        .header("cookie", &dj.cookie)
        .header("range", "bytes=100-199")
        .send()
        .await?;
    assert_eq!(part.status(), 206);
    let content_range = format!("bytes 100-199/{}", whole.len());
    assert_eq!(part.headers()["content-range"], content_range.as_str());
    assert_eq!(part.bytes().await?, whole.slice(100..200));
    let stranger = platform.http.get(&recording).send().await?;
    assert_eq!(
        stranger.status(),
        404,
        "an ended broadcast is hidden until published"
    );
    Ok(())
}

/// The owner's GET of a recording, once broadcasts-archive has recorded the end.
async fn wait_for_recording(
    platform: &Platform,
    url: &str,
    cookie: &str,
) -> anyhow::Result<reqwest::Response> {
    for _ in 0..50 {
        let response = platform
            .http
            .get(url)
            .header("cookie", cookie)
            .send()
            .await?;
        if response.status() == 200 {
            return Ok(response);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("the recording at {url} never became available")
}

#[tokio::test]
async fn a_dropped_source_resumes_within_the_grace_period() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("drop").await?;
    let id = schedule_now(&platform, &dj.cookie, "Shaky Wi-Fi set").await?;
    let tone = std::fs::read(tone_path())?;
    let (first_half, second_half) = tone.split_at(tone.len() / 2);

    let first = chunked_put(&platform, id, &dj.cookie, first_half.to_vec(), false);
    let listener = wait_for_stream(&platform, &format!("/api/v1/broadcasts/{id}/stream")).await?;
    let heard = tokio::spawn(listen(listener, Duration::from_secs(30)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.abort(); // the connection breaks mid-body
    tokio::time::sleep(Duration::from_secs(3)).await;

    let second = chunked_put(&platform, id, &dj.cookie, second_half.to_vec(), true);
    let answer = second.await??;
    assert_eq!(answer.status(), 200);
    let summary: serde_json::Value = answer.json().await?;
    assert_eq!(summary["results"]["resumed"], true, "{summary}");
    let heard = heard.await?;
    assert!(starts_on_frame_header(&heard));
    assert!(
        heard.ends_with(&second_half[second_half.len() - 2000..]),
        "the same listener heard the resumed stream to its end"
    );
    assert_decodes(&heard).await?;
    Ok(())
}

/// A chunked PUT of `audio` into broadcast `id`, paced; `finish` ends the body properly, otherwise
/// the body stays open (the caller aborts it to break the connection).
fn chunked_put(
    platform: &Platform,
    id: i64,
    cookie: &str,
    audio: Vec<u8>,
    finish: bool,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let url = platform.url(&format!("/api/v1/users/me/broadcasts/{id}/stream"));
    let pace = (4000, Duration::from_millis(20));
    paced_put(&platform.http, &url, cookie, audio, pace, finish)
}

#[tokio::test]
async fn icecast_sources_stream_with_their_stream_key() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("ice").await?;
    let key = stream_key(&platform, &dj.cookie).await?;
    let user = &dj.username;
    let icecast = format!("icecast://source:{key}@{}/live/{user}", source_addr());
    let put = format!("http://{user}:{key}@{}/live/{user}", source_addr());
    let sources: [(Vec<&str>, &str); 2] = [
        (
            vec!["-ice_name", "Icecast night", "-content_type", "audio/mpeg"],
            &icecast,
        ),
        (
            vec![
                "-method",
                "PUT",
                "-chunked_post",
                "0",
                "-auth_type",
                "basic",
                "-content_type",
                "audio/mpeg",
            ],
            &put,
        ),
    ];
    for (options, url) in sources {
        let mut ffmpeg = ffmpeg_source(&options, url)?;
        let listener = wait_for_stream(&platform, &format!("/live/{user}")).await?;
        let heard = tokio::spawn(listen(listener, Duration::from_secs(4)));
        let heard = heard.await?;
        assert!(starts_on_frame_header(&heard), "{url}");
        assert!(heard.len() > 20_000, "{url}: {} bytes", heard.len());
        assert_decodes(&heard).await?;
        assert!(
            ffmpeg.wait().await?.success(),
            "ffmpeg to {url} ended cleanly"
        );
        // Close-delimited: the broadcast waits out the grace period before it ends.
        wait_until_offline(&platform, &format!("/live/{user}")).await?;
    }
    let wrong = format!(
        "SOURCE /live/{user} HTTP/1.0\r\nAuthorization: Basic {}\r\nContent-Type: audio/mpeg\r\n\r\n",
        basic_auth("source", &format!("not-{key}"))
    );
    let answer = raw_exchange(&source_addr(), wrong.as_bytes()).await?;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    Ok(())
}

async fn wait_until_offline(platform: &Platform, path: &str) -> anyhow::Result<()> {
    for _ in 0..100 {
        let response = platform.http.head(platform.url(path)).send().await?;
        if response.status() == 404 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("{path} stayed live for 20 s")
}

#[tokio::test]
async fn sources_are_refused_with_clear_statuses() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let no_auth = "SOURCE /live/nobody HTTP/1.0\r\nContent-Type: audio/mpeg\r\n\r\n";
    let answer = raw_exchange(&source_addr(), no_auth.as_bytes()).await?;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.to_lowercase().contains("www-authenticate: basic"),
        "{answer}"
    );
    let ogg = format!(
        "PUT /live/nobody HTTP/1.1\r\nAuthorization: Basic {}\r\nContent-Type: audio/ogg\r\n\r\n",
        basic_auth("source", "x")
    );
    let answer = raw_exchange(&source_addr(), ogg.as_bytes()).await?;
    assert!(answer.starts_with("HTTP/1.1 415"), "{answer}");
    let mut huge = b"GET /live/nobody HTTP/1.1\r\nX-Big: ".to_vec();
    huge.resize(1 << 20, b'a');
    let answer = raw_exchange(&source_addr(), &huge)
        .await
        .unwrap_or_default();
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );

    let dj = platform.signed_in_user("twice").await?;
    let id = schedule_now(&platform, &dj.cookie, "Only one source").await?;
    let tone = std::fs::read(tone_path())?;
    let first = chunked_put(&platform, id, &dj.cookie, tone.clone(), false);
    wait_for_stream(&platform, &format!("/api/v1/broadcasts/{id}/stream")).await?;
    let second = chunked_put(&platform, id, &dj.cookie, tone, true).await??;
    assert_eq!(second.status(), 409, "a second source for a live broadcast");
    first.abort();
    Ok(())
}
