//! The relay's settings (prefix `RELAY_`, shared `LIVESTREAMER_`), over defaults that match the dev
//! stack (see docs/RUNTIME.md).

use std::{path::PathBuf, time::Duration};

use service_kit::config::{ConfigError, Env, defaults};

#[derive(Clone)]
pub struct Config {
    /// The HTTP port behind the edge proxy: the CLI's chunked PUT and the listeners' GET.
    pub listen: String,
    /// The source port Icecast clients reach through the TCP pass-through.
    pub source_listen: String,
    pub auth_url: String,
    pub broadcasts_url: String,
    /// The broker's URL; it may carry a password, so it is never logged.
    pub amqp_url: String,
    pub amqp_exchange: String,
    /// How much recent audio a new listener receives at once, so playback starts without waiting.
    pub burst_bytes: usize,
    /// How far a listener may fall behind the live edge before he is dropped (Icecast's queue-size).
    pub queue_bytes: usize,
    /// Redis keeps the listener counts of every replica; it may carry a password, so never logged.
    pub redis_url: String,
    pub redis_prefix: String,
    /// Where each broadcast's MP3 recording is written (a Kubernetes volume in production).
    pub recordings_dir: PathBuf,
    /// How long listeners stay connected after the source's connection broke, waiting for it to
    /// come back (same user, same broadcast) before the broadcast ends.
    pub source_grace: Duration,
    /// Listeners of visible broadcasts served by the broadcast's write loops ([`crate::shard`])
    /// instead of a hyper connection each: under a kilobyte per listener instead of about 30, and
    /// less CPU (BENCHMARKS.md, "Stream relay vs Icecast"). On by default; off, every listener
    /// goes through hyper.
    pub fast_listeners: bool,
    /// How often the fast path's write loops write to their sockets: every frame that came since
    /// goes in one call. The kernel's TCP path costs per call, not per byte, so writing every
    /// second or fifth frame divides the CPU per listener by about as much, for up to that much
    /// more latency ([`crate::shard`]). 0: each frame as soon as it comes. The default, 130 ms
    /// (about five frames), measured at 5,000 listeners: 0.71× icecast2's CPU per listener with
    /// 0.93× its p99 lag; 100 ms: 0.99× and 0.71×.
    pub write_every: Duration,
    /// The kernel send buffer of each listener's connection (0: the kernel's autotuning), so that a
    /// listener who stops reading reaches `queue_bytes` soon instead of hiding behind megabytes of
    /// kernel buffer ([`service_kit::serve::cap_send_buffer`]).
    pub socket_send_buffer: usize,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("RELAY");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8140"),
            source_listen: env.string("SOURCE_LISTEN", "127.0.0.1:8141"),
            auth_url: env.string("AUTH_URL", defaults::AUTH_URL),
            broadcasts_url: env.string("BROADCASTS_URL", defaults::BROADCASTS_URL),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            burst_bytes: env.parse("BURST_BYTES", 65_536)?,
            queue_bytes: env.parse("QUEUE_BYTES", 524_288)?,
            redis_url: env.string("REDIS_URL", defaults::REDIS_URL),
            redis_prefix: env.string("REDIS_PREFIX", defaults::REDIS_PREFIX),
            recordings_dir: env.string("RECORDINGS_DIR", "recordings").into(),
            source_grace: Duration::from_millis(env.parse("SOURCE_GRACE_MS", 10_000)?),
            fast_listeners: env.parse("FAST_LISTENERS", true)?,
            write_every: Duration::from_millis(env.parse("WRITE_EVERY_MS", 130)?),
            socket_send_buffer: env.parse("SOCKET_SEND_BUFFER", 64 * 1024)?,
        })
    }
}

/// Written by hand so that the broker URL, which may carry a password, never reaches a log.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("source_listen", &self.source_listen)
            .field("auth_url", &self.auth_url)
            .field("broadcasts_url", &self.broadcasts_url)
            .field("amqp_url", &"<redacted>")
            .field("amqp_exchange", &self.amqp_exchange)
            .field("burst_bytes", &self.burst_bytes)
            .field("queue_bytes", &self.queue_bytes)
            .field("redis_url", &"<redacted>")
            .field("redis_prefix", &self.redis_prefix)
            .field("recordings_dir", &self.recordings_dir)
            .field("source_grace", &self.source_grace)
            .field("fast_listeners", &self.fast_listeners)
            .field("write_every", &self.write_every)
            .field("socket_send_buffer", &self.socket_send_buffer)
            .finish()
    }
}
