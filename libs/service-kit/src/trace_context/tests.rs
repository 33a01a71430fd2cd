//! The spans of one process, recorded in memory: that each hop continues the trace it is handed.

use axum::{Router, body::Body, middleware, routing::get};
use opentelemetry::trace::{SpanKind, TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tower::ServiceExt;
use tracing_subscriber::prelude::*;

use super::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

struct Recorder {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    _guard: tracing::subscriber::DefaultGuard,
}

impl Recorder {
    /// Records this thread's spans (the tests run on a current-thread runtime).
    fn start() -> Self {
        crate::telemetry::propagate_in_tests();
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("test"));
        let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));
        Self {
            exporter,
            provider,
            _guard: guard,
        }
    }

    fn spans(&self) -> Vec<SpanData> {
        self.provider.force_flush().unwrap();
        self.exporter.get_finished_spans().unwrap()
    }

    fn span(&self, name: &str) -> SpanData {
        let spans = self.spans();
        spans
            .iter()
            .find(|span| span.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("no span {name} in {spans:?}"))
    }
}

#[tokio::test]
async fn a_request_continues_the_callers_trace() {
    let recorder = Recorder::start();
    let app = Router::new()
        .route("/things/{id}", get(|| async { "a thing" }))
        .layer(middleware::from_fn(server_span));
    let request = Request::get("/things/7")
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap();

    let span = recorder.span("GET /things/{id}");
    assert_eq!(span.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(span.parent_span_id.to_string(), PARENT_ID);
    assert_eq!(span.span_kind, SpanKind::Server);
}

#[tokio::test]
async fn a_request_without_traceparent_starts_a_trace_and_probes_make_none() {
    let recorder = Recorder::start();
    let app = Router::new()
        .route("/things/{id}", get(|| async { "a thing" }))
        .route("/readyz", get(|| async { "ready" }))
        .layer(middleware::from_fn(server_span));
    for path in ["/things/7", "/readyz"] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        app.clone().oneshot(request).await.unwrap();
    }

    let spans = recorder.spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert!(spans[0].span_context.is_valid());
    assert_eq!(spans[0].parent_span_id, opentelemetry::SpanId::INVALID);
}

#[tokio::test]
async fn a_grpc_call_carries_its_client_span_in_the_metadata() {
    let recorder = Recorder::start();
    let outer = tracing::info_span!("outer");
    let mut headers = HeaderMap::new();
    let trace_id = outer.context().span().span_context().trace_id();
    let client = outer.in_scope(|| grpc_client_span("/pkg.Service/Method", &mut headers));
    drop(client);
    drop(outer);

    let call = recorder.span("pkg.Service/Method");
    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(call.span_context.trace_id(), trace_id);
    let traceparent = headers["traceparent"].to_str().unwrap();
    assert_eq!(
        traceparent,
        format!("00-{trace_id}-{}-01", call.span_context.span_id())
    );
}

#[tokio::test]
async fn a_consumed_message_is_a_child_of_its_publish() {
    let recorder = Recorder::start();
    let (publish, headers) = producer_span("events", "mail.send");
    let headers = headers.expect("headers while tracing");
    drop(publish);
    let process = consumer_span("mailer", "mail.send", Some(&headers));
    drop(process);

    let publish = recorder.span("mail.send publish");
    let process = recorder.span("mail.send process");
    assert_eq!(publish.span_kind, SpanKind::Producer);
    assert_eq!(process.span_kind, SpanKind::Consumer);
    assert_eq!(
        process.span_context.trace_id(),
        publish.span_context.trace_id()
    );
    assert_eq!(process.parent_span_id, publish.span_context.span_id());
}

#[tokio::test]
async fn a_message_without_trace_headers_starts_a_trace() {
    let recorder = Recorder::start();
    drop(consumer_span("mailer", "mail.send", None));

    let process = recorder.span("mail.send process");
    assert!(process.span_context.is_valid());
    assert_eq!(process.parent_span_id, opentelemetry::SpanId::INVALID);
}
