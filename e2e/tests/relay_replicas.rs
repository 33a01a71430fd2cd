//! Two stream-relay replicas (the test stack runs `stream-relay` and `stream-relay-2` behind nginx):
//! each test pins the source to one replica and listeners to both, by the replicas' own addresses
//! (`E2E_RELAY_URLS`), and checks what listeners hear with real decoding: the stream from a frame
//! boundary on the replica without the source, listener counts summed over the replicas, and a source
//! that drops on one replica and reconnects to the other within the grace period, the listeners of
//! both hearing it go on.

use std::time::Duration;

use e2e::{
    Platform,
    audio::{assert_decodes, listen, paced_put, schedule_now, starts_on_frame_header, tone_path},
    next_event,
};

/// About real time for the 128 kbit/s tone: 4000 bytes every 250 ms.
const REAL_TIME: (usize, Duration) = (4000, Duration::from_millis(250));

/// The relay replicas' own addresses; `None` when the stack runs one (the dev stack).
fn relay_urls() -> Option<(String, String)> {
    let urls = std::env::var("E2E_RELAY_URLS").ok()?;
    let mut urls = urls.split(',').map(str::to_owned);
    Some((urls.next()?, urls.next()?))
}

/// Waits until `url` answers a GET with audio (the stream is live there); returns that response.
async fn listen_at(platform: &Platform, url: &str) -> anyhow::Result<reqwest::Response> {
    for _ in 0..75 {
        let response = platform.http.get(url).send().await?;
        if response.status() == 200 {
            return Ok(response);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("{url} did not go live within 15 s")
}

#[tokio::test]
async fn a_listener_on_the_other_replica_hears_the_stream_and_counts_add_up() -> anyhow::Result<()>
{
    let Some((first, second)) = relay_urls() else {
        eprintln!("SKIPPED: one relay replica (E2E_RELAY_URLS)");
        return Ok(());
    };
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("rep").await?;
    let id = schedule_now(&platform, &dj.cookie, "Two replicas").await?;
    let mut room = platform.connect_ws(id).await?;
    let tone = std::fs::read(tone_path())?;
    let put = format!("{first}/api/v1/users/me/broadcasts/{id}/stream");
    let source = paced_put(
        &platform.http,
        &put,
        &dj.cookie,
        tone.clone(),
        REAL_TIME,
        true,
    );

    let path = format!("/api/v1/broadcasts/{id}/stream");
    let elsewhere = listen_at(&platform, &format!("{second}{path}")).await?;
    let here = listen_at(&platform, &format!("{first}{path}")).await?;
    let heard_elsewhere = tokio::spawn(listen(elsewhere, Duration::from_secs(30)));
    let heard_here = tokio::spawn(listen(here, Duration::from_secs(30)));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let listeners = next_event(&mut room, "stream:listeners", left).await?;
        if listeners["count"].as_i64() == Some(2) {
            break; // one listener on each replica
        }
    }

    assert_eq!(source.await??.status(), 200);
    let (elsewhere, here) = (heard_elsewhere.await?, heard_here.await?);
    assert!(
        starts_on_frame_header(&elsewhere),
        "the other replica starts its listener on a frame"
    );
    assert!(elsewhere.len() > 40_000, "{} bytes", elsewhere.len());
    let end = &tone[tone.len() - 2000..];
    assert!(
        elsewhere.ends_with(end),
        "the other replica heard the stream to its end"
    );
    assert!(here.ends_with(end));
    assert_decodes(&elsewhere).await?;
    Ok(())
}

#[tokio::test]
async fn a_source_dropped_on_one_replica_goes_on_from_the_other() -> anyhow::Result<()> {
    let Some((first, second)) = relay_urls() else {
        eprintln!("SKIPPED: one relay replica (E2E_RELAY_URLS)");
        return Ok(());
    };
    let platform = Platform::from_env();
    let dj = platform.signed_in_user("hop").await?;
    let id = schedule_now(&platform, &dj.cookie, "Replica hop").await?;
    let tone = std::fs::read(tone_path())?;
    let (first_half, second_half) = tone.split_at(tone.len() / 2);
    let put = format!("/api/v1/users/me/broadcasts/{id}/stream");

    let dropped = paced_put(
        &platform.http,
        &format!("{first}{put}"),
        &dj.cookie,
        first_half.to_vec(),
        REAL_TIME,
        false,
    );
    let path = format!("/api/v1/broadcasts/{id}/stream");
    let on_first = listen_at(&platform, &format!("{first}{path}")).await?;
    let on_second = listen_at(&platform, &format!("{second}{path}")).await?;
    let heard_first = tokio::spawn(listen(on_first, Duration::from_secs(40)));
    let heard_second = tokio::spawn(listen(on_second, Duration::from_secs(40)));
    tokio::time::sleep(Duration::from_secs(2)).await;
    dropped.abort(); // the connection to the first replica breaks mid-body
    tokio::time::sleep(Duration::from_secs(2)).await;

    let resumed = paced_put(
        &platform.http,
        &format!("{second}{put}"),
        &dj.cookie,
        second_half.to_vec(),
        REAL_TIME,
        true,
    );
    let answer = resumed.await??;
    assert_eq!(answer.status(), 200);
    let summary: serde_json::Value = answer.json().await?;
    assert_eq!(summary["results"]["resumed"], true, "{summary}");

    let end = &second_half[second_half.len() - 2000..];
    for (replica, heard) in [
        ("first", heard_first.await?),
        ("second", heard_second.await?),
    ] {
        assert!(starts_on_frame_header(&heard), "{replica}");
        assert!(
            heard.ends_with(end),
            "the listener on the {replica} replica heard the resumed stream to its end"
        );
        assert!(
            heard.len() > 20_000 + second_half.len() / 2,
            "{replica}: audio before and after the drop, {} bytes",
            heard.len()
        );
        assert_decodes(&heard).await?;
    }
    let recording = wait_for_recording(&platform, id, &dj.cookie).await?;
    assert!(
        recording.len() > tone.len() / 2 + 20_000,
        "one recording, both replicas' parts: {} bytes",
        recording.len()
    );
    assert!(recording.ends_with(end));
    assert_decodes(&recording).await?;
    Ok(())
}

/// The owner's GET of a recording once the end is recorded.
async fn wait_for_recording(
    platform: &Platform,
    id: i64,
    cookie: &str,
) -> anyhow::Result<bytes::Bytes> {
    let url = platform.url(&format!("/api/v1/broadcasts/{id}/recording"));
    for _ in 0..50 {
        let response = platform
            .http
            .get(&url)
            .header("cookie", cookie)
            .send()
            .await?;
        if response.status() == 200 {
            return Ok(response.bytes().await?);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("the recording at {url} never became available")
}
