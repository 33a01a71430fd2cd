//! The relay's stream events, consumed: `stream.started` and `stream.stats` are heartbeats that keep
//! a broadcast live (and carry its listener figures), `stream.ended` saves the end. Stats are
//! ephemeral: one that cannot be applied is dropped, the next one comes within 5 s. An end is
//! retried until it is saved.

use std::time::Duration;

use lapin::message::Delivery;
use livestreamer_proto::events::{StreamEnded, StreamStarted, StreamStats, routing};
use prost::Message;
use service_kit::{
    amqp::{Outcome, QueueSpec},
    clock::now_ms,
};

use crate::{
    grpc::BroadcastsService,
    lifecycle::{self, EndReport},
};

/// One durable queue per exchange (tests use an exchange of their own).
pub fn queue(exchange: &str) -> QueueSpec {
    QueueSpec {
        name: format!("{exchange}.broadcasts-archive"),
        bindings: vec![
            routing::STREAM_STARTED.to_owned(),
            routing::STREAM_STATS.to_owned(),
            routing::STREAM_ENDED.to_owned(),
        ],
        prefetch: 64,
        dead_letter: true,
    }
}

pub async fn handle(service: &BroadcastsService, delivery: Delivery) -> Outcome {
    let payload = delivery.data.as_slice();
    match delivery.routing_key.as_str() {
        routing::STREAM_STARTED => match StreamStarted::decode(payload) {
            Ok(StreamStarted {
                broadcast: Some(b), ..
            }) => heartbeat(service, b.broadcast_id, None).await,
            _ => poison("stream.started"),
        },
        routing::STREAM_STATS => match StreamStats::decode(payload) {
            Ok(stats) => {
                let figures = (stats.listener_count, stats.listener_peak_count);
                heartbeat(service, stats.broadcast_id, Some(figures)).await
            }
            Err(_) => poison("stream.stats"),
        },
        routing::STREAM_ENDED => match StreamEnded::decode(payload) {
            Ok(ended) => end(service, ended).await,
            Err(_) => poison("stream.ended"),
        },
        _ => Outcome::Ack,
    }
}

fn poison(what: &str) -> Outcome {
    tracing::warn!("undecodable {what} message, dead-lettering it");
    Outcome::Reject
}

async fn heartbeat(
    service: &BroadcastsService,
    broadcast_id: i64,
    figures: Option<(i64, i64)>,
) -> Outcome {
    if let Err(error) = service.live.beat(broadcast_id, figures, now_ms()).await {
        tracing::warn!(%error, broadcast_id, "cannot record a heartbeat");
    }
    Outcome::Ack
}

async fn end(service: &BroadcastsService, ended: StreamEnded) -> Outcome {
    let report = EndReport {
        listener_peak_count: ended.listener_peak_count,
        duration_sec: Some(ended.duration_sec),
        recording_url: ended.recording_url,
    };
    let id = ended.broadcast_id;
    match lifecycle::finish(&service.pool, &service.live, &service.cache, id, &report).await {
        Ok(_) => {
            tracing::info!(broadcast_id = id, "stream ended and archived");
            Outcome::Ack
        }
        Err(error) => {
            tracing::warn!(%error, broadcast_id = id, "cannot archive a stream end, will retry");
            tokio::time::sleep(Duration::from_secs(1)).await;
            Outcome::Retry
        }
    }
}
