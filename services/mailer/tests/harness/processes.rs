//! Child processes of the fault tests: the mailer binary, maildev, and an SMTP server that defers.

use std::{
    net::TcpListener as StdListener,
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    process::{Child, Command},
};

use super::Scenario;

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A folder of its own under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{what}-{}", test_support::unique_name()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct MailerProcess {
    child: Child,
    health_port: u16,
}

impl MailerProcess {
    pub async fn start(scenario: &Scenario, smtp_port: u16) -> Self {
        let health_port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_mailer"))
            .env("MAILER_LISTEN", format!("127.0.0.1:{health_port}"))
            .env("MAILER_AMQP_URL", test_support::amqp_url())
            .env("MAILER_AMQP_EXCHANGE", &scenario.name)
            .env("MAILER_QUEUE", scenario.queue())
            .env("MAILER_REDIS_URL", test_support::redis_url())
            .env("MAILER_REDIS_PREFIX", format!("{}:", scenario.name))
            .env("MAILER_SMTP_HOST", "127.0.0.1")
            .env("MAILER_SMTP_PORT", smtp_port.to_string())
            .env("MAILER_SMTP_SECURITY", "none")
            .env("MAILER_MAX_ATTEMPTS", "3")
            .env("MAILER_RETRY_FIRST_MS", "100")
            .env("MAILER_RETRY_MAX_MS", "1000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the mailer binary");
        Self { child, health_port }
    }

    /// Waits for `/readyz`: subscribed, Redis and SMTP answering.
    pub async fn wait_ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/readyz", self.health_port);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
            assert!(self.is_running(), "the mailer exited");
            assert!(
                Instant::now() < deadline,
                "the mailer was not ready in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The address of its health and metrics port.
    pub fn addr(&self) -> std::net::SocketAddr {
        ([127, 0, 0, 1], self.health_port).into()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGKILL: no shutdown, no acks, no goodbyes.
    pub fn kill(&mut self) {
        self.child.start_kill().unwrap();
    }
}

/// One delivered mail, as maildev's REST API shows it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    /// Its `Message-ID` header: the same for every send of one job.
    pub message_id: String,
}

pub struct Maildev {
    child: Child,
    pub smtp_port: u16,
    web_port: u16,
    _dir: TempDir,
}

impl Maildev {
    /// Starts maildev (from scripts/tools, as `./dev` installs it) on `smtp_port` or a free one.
    pub async fn start(smtp_port: Option<u16>) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/tools/node_modules/maildev/dist/bin/maildev.js");
        assert!(
            script.exists(),
            "maildev is missing at {script:?}: run ./dev test (or npm ci in scripts/tools)"
        );
        let dir = TempDir::new("maildev");
        let (smtp_port, web_port) = (smtp_port.unwrap_or_else(free_port), free_port());
        let child = Command::new("node")
            .arg(&script)
            .args(["--ip", "127.0.0.1", "--web-ip", "127.0.0.1"])
            .args([
                "--smtp",
                &smtp_port.to_string(),
                "--web",
                &web_port.to_string(),
            ])
            .arg("--mail-directory")
            .arg(dir.0.join("mail"))
            .current_dir(&dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start maildev with node");
        let maildev = Self {
            child,
            smtp_port,
            web_port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while maildev.try_mails().await.is_none() {
            assert!(Instant::now() < deadline, "maildev did not answer in 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        maildev
    }

    async fn try_mails(&self) -> Option<Vec<Mail>> {
        let url = format!("http://127.0.0.1:{}/api/email", self.web_port);
        let mails: Vec<Value> = reqwest::get(&url).await.ok()?.json().await.ok()?;
        Some(
            mails
                .iter()
                .flat_map(|m| {
                    let message_id = m["headers"]["message-id"].as_str().unwrap_or_default();
                    let to = m["to"].as_array().cloned().unwrap_or_default();
                    to.into_iter().map(move |to| Mail {
                        to: to["address"].as_str().unwrap_or_default().to_owned(),
                        message_id: message_id.to_owned(),
                    })
                })
                .collect(),
        )
    }

    pub async fn mails(&self) -> Vec<Mail> {
        self.try_mails().await.expect("maildev answers")
    }

    /// Waits until at least `count` mails arrived; returns them.
    pub async fn wait_for_count(&self, count: usize, within: Duration) -> Vec<Mail> {
        self.wait_for(&format!("{count} mails"), within, |mails| {
            mails.len() >= count
        })
        .await
    }

    /// Waits until the mails that arrived are `what` (`done`); returns them.
    pub async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        done: impl Fn(&[Mail]) -> bool,
    ) -> Vec<Mail> {
        let deadline = Instant::now() + within;
        loop {
            let mails = self.mails().await;
            if done(&mails) {
                return mails;
            }
            assert!(
                Instant::now() < deadline,
                "not {what} in {within:?}: {} mails",
                mails.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn kill(mut self) {
        self.child.start_kill().unwrap();
    }
}

/// An SMTP server that answers every `MAIL FROM` with `451` (try again later).
pub struct FakeSmtp {
    pub port: u16,
}

impl FakeSmtp {
    pub async fn deferring() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 fake ESMTP\r\n").await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                        let answer: &[u8] = match verb.as_str() {
                            "MAIL" => b"451 4.3.0 Mailbox busy, try again later\r\n",
                            "QUIT" => b"221 bye\r\n",
                            _ => b"250 OK\r\n",
                        };
                        if write.write_all(answer).await.is_err() || verb == "QUIT" {
                            break;
                        }
                    }
                });
            }
        });
        Self { port }
    }
}
