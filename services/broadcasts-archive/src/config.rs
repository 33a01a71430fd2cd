//! The broadcasts-archive service's settings (prefix `BROADCASTS_`, shared `LIVESTREAMER_`).

use service_kit::config::{ConfigError, Env, defaults};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: String,
    pub amqp_url: String,
    pub amqp_exchange: String,
    pub auth_url: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("BROADCASTS");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8130"),
            database_url: env.string("DATABASE_URL", defaults::DATABASE_URL),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            auth_url: env.string("AUTH_URL", defaults::AUTH_URL),
        })
    }
}
