//! The DJ's CLI, `livestreamer-source`, run as a DJ runs it against the whole platform through the
//! edge: login with the environment variables, schedule, stream a tone, a WAV and an MP3 file,
//! capture through real ALSA (cpal's own path, fed by ALSA's `file` plugin), survive a dropped
//! network path within the relay's grace period, and fail with the right exit codes.
//!
//! A listener's bytes are decoded by ffmpeg and must last as long as what the CLI says it streamed
//! (within 2 %); recordings are read back (within 1 %).

mod alsa;
mod support;

use std::time::{Duration, Instant};

use support::{
    Dj, assert_close, cpu_time, decoded_secs, finish, interrupt, listen, number_after,
    own_loopback, platform_from, streamed_secs, wav_info,
};

const TONE_MP3: &[u8] = include_bytes!("../../fixtures/tone-6s.mp3");

/// The platform as this test's own client address sees it.
fn platform() -> (std::net::IpAddr, e2e::Platform) {
    let from = own_loopback();
    (from, platform_from(from))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tone_reaches_a_listener_and_the_recording_matches() -> anyhow::Result<()> {
    let (from, platform) = platform();
    let dj = Dj::new(&platform, "clitone", from).await?;
    let whoami = dj.command(&["whoami"])?.output()?;
    assert!(String::from_utf8_lossy(&whoami.stdout).starts_with(&dj.user.username));
    let session = dj.home.join(".config/livestreamer/session.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&session)?.permissions());
    assert_eq!(
        mode & 0o777,
        0o600,
        "the session file is readable by its owner alone"
    );

    let id = dj.schedule_now("CLI tone test")?;
    let recording = dj.home.join("tone.wav");
    let cli = dj.stream(&[
        &id.to_string(),
        "--tone",
        "440",
        "--save",
        recording.to_str().unwrap(),
    ])?;
    let heard = listen(&platform, &format!("/api/v1/broadcasts/{id}/stream")).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu_before, wall) = (cpu_time(cli.id())?, Instant::now());
    tokio::time::sleep(Duration::from_secs(5)).await;
    let cpu = (cpu_time(cli.id())? - cpu_before).as_secs_f64() / wall.elapsed().as_secs_f64();
    interrupt(&cli)?;
    let (status, stderr) = finish(cli, Duration::from_secs(20))?;
    assert!(status.success(), "Ctrl-C ends with 0: {status}\n{stderr}");

    assert!(
        stderr.contains("listeners 1  live"),
        "the status lines show the listener: {stderr}"
    );
    let streamed = streamed_secs(&stderr)?;
    let p99 = number_after(&stderr, "p99 ")?;
    println!(
        "tone at 128 kbps: CPU {:.2} % of one core; capture-to-socket latency p99 {p99} ms",
        cpu * 100.0
    );
    assert!(p99 <= 100.0, "capture-to-socket latency p99 {p99} ms");
    assert!(streamed > 6.0, "{stderr}");
    let heard = tokio::time::timeout(Duration::from_secs(15), heard).await???;
    assert_close(
        decoded_secs(&heard, &format!("tone-{id}"))?,
        streamed,
        2.0,
        "listener vs stream",
    );
    let saved = wav_info(&std::fs::read(&recording)?)?;
    assert_eq!((saved.rate, saved.channels), (48_000, 2));
    assert_close(saved.secs(), streamed, 1.0, "recording vs stream");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wav_and_mp3_files_stream_in_real_time_and_go_live_now() -> anyhow::Result<()> {
    let (from, platform) = platform();
    // A WAV at 44.1 kHz, 16-bit mono, 4 s: converted, encoded, and paced.
    let dj = Dj::new(&platform, "cliwav", from).await?;
    let wav = dj.home.join("input.wav");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=330:duration=4:sample_rate=44100",
        ])
        .args(["-ac", "1", "-c:a", "pcm_s16le"])
        .arg(&wav)
        .status()?;
    assert!(made.success());
    let id = dj.schedule_now("CLI WAV test")?;
    let started = Instant::now();
    let cli = dj.stream(&[
        &id.to_string(),
        "--input",
        wav.to_str().unwrap(),
        "--bitrate",
        "192",
    ])?;
    let heard = listen(&platform, &format!("/api/v1/broadcasts/{id}/stream")).await?;
    let (status, stderr) = finish(cli, Duration::from_secs(30))?;
    assert!(status.success(), "{stderr}");
    assert!(
        started.elapsed() >= Duration::from_millis(3900),
        "paced in real time"
    );
    let heard = tokio::time::timeout(Duration::from_secs(15), heard).await???;
    assert_close(
        decoded_secs(&heard, &format!("wav-{id}"))?,
        4.0,
        2.0,
        "listener vs WAV input",
    );

    // The MP3 fixture, passed through frame by frame into "go live now" (no broadcast id).
    let dj = Dj::new(&platform, "climp3", from).await?;
    let mp3 = dj.home.join("input.mp3");
    std::fs::write(&mp3, TONE_MP3)?;
    let started = Instant::now();
    let cli = dj.stream(&["--input", mp3.to_str().unwrap()])?;
    let heard = listen(&platform, &format!("/live/{}", dj.user.username)).await?;
    let (status, stderr) = finish(cli, Duration::from_secs(30))?;
    assert!(status.success(), "{stderr}");
    assert!(
        started.elapsed() >= Duration::from_millis(5400),
        "paced (6 s minus a 0.5 s lead)"
    );
    let heard = tokio::time::timeout(Duration::from_secs(15), heard).await???;
    let fixture = decoded_secs(TONE_MP3, &format!("fixture-{}", dj.user.username))?;
    assert_close(
        decoded_secs(&heard, &format!("mp3-{}", dj.user.username))?,
        fixture,
        2.0,
        "listener vs MP3 input",
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_runs_through_alsa_and_cpal() -> anyhow::Result<()> {
    let (from, platform) = platform();
    let dj = Dj::new(&platform, "clialsa", from).await?;
    let device = alsa::KnownFileDevice::new(&dj.home, 3.0)?;
    let recording = dj.home.join("capture.wav");
    let cli = dj.stream(&[
        "--device",
        alsa::DEVICE,
        "--save",
        recording.to_str().unwrap(),
    ])?;
    let heard = listen(&platform, &format!("/live/{}", dj.user.username)).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    interrupt(&cli)?;
    let (status, stderr) = finish(cli, Duration::from_secs(20))?;
    drop(device);
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("LiveStreamer test capture"), "{stderr}");
    let streamed = streamed_secs(&stderr)?;
    let heard = tokio::time::timeout(Duration::from_secs(15), heard).await???;
    assert_close(
        decoded_secs(&heard, &format!("alsa-{}", dj.user.username))?,
        streamed,
        2.0,
        "listener vs capture",
    );
    let bytes = std::fs::read(&recording)?;
    let saved = wav_info(&bytes)?;
    assert_close(saved.secs(), streamed, 1.0, "recording vs stream");
    alsa::assert_starts_with_known_audio(&bytes[saved.data.clone()])?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_network_path_reconnects_and_the_listener_stays() -> anyhow::Result<()> {
    let (from, platform) = platform();
    let mut dj = Dj::new(&platform, "clinet", from).await?;
    let id = dj.schedule_now("CLI reconnect test")?;
    let cli = dj.stream(&[&id.to_string(), "--tone", "550"])?;
    // The listener comes straight through the edge, not through the DJ's network path.
    let heard = listen(&platform, &format!("/api/v1/broadcasts/{id}/stream")).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    dj.path.cut().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    dj.path.restore().await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(
        !heard.is_finished(),
        "the listener is still connected after the source came back"
    );
    interrupt(&cli)?;
    let (status, stderr) = finish(cli, Duration::from_secs(20))?;
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("Connection lost"),
        "the CLI saw the drop: {stderr}"
    );
    assert!(
        dj.path.connections() >= 3,
        "login, the stream, and its reconnection"
    );
    let heard = tokio::time::timeout(Duration::from_secs(15), heard).await???;
    let secs = decoded_secs(&heard, &format!("reconnect-{id}"))?;
    assert!(
        secs > 8.0,
        "the listener heard audio from before and after the drop: {secs} s"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_have_their_own_exit_code_and_sentence() -> anyhow::Result<()> {
    let (from, platform) = platform();
    let dj = Dj::new(&platform, "clierr", from).await?;
    let code = |args: &[&str], env: &[(&str, &str)]| -> anyhow::Result<(i32, String)> {
        let mut command = dj.command(args)?;
        command.envs(env.iter().copied());
        let output = command.output()?;
        Ok((
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ))
    };
    let (exit, says) = code(&["stream", "999999999", "--tone", "440"], &[])?;
    assert_eq!(exit, 5, "unknown broadcast: {says}");
    let (exit, says) = code(
        &["login"],
        &[
            ("BROADCASTER_USERNAME", &dj.user.username),
            ("BROADCASTER_PASSWORD", "wrong password!"),
        ],
    )?;
    assert_eq!(exit, 3, "wrong credentials: {says}");
    let (exit, says) = code(&["stream", "--device", "no-such-device", "--quiet"], &[])?;
    assert_eq!(exit, 12, "unknown device: {says}");
    assert!(says.contains("no-such-device"), "{says}");
    let (exit, says) = code(&["stream", "--input", "/nonexistent.wav"], &[])?;
    assert_eq!(exit, 14, "unreadable input: {says}");
    let (exit, says) = code(
        &["--server", "http://127.0.0.1:9", "login"],
        &[("BROADCASTER_USERNAME", "x"), ("BROADCASTER_PASSWORD", "y")],
    )?;
    assert_eq!(exit, 9, "server down: {says}");
    let (exit, says) = code(&["stream", "--bitrate", "100"], &[])?;
    assert_eq!(exit, 2, "bad argument: {says}");
    // A broadcast that starts in two hours may not be streamed into now.
    let output = dj
        .command(&[
            "schedule",
            "--title",
            "Later tonight",
            "--start",
            "+2h",
            "--end",
            "+1h",
        ])?
        .output()?;
    let later = String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let (exit, says) = code(&["stream", later.trim(), "--tone", "440"], &[])?;
    assert_eq!(exit, 6, "outside the window: {says}");
    // A second source into a live broadcast.
    let now = dj.schedule_now("Already live test")?.to_string();
    let first = dj.stream(&[&now, "--tone", "440", "--quiet"])?;
    listen(&platform, &format!("/api/v1/broadcasts/{now}/stream"))
        .await?
        .abort();
    let (exit, says) = code(&["stream", &now, "--tone", "660"], &[])?;
    assert_eq!(exit, 7, "already live: {says}");
    interrupt(&first)?;
    let (status, stderr) = finish(first, Duration::from_secs(20))?;
    assert!(
        status.success(),
        "the first source goes on undisturbed: {stderr}"
    );
    let output = dj.command(&["logout"])?.output()?;
    assert!(output.status.success());
    let (exit, says) = code(&["whoami"], &[])?;
    assert_eq!(exit, 4, "signed out: {says}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_sends_the_description_and_the_artwork() -> anyhow::Result<()> {
    let (from, platform) = platform();
    let dj = Dj::new(&platform, "cliart", from).await?;
    let artwork = dj.home.join("cover.png");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=orange:s=64x64",
        ])
        .args(["-frames:v", "1"])
        .arg(&artwork)
        .status()?;
    assert!(made.success());
    let output = dj
        .command(&[
            "schedule",
            "--title",
            "Sunday morning set",
            "--start",
            "+2h",
            "--end",
            "+90m",
        ])?
        .args(["--description", "Slow records", "--artwork"])
        .arg(&artwork)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let id: i64 = stdout.lines().next().unwrap_or_default().trim().parse()?;
    let broadcast: serde_json::Value = platform
        .http
        .get(platform.url(&format!("/api/v1/broadcasts/{id}")))
        .send()
        .await?
        .json()
        .await?;
    let broadcast = &broadcast["results"];
    assert_eq!(broadcast["description"], "Slow records");
    let artwork_url = broadcast["artworkUrl"].as_str().unwrap_or_default();
    assert!(
        artwork_url.contains(&format!("/broadcasts/{id}/artwork/")),
        "{broadcast}"
    );
    let start = chrono::DateTime::parse_from_rfc3339(broadcast["startAt"].as_str().unwrap())?;
    let end = chrono::DateTime::parse_from_rfc3339(broadcast["endAt"].as_str().unwrap())?;
    assert_eq!(
        (end - start).num_minutes(),
        90,
        "--end +90m counts from the start"
    );
    Ok(())
}
