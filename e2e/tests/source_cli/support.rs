//! Running `livestreamer-source` as a child process, listening like a player, and measuring what
//! came out (ffmpeg decodes; WAV headers read back).

use std::{
    io::Read,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use e2e::{Platform, SignedInUser};
use futures_util::StreamExt;

use test_support::tcp_proxy::TcpProxy;

/// The password `Platform::signed_in_user` gives every user.
pub const PASSWORD: &str = "a long enough secret";

/// The CLI binary, built by the same `cargo build --workspace --bins --tests` as this test.
pub fn cli_binary() -> anyhow::Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(dir).join("debug/livestreamer-source"));
    }
    // This test runs as <target>/debug/deps/source_cli-<hash>.
    let exe = std::env::current_exe()?;
    if let Some(debug) = exe.parent().and_then(Path::parent) {
        candidates.push(debug.join("livestreamer-source"));
    }
    candidates
        .into_iter()
        .find(|path| path.is_file())
        .context("livestreamer-source is not built: cargo build -p livestreamer-source")
}

/// A loopback address of this test's own (127.0.0.2 to 127.0.0.254): the gateway counts sign-ups
/// and sign-ins per client address, and the other tests use 127.0.0.1.
pub fn own_loopback() -> IpAddr {
    let byte = uuid::Uuid::new_v4().as_bytes()[0] % 253 + 2;
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, byte))
}

/// The platform as seen from `from`, with no overall timeout (a stream lasts as long as it lasts).
pub fn platform_from(from: IpAddr) -> Platform {
    let mut platform = Platform::from_env();
    platform.http = reqwest::Client::builder()
        .local_address(from)
        .build()
        .expect("an HTTP client");
    platform
}

/// A DJ with a home folder of their own (session file, ALSA config), a network path of their own
/// to the edge (a proxy the test can cut, a Wi-Fi drop, while listeners who come through the edge
/// directly stay connected; its connections come from an address of their own, so the CLI's
/// sign-ins are not counted against 127.0.0.1), and the CLI signed in through it.
pub struct Dj {
    pub user: SignedInUser,
    pub home: PathBuf,
    pub server: String,
    pub path: TcpProxy,
}

/// The home folder goes with the DJ (it holds the ALSA capture file the test played).
impl Drop for Dj {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

impl Dj {
    /// Signs up a user through the platform, then signs the CLI in with the environment variables.
    pub async fn new(platform: &Platform, prefix: &str, from: IpAddr) -> anyhow::Result<Self> {
        let user = platform.signed_in_user(prefix).await?;
        let home = std::env::temp_dir().join(format!("ls-cli-{}", user.username));
        std::fs::create_dir_all(&home)?;
        let authority = platform
            .base
            .trim_start_matches("http://")
            .trim_end_matches('/');
        let edge = tokio::net::lookup_host(authority)
            .await?
            .find(std::net::SocketAddr::is_ipv4)
            .with_context(|| format!("{authority} has no IPv4 address"))?;
        let path = TcpProxy::start_from(edge, from).await?;
        let dj = Self {
            user,
            home,
            server: format!("http://{}", path.addr()),
            path,
        };
        let output = dj
            .command(&["login"])?
            .env("BROADCASTER_USERNAME", &dj.user.username)
            .env("BROADCASTER_PASSWORD", PASSWORD)
            .output()?;
        anyhow::ensure!(
            output.status.success(),
            "login failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(dj)
    }

    /// The CLI with this DJ's home and server; stdin closed.
    pub fn command(&self, args: &[&str]) -> anyhow::Result<Command> {
        let mut command = Command::new(cli_binary()?);
        command
            .args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("LIVESTREAMER_SERVER", &self.server)
            .env_remove("BROADCASTER_USERNAME")
            .env_remove("BROADCASTER_PASSWORD")
            .stdin(Stdio::null());
        Ok(command)
    }

    /// `schedule` for now and an hour; returns the id it printed.
    pub fn schedule_now(&self, title: &str) -> anyhow::Result<i64> {
        let output = self
            .command(&[
                "schedule", "--title", title, "--start", "now", "--end", "+1h",
            ])?
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        anyhow::ensure!(
            output.status.success(),
            "schedule failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut lines = stdout.lines();
        let id = lines.next().context("no id printed")?.trim().parse()?;
        let url = lines.next().context("no page URL printed")?;
        anyhow::ensure!(
            url.ends_with(&format!("/broadcasts/{id}")),
            "page URL {url}"
        );
        Ok(id)
    }

    /// Starts `stream ARGS` with stderr captured.
    pub fn stream(&self, args: &[&str]) -> anyhow::Result<Child> {
        let mut full = vec!["stream"];
        full.extend_from_slice(args);
        Ok(self
            .command(&full)?
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?)
    }
}

/// Ctrl-C, as a terminal sends it.
pub fn interrupt(child: &Child) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()?;
    anyhow::ensure!(status.success(), "kill -INT failed");
    Ok(())
}

/// Waits for the child's end (at most `within`); returns its status and stderr.
pub fn finish(mut child: Child, within: Duration) -> anyhow::Result<(ExitStatus, String)> {
    let deadline = Instant::now() + within;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the CLI did not end within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr)?;
    }
    Ok((status, stderr))
}

/// CPU time (user + system) the process has used so far, from /proc.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = &stat[stat.rfind(')').context("a /proc stat line")? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    let hz = 100; // USER_HZ on Linux
    Ok(Duration::from_millis(ticks * 1000 / hz))
}

/// A listener: GETs `path` once the stream is live and keeps every byte until the body ends.
pub async fn listen(
    platform: &Platform,
    path: &str,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<Vec<u8>>>> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let response = loop {
        let response = platform.http.get(platform.url(path)).send().await?;
        if response.status() == 200 {
            break response;
        }
        if Instant::now() > deadline {
            bail!("{path} did not go live within 15 s ({})", response.status());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    Ok(tokio::spawn(async move {
        let mut bytes = Vec::new();
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        Ok(bytes)
    }))
}

/// The seconds of audio in MP3 bytes, decoded by ffmpeg (which fails on undecodable input).
pub fn decoded_secs(mp3: &[u8], name: &str) -> anyhow::Result<f64> {
    let dir = std::env::temp_dir();
    let input = dir.join(format!("{name}.mp3"));
    let output = dir.join(format!("{name}.decoded.wav"));
    std::fs::write(&input, mp3)?;
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&input)
        .args(["-f", "wav", "-c:a", "pcm_s16le"])
        .arg(&output)
        .status()
        .context("ffmpeg is needed to decode what a listener heard")?;
    anyhow::ensure!(
        status.success(),
        "ffmpeg could not decode {}",
        input.display()
    );
    Ok(wav_info(&std::fs::read(&output)?)?.secs())
}

/// What a 16-bit PCM WAV file's header says, and where its samples are.
pub struct WavInfo {
    pub rate: u32,
    pub channels: u16,
    pub data: std::ops::Range<usize>,
}

impl WavInfo {
    pub fn secs(&self) -> f64 {
        self.data.len() as f64 / (f64::from(self.rate) * f64::from(self.channels) * 2.0)
    }
}

/// Reads a WAV header: RIFF/WAVE, fmt (PCM 16-bit), the data chunk's declared size.
pub fn wav_info(bytes: &[u8]) -> anyhow::Result<WavInfo> {
    anyhow::ensure!(bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WAVE");
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    anyhow::ensure!(
        u32_at(4) as usize + 8 <= bytes.len(),
        "RIFF size beyond the file"
    );
    let (mut at, mut format) = (12, None);
    while at + 8 <= bytes.len() {
        let size = u32_at(at + 4) as usize;
        match &bytes[at..at + 4] {
            b"fmt " => {
                let tag = u16::from_le_bytes([bytes[at + 8], bytes[at + 9]]);
                let bits = u16::from_le_bytes([bytes[at + 22], bytes[at + 23]]);
                anyhow::ensure!(tag == 1 && bits == 16, "not 16-bit PCM");
                format = Some((
                    u32_at(at + 12),
                    u16::from_le_bytes([bytes[at + 10], bytes[at + 11]]),
                ));
            }
            b"data" => {
                let (rate, channels) = format.context("data before fmt")?;
                anyhow::ensure!(at + 8 + size <= bytes.len(), "data size beyond the file");
                return Ok(WavInfo {
                    rate,
                    channels,
                    data: at + 8..at + 8 + size,
                });
            }
            _ => {}
        }
        at += 8 + size + (size & 1);
    }
    bail!("no data chunk")
}

/// "Stream ended: 6.012 s of audio" → 6.012.
pub fn streamed_secs(stderr: &str) -> anyhow::Result<f64> {
    number_after(stderr, "Stream ended: ")
}

/// The number that follows `marker` in `text`.
pub fn number_after(text: &str, marker: &str) -> anyhow::Result<f64> {
    let start = text
        .find(marker)
        .with_context(|| format!("no {marker:?} in: {text}"))?
        + marker.len();
    let number: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    Ok(number.parse()?)
}

/// `actual` is within `percent` % of `expected`.
pub fn assert_close(actual: f64, expected: f64, percent: f64, what: &str) {
    let error = (actual - expected).abs() / expected * 100.0;
    assert!(
        error <= percent,
        "{what}: {actual:.3} s vs {expected:.3} s ({error:.2} % off, at most {percent} %)"
    );
}
