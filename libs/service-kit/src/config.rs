//! Configuration from the environment, over defaults that work on a developer's machine.
//!
//! A setting `NAME` of the service with prefix `AUTH` is read from `AUTH_NAME`, then from the value
//! shared by every service, `LIVESTREAMER_NAME`, then taken from the default. One task runner can then
//! set the shared values once and each service's own listen address.

use std::{fmt::Display, str::FromStr};

use thiserror::Error;

#[derive(Debug, Error)]
#[error("invalid value for {variable}: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub reason: String,
}

/// The environment as seen by one service.
#[derive(Debug, Clone)]
pub struct Env {
    prefix: &'static str,
}

impl Env {
    pub fn new(prefix: &'static str) -> Self {
        Self { prefix }
    }

    /// The raw value, if set (service-specific first, then shared).
    pub fn get(&self, name: &str) -> Option<(String, String)> {
        [
            format!("{}_{name}", self.prefix),
            format!("LIVESTREAMER_{name}"),
        ]
        .into_iter()
        .find_map(|variable| {
            std::env::var(&variable)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|v| (variable, v))
        })
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.get(name)
            .map(|(_, v)| v)
            .unwrap_or_else(|| default.to_owned())
    }

    /// A parsed value; a value that does not parse is an error naming the variable, never ignored.
    pub fn parse<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some((variable, raw)) => raw.parse().map_err(|e: T::Err| ConfigError {
                variable,
                reason: e.to_string(),
            }),
        }
    }
}

/// Addresses of the shared infrastructure and of the services, with the dev stack's defaults.
pub mod defaults {
    pub const DATABASE_URL: &str =
        "postgres://livestreamer:livestreamer@127.0.0.1:25432/livestreamer";
    pub const REDIS_URL: &str = "redis://127.0.0.1:26379/";
    pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:25672/%2f";
    pub const AMQP_EXCHANGE: &str = "livestreamer.events";
    pub const REDIS_PREFIX: &str = "ls:";
    pub const AUTH_URL: &str = "http://127.0.0.1:8110";
    pub const CHAT_URL: &str = "http://127.0.0.1:8120";
    pub const BROADCASTS_URL: &str = "http://127.0.0.1:8130";
    pub const PUBLIC_URL: &str = "http://localhost:8080";
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test uses its own variable names: the process environment is shared between tests.
    #[test]
    fn service_value_wins_over_shared_value_over_default() {
        let env = Env::new("KITTEST1");
        assert_eq!(env.string("COLOUR", "red"), "red");
        unsafe { std::env::set_var("LIVESTREAMER_COLOUR", "green") };
        assert_eq!(env.string("COLOUR", "red"), "green");
        unsafe { std::env::set_var("KITTEST1_COLOUR", "blue") };
        assert_eq!(env.string("COLOUR", "red"), "blue");
    }

    #[test]
    fn an_unparsable_value_names_its_variable() {
        unsafe { std::env::set_var("KITTEST2_PORT", "eighty") };
        let error = Env::new("KITTEST2").parse::<u16>("PORT", 80).unwrap_err();
        assert_eq!(error.variable, "KITTEST2_PORT");
        assert!(error.to_string().contains("invalid digit"), "{error}");
    }
}
