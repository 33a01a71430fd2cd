//! The platform's HTTP API as the CLI uses it: errors come back as the API's own message.

use anyhow::{Context, bail};
use serde_json::Value;

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(server: &str) -> anyhow::Result<Self> {
        let base = server.trim_end_matches('/').to_owned();
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "--server must be an http:// or https:// URL, not {server:?}"
        );
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .user_agent(concat!("livestreamer-source/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { base, http })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// The `results` of a successful response, or the API's error message.
pub async fn results(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response
        .text()
        .await
        .context("reading the server's answer")?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let message = body["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| text.chars().take(200).collect());
        bail!("the server answered {status}: {message}");
    }
    Ok(body["results"].clone())
}
