//! The broadcasts-archive service's settings (prefix `BROADCASTS_`, shared `LIVESTREAMER_`).

use service_kit::config::{ConfigError, Env, defaults};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub amqp_url: String,
    pub amqp_exchange: String,
    pub auth_url: String,
    /// How long a live broadcast stays live without a heartbeat (`stream.started` or
    /// `stream.stats`, which the relay sends at least every 5 s) before it is ended as abandoned.
    pub live_ttl_secs: u64,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("BROADCASTS");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8130"),
            database_url: env.string("DATABASE_URL", defaults::DATABASE_URL),
            redis_url: env.string("REDIS_URL", defaults::REDIS_URL),
            redis_prefix: env.string("REDIS_PREFIX", defaults::REDIS_PREFIX),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            auth_url: env.string("AUTH_URL", defaults::AUTH_URL),
            live_ttl_secs: env.parse("LIVE_TTL_SECS", 15)?,
        })
    }
}
