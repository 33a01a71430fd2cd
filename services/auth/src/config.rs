//! The auth service's settings (prefix `AUTH_`, shared `LIVESTREAMER_`).

use secrecy::SecretString;
use service_kit::config::{ConfigError, Env, defaults};

use crate::superadmin::Superadmin;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub database_url: SecretString,
    pub redis_url: SecretString,
    pub redis_prefix: String,
    pub amqp_url: SecretString,
    pub amqp_exchange: String,
    /// Where the web app is, for links in mails.
    pub public_url: String,
    /// The Ed25519 seed (base64, 32 bytes) that signs internal tokens; a fresh one per start if unset.
    pub signing_key: Option<SecretString>,
    pub session_ttl_secs: u64,
    /// The administrator created at the first start, if configured.
    pub superadmin: Option<Superadmin>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        let env = Env::new("AUTH");
        Ok(Self {
            listen: env.string("LISTEN", "127.0.0.1:8110"),
            database_url: env.string("DATABASE_URL", defaults::DATABASE_URL).into(),
            redis_url: env.string("REDIS_URL", defaults::REDIS_URL).into(),
            redis_prefix: env.string("REDIS_PREFIX", defaults::REDIS_PREFIX),
            amqp_url: env.string("AMQP_URL", defaults::AMQP_URL).into(),
            amqp_exchange: env.string("AMQP_EXCHANGE", defaults::AMQP_EXCHANGE),
            public_url: env
                .string("PUBLIC_URL", defaults::PUBLIC_URL)
                .trim_end_matches('/')
                .to_owned(),
            signing_key: env.get("SIGNING_KEY").map(|(_, v)| v.into()),
            session_ttl_secs: env.parse("SESSION_TTL_SECS", 14 * 24 * 3600)?,
            superadmin: Superadmin::from_env(&env)?,
        })
    }
}
