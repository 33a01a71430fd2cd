//! The spans the test stack's services exported, as the `otlp_sink` binary received them: what it
//! serves as JSON and how the tests read it. The test stack points every service's
//! `OTEL_EXPORTER_OTLP_ENDPOINT` at the sink and the tests at it with `E2E_OTLP_SINK_URL`.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};

/// One span, its ids in lowercase hex as in a `traceparent` (the parent empty for a root span).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub name: String,
    /// `server`, `client`, `producer`, `consumer` or `internal`.
    pub kind: String,
    /// The exporting process's `service.name`.
    pub service: String,
}

/// The sink's query API.
pub struct TraceSink {
    url: String,
    http: reqwest::Client,
}

impl TraceSink {
    pub fn from_env() -> Self {
        Self {
            url: std::env::var("E2E_OTLP_SINK_URL")
                .unwrap_or_else(|_| "http://127.0.0.1:4417".into()),
            http: reqwest::Client::new(),
        }
    }

    /// The spans of one trace received so far.
    pub async fn spans(&self, trace_id: &str) -> anyhow::Result<Vec<ReceivedSpan>> {
        let response = self
            .http
            .get(format!("{}/spans", self.url))
            .query(&[("trace_id", trace_id)])
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("the OTLP sink at {} does not answer: {e}", self.url))?;
        anyhow::ensure!(
            response.status().is_success(),
            "GET /spans answered {}",
            response.status()
        );
        Ok(response.json().await?)
    }

    /// The trace's spans once `complete` holds for them (exports arrive in batches, process by
    /// process); the spans as they are when `within` runs out.
    pub async fn wait_for(
        &self,
        trace_id: &str,
        within: Duration,
        complete: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> anyhow::Result<Vec<ReceivedSpan>> {
        let deadline = Instant::now() + within;
        loop {
            let spans = self.spans(trace_id).await?;
            if complete(&spans) || Instant::now() > deadline {
                return Ok(spans);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The span's ancestors within `spans`, nearest first, and the parent id where the chain leaves
/// `spans` (empty when it ends at a root span). A chain that ends anywhere but at the caller's own
/// span means some hop started a trace of its own or lost its span.
pub fn ancestors<'a>(
    spans: &'a [ReceivedSpan],
    span: &'a ReceivedSpan,
) -> (Vec<&'a ReceivedSpan>, String) {
    let by_id: HashMap<&str, &ReceivedSpan> =
        spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
    let mut chain: Vec<&ReceivedSpan> = Vec::new();
    let mut current = span;
    while let Some(parent) = by_id.get(current.parent_span_id.as_str()) {
        if chain.len() > spans.len() {
            break; // a cycle: not a tree
        }
        chain.push(parent);
        current = parent;
    }
    (chain, current.parent_span_id.clone())
}
