//! The channel every service's gRPC clients call through: a tonic `Channel` that makes a client
//! span for each call and writes the trace context into the call's metadata, so the callee's spans
//! join the caller's trace (see `trace_context`).

use std::task::{Context, Poll};

use tonic::{
    body::Body,
    codegen::{Service, http},
    transport::{Channel, Endpoint, channel::ResponseFuture},
};
use tracing::instrument::{Instrument, Instrumented};

/// A lazily connected channel to one service, for `XxxClient::new`.
#[derive(Debug, Clone)]
pub struct TracedChannel {
    inner: Channel,
}

impl TracedChannel {
    /// A channel that connects on its first call (services start in any order).
    pub fn lazy(endpoint: Endpoint) -> Self {
        Self {
            inner: endpoint.connect_lazy(),
        }
    }
}

impl Service<http::Request<Body>> for TracedChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = Instrumented<ResponseFuture>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<http::Request<Body>>::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let span = crate::trace_context::grpc_client_span(parts.uri.path(), &mut parts.headers);
        let request = http::Request::from_parts(parts, body);
        self.inner.call(request).instrument(span)
    }
}
