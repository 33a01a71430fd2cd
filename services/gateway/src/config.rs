//! The gateway's settings (prefix `GATEWAY_`, shared `LIVESTREAMER_`).

use service_kit::config::{ConfigError, Env, defaults};

use crate::client_ip::TrustedProxy;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub auth_url: String,
    pub chat_url: String,
    pub broadcasts_url: String,
    pub amqp_url: String,
    pub amqp_exchange: String,
    pub redis_url: String,
    /// Prefix of every Redis key (tests use a unique one).
    pub redis_prefix: String,
    /// The site's public origin: cookies are `Secure` when it is https, and browsers' `Origin`
    /// headers are compared with it (and with the request's own host).
    pub public_url: String,
    /// Proxies (besides loopback) whose `X-Forwarded-For` entries are believed, for rate limits.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Frames a slow WebSocket may have waiting in its backlog (its connection full) before it is
    /// closed.
    pub ws_send_queue: usize,
    /// The kernel's send buffer of each connection, in bytes (0: the kernel's autotuning, which lets
    /// a client that never reads hold megabytes before the backlog above even starts to fill).
    pub socket_send_buffer: usize,
    /// How long a socket of a replica that stopped vouching for it stays in its room.
    pub presence_expiry_secs: u64,
    /// Whether the public broadcast listings are cached in Redis (off only to measure the cache).
    pub listing_cache: bool,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("GATEWAY");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8100"),
            auth_url: env.string("AUTH_URL", defaults::AUTH_URL),
            chat_url: env.string("CHAT_URL", defaults::CHAT_URL),
            broadcasts_url: env.string("BROADCASTS_URL", defaults::BROADCASTS_URL),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            redis_url: env.string("REDIS_URL", defaults::REDIS_URL),
            redis_prefix: env.string("REDIS_PREFIX", defaults::REDIS_PREFIX),
            public_url: env
                .string("PUBLIC_URL", defaults::PUBLIC_URL)
                .trim_end_matches('/')
                .to_owned(),
            trusted_proxies: trusted_proxies(&env)?,
            ws_send_queue: env.parse("WS_SEND_QUEUE", 256)?,
            socket_send_buffer: env.parse("SOCKET_SEND_BUFFER", 64 * 1024)?,
            presence_expiry_secs: env.parse("PRESENCE_EXPIRY_SECS", 30)?,
            listing_cache: env.parse("LISTING_CACHE", true)?,
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// `GATEWAY_TRUSTED_PROXIES`: comma-separated addresses or networks (`10.0.0.0/8`).
fn trusted_proxies(env: &Env) -> Result<Vec<TrustedProxy>, ConfigError> {
    let Some((variable, raw)) = env.get("TRUSTED_PROXIES") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.parse().map_err(|reason| ConfigError {
                variable: variable.clone(),
                reason,
            })
        })
        .collect()
}
