//! The platform's HTTP API as the CLI uses it: answers become `results` or a [`CliError`] that
//! carries the API's own message, so every failure reads as one sentence from the server.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::error::CliError;

/// How long an ordinary API call (not the stream) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(server: &str) -> Result<Self, CliError> {
        let base = server.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--server must be an http:// or https:// URL, not {server:?}."
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("livestreamer-source/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(CliError::internal)?;
        Ok(Self { base, http })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends an ordinary call (with a timeout) and maps a network failure to its class.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, CliError> {
        request
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(|error| self.network_error(&error))
    }

    /// A failure to talk to the server at all: down, refusing connections, or too slow.
    pub fn network_error(&self, error: &reqwest::Error) -> CliError {
        if error.is_timeout() {
            return CliError::TooSlow(self.base.clone());
        }
        let reason = if error.is_connect() {
            "the connection was refused or timed out".to_owned()
        } else {
            innermost_cause(error)
        };
        CliError::Unreachable {
            server: self.base.clone(),
            reason,
        }
    }
}

/// The deepest `source()` of an error: the message that says what really happened.
pub fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The `results` of a successful response, or the API's error as a [`CliError`].
pub async fn results(api: &Api, response: reqwest::Response) -> Result<Value, CliError> {
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|error| api.network_error(&error))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body["results"].clone());
    }
    Err(status_error(status, &api_message(&body, &text)))
}

/// The `message` of an API error envelope, or the start of the raw body.
pub fn api_message(body: &Value, raw: &str) -> String {
    body["message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| raw.chars().take(200).collect::<String>().trim().to_owned())
}

/// The failure class of an HTTP error status, with the server's message.
pub fn status_error(status: StatusCode, message: &str) -> CliError {
    let message = if message.is_empty() {
        status.to_string()
    } else {
        message.to_owned()
    };
    match status.as_u16() {
        401 => CliError::NotSignedIn(format!(
            "Your session has expired or was revoked ({message}): run `livestreamer-source login` again."
        )),
        403 => CliError::NotAllowedNow(sentence(&message)),
        404 => CliError::BroadcastNotFound(sentence(&message)),
        409 => CliError::AlreadyLive(sentence(&message)),
        408 | 504 => CliError::TooSlow(message),
        400..=499 => CliError::Refused(sentence(&message)),
        _ => CliError::ServerError(sentence(&format!("{status}: {message}"))),
    }
}

/// `message` ending with a full stop.
fn sentence(message: &str) -> String {
    let message = message.trim();
    if message.ends_with(['.', '!', '?']) {
        message.to_owned()
    } else {
        format!("{message}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_their_failure_class_with_the_servers_message() {
        let code =
            |status: u16| status_error(StatusCode::from_u16(status).unwrap(), "Nope").exit_code();
        assert_eq!(code(401), 4);
        assert_eq!(code(404), 5);
        assert_eq!(code(403), 6);
        assert_eq!(code(409), 7);
        assert_eq!(code(415), 8);
        assert_eq!(code(504), 10);
        assert_eq!(code(502), 11);
        let error = status_error(StatusCode::NOT_FOUND, "There is no broadcast with id 7");
        assert_eq!(error.to_string(), "There is no broadcast with id 7.");
    }

    #[test]
    fn a_server_url_must_be_http() {
        assert_eq!(Api::new("ftp://x").err().unwrap().exit_code(), 2);
        assert_eq!(Api::new("http://x/").unwrap().base, "http://x");
    }
}
