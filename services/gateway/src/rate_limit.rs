//! The account routes' rate limits, counted in Redis so every gateway replica shares them: sign-in
//! and sign-up 10 a minute per client address and per account name, password-reset mails 5 an hour
//! per address. Over a limit the answer is 429 with `Retry-After`.
//!
//! Account names are hashed into the keys: what a client types never becomes a Redis key as such.
//! When Redis cannot answer, the request passes (logged): a limit must not take sign-in down with it.

use std::{net::IpAddr, time::Duration};

use axum::http::StatusCode;
use service_kit::rate_limit::{Decision, SlidingWindow, retry_after_secs};
use sha2::{Digest, Sha256};

use crate::{AppState, error::ApiError};

/// One limit: how many attempts per window, under which name its keys live.
pub struct Limit {
    name: &'static str,
    max: u32,
    window: Duration,
}

pub const SIGN_IN: Limit = Limit {
    name: "sign-in",
    max: 10,
    window: Duration::from_secs(60),
};
pub const SIGN_UP: Limit = Limit {
    name: "sign-up",
    max: 10,
    window: Duration::from_secs(60),
};
pub const PASSWORD_RESET: Limit = Limit {
    name: "password-reset",
    max: 5,
    window: Duration::from_secs(3600),
};

/// Who an attempt is counted against.
pub enum Subject<'a> {
    Address(IpAddr),
    /// A username or an email address, compared without case.
    Account(&'a str),
}

impl Subject<'_> {
    fn key(&self) -> String {
        match self {
            Subject::Address(ip) => format!("ip:{ip}"),
            Subject::Account(name) => {
                let digest = Sha256::digest(name.trim().to_lowercase().as_bytes());
                let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
                format!("account:{hex}")
            }
        }
    }
}

/// Counts one attempt against each subject; a 429 naming when to retry if any is over the limit.
pub async fn check(
    state: &AppState,
    limit: &Limit,
    subjects: &[Subject<'_>],
) -> Result<(), ApiError> {
    let prefix = format!("{}rate:{}:", state.config.redis_prefix, limit.name);
    let window = SlidingWindow::new(state.redis.clone(), prefix, limit.max, limit.window);
    for subject in subjects {
        match window.check(&subject.key()).await {
            Ok(Decision::Allowed) => {}
            Ok(Decision::Limited { retry_after }) => {
                let secs = retry_after_secs(retry_after);
                let mut error = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many attempts: try again in {secs} seconds"),
                );
                error.retry_after_secs = Some(secs);
                return Err(error);
            }
            Err(error) => {
                tracing::warn!(%error, limit = limit.name, "rate limit unavailable, letting the request pass");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_ignore_case_and_hide_what_was_typed() {
        let a = Subject::Account("DJ@Example.com").key();
        assert_eq!(a, Subject::Account(" dj@example.com").key());
        assert!(!a.contains("example"));
        assert_eq!(Subject::Address("::1".parse().unwrap()).key(), "ip:::1");
    }
}
