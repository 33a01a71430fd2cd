//! The one body type every answer uses, JSON envelope or endless audio stream alike.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Empty, Full, combinators::UnsyncBoxBody};

/// Why a streaming body stopped early; hyper then closes the connection instead of ending the body
/// cleanly, so the client knows the stream was cut.
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

pub type Body = UnsyncBoxBody<Bytes, BodyError>;

fn from_infallible(never: Infallible) -> BodyError {
    match never {}
}

pub fn empty() -> Body {
    Empty::new().map_err(from_infallible).boxed_unsync()
}

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(from_infallible)
        .boxed_unsync()
}

/// A JSON answer.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let mut response = Response::new(full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET /metrics`: the process's metrics in Prometheus' text format.
pub fn metrics() -> Response<Body> {
    let mut response = Response::new(full(service_kit::metrics::render()));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
