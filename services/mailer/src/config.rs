//! The mailer's settings (prefix `MAILER_`, shared `LIVESTREAMER_`).

use std::time::Duration;

use secrecy::SecretString;
use service_kit::config::{ConfigError, Env, defaults};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP, for a local mail catcher.
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587); refuses a server without it.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" | "smtps" => Ok(Self::Tls),
            other => Err(format!("expected none, starttls or tls, not {other:?}")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub amqp_url: String,
    pub amqp_exchange: String,
    /// The durable queue of mail jobs; dead letters go to `<queue>.dead`.
    pub queue: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    /// SMTP AUTH, when both are set.
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    /// The sender of every mail.
    pub from: String,
    /// Attempts the SMTP server may refuse a job with a temporary error before it is dead-lettered.
    pub max_attempts: u32,
    /// The first and the longest pause between retries (doubling in between).
    pub retry_first: Duration,
    pub retry_max: Duration,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("MAILER");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8150"),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            queue: env.string("QUEUE", "mailer.jobs"),
            redis_url: env.string("REDIS_URL", defaults::REDIS_URL),
            redis_prefix: env.string("REDIS_PREFIX", defaults::REDIS_PREFIX),
            smtp_host: env.string("SMTP_HOST", "127.0.0.1"),
            smtp_port: env.parse("SMTP_PORT", 1025)?,
            smtp_security: env.parse("SMTP_SECURITY", SmtpSecurity::None)?,
            smtp_username: env.get("SMTP_USERNAME").map(|(_, v)| v),
            smtp_password: env.get("SMTP_PASSWORD").map(|(_, v)| v.into()),
            from: env.string("MAIL_FROM", "LiveStreamer <no-reply@livestreamer.local>"),
            max_attempts: env.parse("MAX_ATTEMPTS", 8)?,
            retry_first: Duration::from_millis(env.parse("RETRY_FIRST_MS", 500)?),
            retry_max: Duration::from_millis(env.parse("RETRY_MAX_MS", 30_000)?),
        })
    }
}
