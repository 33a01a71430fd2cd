//! Structured logs with `tracing`. `RUST_LOG` filters (default `info`); `LIVESTREAMER_LOG_FORMAT=json`
//! switches to one JSON object per line, for log collectors.

use tracing_subscriber::{EnvFilter, fmt};

pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LIVESTREAMER_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = fmt().with_env_filter(filter).with_target(false);
    let result = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    if result.is_ok() {
        tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "starting");
    }
}
