//! A local OTLP/gRPC receiver for the test stack: the services export their spans here (their
//! `OTEL_EXPORTER_OTLP_ENDPOINT`), and the e2e tests ask it which spans a trace has, so a test can
//! check that one user action became one trace across processes.
//!
//! One port (`OTLP_SINK_LISTEN`, default 127.0.0.1:4417) serves the OTLP `TraceService/Export` call,
//! `GET /spans?trace_id=HEX` (JSON, see `e2e::traces::ReceivedSpan`) and `GET /readyz`. It keeps the
//! newest `MAX_SPANS` spans in memory: a test stack lives for one test run.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    routing::get,
};
use e2e::traces::ReceivedSpan;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value,
    trace::v1::span::SpanKind,
};
use serde::Deserialize;

const MAX_SPANS: usize = 200_000;

#[derive(Clone, Default)]
struct Received(Arc<Mutex<VecDeque<ReceivedSpan>>>);

impl Received {
    fn add(&self, request: ExportTraceServiceRequest) {
        let mut spans = self.0.lock().expect("received spans");
        for resource_spans in request.resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(
                    |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                        Value::StringValue(name) => Some(name.clone()),
                        _ => None,
                    },
                )
                .unwrap_or_default();
            for span in resource_spans
                .scope_spans
                .into_iter()
                .flat_map(|scope| scope.spans)
            {
                if spans.len() == MAX_SPANS {
                    spans.pop_front();
                }
                spans.push_back(ReceivedSpan {
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: kind_name(span.kind()).to_owned(),
                    name: span.name,
                    service: service.clone(),
                });
            }
        }
    }

    fn of_trace(&self, trace_id: &str) -> Vec<ReceivedSpan> {
        let spans = self.0.lock().expect("received spans");
        spans
            .iter()
            .filter(|span| span.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

#[tonic::async_trait]
impl TraceService for Received {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.add(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal | SpanKind::Unspecified => "internal",
    }
}

#[derive(Deserialize)]
struct SpansQuery {
    trace_id: String,
}

async fn spans(
    State(received): State<Received>,
    Query(query): Query<SpansQuery>,
) -> Json<Vec<ReceivedSpan>> {
    Json(received.of_trace(&query.trace_id.to_ascii_lowercase()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::var("OTLP_SINK_LISTEN").unwrap_or_else(|_| "127.0.0.1:4417".to_owned());
    let received = Received::default();
    let queries = Router::new()
        .route("/spans", get(spans))
        .route("/readyz", get(|| async { "ready" }))
        .with_state(received.clone());
    let app = tonic::service::Routes::new(TraceServiceServer::new(received))
        .prepare()
        .into_axum_router()
        .merge(queries);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    eprintln!("otlp_sink: OTLP/gRPC and GET /spans on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}
