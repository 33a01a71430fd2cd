//! The chat service's settings (prefix `CHAT_`, shared `LIVESTREAMER_`).

use service_kit::config::{ConfigError, Env, defaults};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub amqp_url: String,
    pub amqp_exchange: String,
    pub auth_url: String,
    pub broadcasts_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    /// Messages one user may post per `rate_window_ms` (3 per 2 s, as the API says).
    pub rate_limit: u32,
    pub rate_window_ms: u64,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("CHAT");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8120"),
            database_url: env.string("DATABASE_URL", defaults::DATABASE_URL),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            auth_url: env.string("AUTH_URL", defaults::AUTH_URL),
            broadcasts_url: env.string("BROADCASTS_URL", defaults::BROADCASTS_URL),
            redis_url: env.string("REDIS_URL", defaults::REDIS_URL),
            redis_prefix: env.string("REDIS_PREFIX", defaults::REDIS_PREFIX),
            rate_limit: env.parse("RATE_LIMIT", 3)?,
            rate_window_ms: env.parse("RATE_WINDOW_MS", 2000)?,
        })
    }
}
