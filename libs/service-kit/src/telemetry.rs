//! Structured logs with `tracing`, and OpenTelemetry traces when a collector is named.
//!
//! `RUST_LOG` filters the logs (default `info`); `LIVESTREAMER_LOG_FORMAT=json` switches to one JSON
//! object per line, for log collectors.
//!
//! Traces are off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set: then the `tracing` spans of the
//! service (the request, gRPC call and RabbitMQ spans of `trace_context`, and any others at `info`
//! or above) are exported over OTLP/gRPC by a batch processor, with `service.name` naming the
//! service, and W3C `traceparent` headers carry the trace from one process to the next. Unset, no
//! exporter, propagator or background thread exists and no span is made for propagation's sake.
//! The standard `OTEL_*` variables tune the rest (`OTEL_EXPORTER_OTLP_TIMEOUT`,
//! `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_RESOURCE_ATTRIBUTES`, ...).

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::{global, trace::TracerProvider as _};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, Layer, filter::LevelFilter, fmt, prelude::*};

/// The variable that turns tracing on; its value is the collector's OTLP/gRPC endpoint.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces: the propagation code skips its spans when it does not.
pub fn is_exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Turns propagation on without an exporter, for tests that record spans themselves.
#[cfg(test)]
pub(crate) fn propagate_in_tests() {
    global::set_text_map_propagator(TraceContextPropagator::new());
    EXPORTING.store(true, Ordering::Relaxed);
}

/// Keeps the trace exporter alive; dropping it (at the end of `main`) exports the spans still
/// queued, so the last requests before a graceful shutdown are not lost.
#[must_use = "dropping it at once stops exporting traces"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(error) = provider.shutdown()
        {
            // The subscriber may already be gone: say it where it is always seen.
            eprintln!("could not export the last spans: {error}");
        }
    }
}

/// Sets up logging, and trace export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Call it once, at
/// the start of `main`, inside the Tokio runtime (the exporter's gRPC channel lives there), and
/// keep what it returns until `main` ends.
pub fn init(service: &'static str) -> Telemetry {
    let wanted = std::env::var(OTLP_ENDPOINT_VAR).is_ok_and(|endpoint| !endpoint.is_empty());
    let provider = if wanted {
        match tracer_provider(service) {
            Ok(provider) => Some(provider),
            Err(error) => {
                eprintln!("traces are off: cannot build the OTLP exporter: {error}");
                None
            }
        }
    } else {
        None
    };
    let traces = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service))
            .with_filter(LevelFilter::INFO)
    });
    let installed = tracing_subscriber::registry()
        .with(log_layer())
        .with(traces)
        .try_init()
        .is_ok();
    if installed && provider.is_some() {
        global::set_text_map_propagator(TraceContextPropagator::new());
        EXPORTING.store(true, Ordering::Relaxed);
    }
    if installed {
        tracing::info!(
            service,
            version = env!("CARGO_PKG_VERSION"),
            traces = provider.is_some(),
            "starting"
        );
    }
    Telemetry { provider }
}

/// The log lines: text or JSON, filtered by `RUST_LOG`. The filter is this layer's own, so
/// `RUST_LOG=warn` quiets the logs without emptying the traces.
fn log_layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("LIVESTREAMER_LOG_FORMAT").is_ok_and(|f| f == "json");
    let layer = fmt::layer().with_target(false);
    let layer = if json {
        layer.json().flatten_event(true).boxed()
    } else {
        layer.boxed()
    };
    layer.with_filter(filter)
}

/// OTLP over gRPC (the endpoint and its settings come from the standard variables), batched.
fn tracer_provider(
    service: &'static str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build())
}
