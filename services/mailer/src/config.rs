//! The mailer's settings (prefix `MAILER_`, shared `LIVESTREAMER_`).

use service_kit::config::{ConfigError, Env, defaults};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub amqp_url: String,
    pub amqp_exchange: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// The sender of every mail.
    pub from: String,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("MAILER");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8150"),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            redis_url: env.string("REDIS_URL", defaults::REDIS_URL),
            redis_prefix: env.string("REDIS_PREFIX", defaults::REDIS_PREFIX),
            smtp_host: env.string("SMTP_HOST", "127.0.0.1"),
            smtp_port: env.parse("SMTP_PORT", 1025)?,
            from: env.string("MAIL_FROM", "LiveStreamer <no-reply@livestreamer.local>"),
        })
    }
}
