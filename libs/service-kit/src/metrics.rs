//! Prometheus metrics: one registry per process, `GET /metrics` in the text format, and the request
//! count and latency of every HTTP and gRPC route, by route and status.
//!
//! The registry is process-wide so that any module can register its own metrics at start
//! (`metrics::register`) without threading a handle through every constructor; `serve::serve` adds
//! the request metrics and the endpoint to every service. gRPC calls are HTTP/2 requests whose route
//! is the method's path (`/livestreamer.auth.v1.Auth/SignUp`); their status is the HTTP one, the gRPC
//! status travels in trailers.

use std::{
    hash::Hash,
    sync::{Mutex, OnceLock},
    time::Instant,
};

use axum::{
    Router,
    extract::{MatchedPath, Request},
    http::{StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
pub use prometheus_client::metrics::{counter::Counter, family::Family, gauge::Gauge};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::histogram::{Histogram, exponential_buckets},
    registry::{Metric, Registry},
};

type Labels = Vec<(String, String)>;

struct RequestMetrics {
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Registry::with_prefix("livestreamer")))
}

fn request_metrics() -> &'static RequestMetrics {
    static METRICS: OnceLock<RequestMetrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let metrics = RequestMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
        };
        register(
            "http_requests",
            "Requests answered, by route, method and status",
            metrics.requests.clone(),
        );
        register(
            "http_request_duration_seconds",
            "Time to answer a request (to its response head), by route, method and status",
            metrics.latency.clone(),
        );
        metrics
    })
}

/// Registers a metric in the process's registry (names get the `livestreamer_` prefix).
pub fn register(name: &str, help: &str, metric: impl Metric) {
    registry()
        .lock()
        .expect("metrics registry")
        .register(name, help, metric);
}

/// A counter registered under `name` (`_total` is added to its name in the text format).
pub fn counter(name: &str, help: &str) -> Counter {
    let counter = Counter::default();
    register(name, help, counter.clone());
    counter
}

/// A gauge registered under `name`.
pub fn gauge(name: &str, help: &str) -> Gauge {
    let gauge = Gauge::default();
    register(name, help, gauge.clone());
    gauge
}

/// Counters by label set, registered under `name`. Labels must come from a small fixed set (a
/// reason, a status), never from what clients send, or the series grow without bound.
pub fn counters<L>(name: &str, help: &str) -> Family<L, Counter>
where
    L: EncodeLabelSet + Clone + Eq + Hash + std::fmt::Debug + Send + Sync + 'static,
{
    let family = Family::default();
    register(name, help, family.clone());
    family
}

/// The registry in Prometheus' text format.
pub fn render() -> String {
    let mut text = String::new();
    encode(&mut text, &registry().lock().expect("metrics registry")).expect("writing to a String");
    text
}

/// Middleware that counts and times every request by its matched route.
pub async fn track(request: Request, next: Next) -> Response {
    let route = route(&request);
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = vec![
        ("route".to_owned(), route),
        ("method".to_owned(), method),
        ("status".to_owned(), response.status().as_u16().to_string()),
    ];
    let metrics = request_metrics();
    metrics.requests.get_or_create(&labels).inc();
    metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// The request's route: its matched pattern, or for a gRPC call its path. tonic matches
/// `/{service}/{*method}`: for a matched gRPC call the full path names the method (few, fixed). Any
/// unmatched path is one label, never one per URL a client made up.
pub(crate) fn route(request: &Request) -> String {
    match request.extensions().get::<MatchedPath>() {
        Some(_) if is_grpc(request) => request.uri().path().to_owned(),
        Some(matched) => matched.as_str().to_owned(),
        None => "unmatched".to_owned(),
    }
}

pub(crate) fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/grpc"))
}

/// `GET /metrics`.
pub fn router() -> Router {
    Router::new().route(
        "/metrics",
        get(|| async {
            (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                render(),
            )
                .into_response()
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, middleware};
    use tower::ServiceExt;

    #[tokio::test]
    async fn requests_are_counted_by_route_and_status() {
        let app = Router::new()
            .route("/things/{id}", get(|| async { "a thing" }))
            .layer(middleware::from_fn(track))
            .merge(router());
        for id in [1, 2] {
            let request = Request::get(format!("/things/{id}"))
                .body(Body::empty())
                .unwrap();
            assert_eq!(
                app.clone().oneshot(request).await.unwrap().status(),
                StatusCode::OK
            );
        }
        let metrics = app
            .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(metrics.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            text.contains(r#"livestreamer_http_requests_total{route="/things/{id}",method="GET",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains("livestreamer_http_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
