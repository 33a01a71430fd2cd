//! One trace across processes: the spans that open and close each hop, and the W3C `traceparent`
//! that carries the trace over it.
//!
//! A request is one trace from the browser to the last consumer: the gateway's request span (a child
//! of the caller's `traceparent` if there is one, else a new trace), a client span for each gRPC
//! call with the context in the call's metadata (HTTP/2 headers), the callee's request span as its
//! child, a producer span for each RabbitMQ publish with the context in the message's headers, and
//! the consumer span that handles the delivery as the producer span's child. Every service gets
//! these from `serve`, `grpc_client` and `amqp`, written once here.
//!
//! With tracing off (`telemetry::is_exporting`) none of these spans is made and no header is
//! written or read.

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::Response,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use opentelemetry::{
    Context, global,
    propagation::{Extractor, Injector},
};
use tracing::{Instrument, Span, field};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::telemetry::is_exporting;

/// Paths polled by orchestrators every few seconds: a trace each would bury the real ones.
const UNTRACED_PATHS: &[&str] = &["/healthz", "/readyz"];

/// Middleware: the request runs inside a server span named after its route (or gRPC method),
/// continuing the caller's trace when the request carries a `traceparent`.
pub async fn server_span(request: Request, next: Next) -> Response {
    if !is_exporting() || UNTRACED_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let span = request_span(&span_name(&request), request.method(), request.headers());
    let response = next.run(request).instrument(span.clone()).await;
    record_status(&span, response.status());
    response
}

/// A server span named `name` (`PUT /live/{username}`) continuing the `traceparent` in `headers`,
/// for a server that does not go through [`server_span`]: the relay's own hyper loop.
/// `Span::none()` when tracing is off.
pub fn request_span(name: &str, method: &Method, headers: &HeaderMap) -> Span {
    if !is_exporting() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "request",
        otel.name = %name,
        otel.kind = "server",
        http.request.method = %method,
        http.response.status_code = field::Empty,
        otel.status_code = field::Empty,
    );
    set_remote_parent(&span, &HeaderExtractor(headers));
    span
}

/// Notes the response's status on a [`request_span`].
pub fn record_status(span: &Span, status: StatusCode) {
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

/// `POST /api/v1/users` for a route, `livestreamer.auth.v1.Auth/SignUp` for a gRPC method.
fn span_name(request: &Request) -> String {
    let route = crate::metrics::route(request);
    if crate::metrics::is_grpc(request) {
        route.trim_start_matches('/').to_owned()
    } else {
        format!("{} {route}", request.method())
    }
}

/// A client span for a gRPC call to `path`, with its context written into `headers` (the call's
/// metadata). `Span::none()` when tracing is off.
pub(crate) fn grpc_client_span(path: &str, headers: &mut HeaderMap) -> Span {
    if !is_exporting() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "grpc call",
        otel.name = %path.trim_start_matches('/'),
        otel.kind = "client",
        rpc.system = "grpc",
    );
    inject(&span, &mut HeaderInjector(headers));
    span
}

/// A producer span for publishing under `routing_key`, and the message headers that carry it
/// (`None` when tracing is off).
pub(crate) fn producer_span(exchange: &str, routing_key: &str) -> (Span, Option<FieldTable>) {
    if !is_exporting() {
        return (Span::none(), None);
    }
    let span = tracing::info_span!(
        "publish",
        otel.name = %format_args!("{routing_key} publish"),
        otel.kind = "producer",
        messaging.system = "rabbitmq",
        messaging.destination.name = %exchange,
        messaging.rabbitmq.destination.routing_key = %routing_key,
    );
    let mut headers = FieldTable::default();
    inject(&span, &mut AmqpInjector(&mut headers));
    (span, Some(headers))
}

/// A consumer span for handling a delivery from `queue`, the child of the publisher's span when the
/// message's `headers` carry one.
pub(crate) fn consumer_span(queue: &str, routing_key: &str, headers: Option<&FieldTable>) -> Span {
    if !is_exporting() {
        return Span::none();
    }
    let span = tracing::info_span!(
        "process",
        otel.name = %format_args!("{routing_key} process"),
        otel.kind = "consumer",
        messaging.system = "rabbitmq",
        messaging.destination.name = %queue,
        messaging.rabbitmq.destination.routing_key = %routing_key,
    );
    if let Some(headers) = headers {
        set_remote_parent(&span, &AmqpExtractor(headers));
    }
    span
}

fn inject(span: &Span, carrier: &mut dyn Injector) {
    let context = span.context();
    global::get_text_map_propagator(|propagator| propagator.inject_context(&context, carrier));
}

fn set_remote_parent(span: &Span, carrier: &dyn Extractor) {
    let parent: Context = global::get_text_map_propagator(|propagator| propagator.extract(carrier));
    // Fails only for a span no subscriber records, which has no parent to keep.
    let _ = span.set_parent(parent);
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct AmqpInjector<'a>(&'a mut FieldTable);

impl Injector for AmqpInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0
            .insert(key.into(), AMQPValue::LongString(LongString::from(value)));
    }
}

struct AmqpExtractor<'a>(&'a FieldTable);

impl Extractor for AmqpExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self.0.inner().get(key)? {
            AMQPValue::LongString(value) => std::str::from_utf8(value.as_bytes()).ok(),
            AMQPValue::ShortString(value) => Some(value.as_str()),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.0.inner().keys().map(|key| key.as_str()).collect()
    }
}

#[cfg(test)]
mod tests;
