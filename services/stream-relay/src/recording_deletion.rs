//! A deleted broadcast takes its recording with it: the relay consumes `broadcast.deleted` and
//! removes `<recordings dir>/<broadcast id>.mp3`.
//!
//! Why the relay: it writes and serves the recordings, and owns the folder (a volume shared by its
//! replicas). The queue is durable and shared by every replica (one of them handles each event), so
//! a deletion made while the relay is down or restarting is done when it is back.
//!
//! While the broadcast is live here (broadcasts-archive refuses to delete a live broadcast, so only
//! a race gets here), the file is still being written: the event is put back and handled again
//! after [`LIVE_RETRY`], so the recording goes once the stream has ended. A file that is already
//! gone (never recorded, or deleted before) is done; one the relay cannot remove (permissions) is
//! dead-lettered to `<queue>.dead` with a log line, for an operator.

use std::{sync::Arc, time::Duration};

use livestreamer_proto::events::{BroadcastDeleted, routing};
use prost::Message;
use service_kit::amqp::{self, ConsumerState, EventBus, Outcome, QueueSpec};

use crate::{AppState, recording};

/// How long a deletion waits while its broadcast is still live here.
pub const LIVE_RETRY: Duration = Duration::from_secs(2);

/// The relay's durable queue, named after the exchange so that deployments (and tests) sharing a
/// broker never consume each other's events.
pub fn queue(exchange: &str) -> QueueSpec {
    QueueSpec {
        name: format!("{exchange}.relay"),
        bindings: vec![routing::BROADCAST_DELETED.to_owned()],
        prefetch: 4,
        dead_letter: true,
    }
}

/// Consumes `broadcast.deleted` until shutdown, reconnecting whenever the broker goes away.
pub async fn consume(state: Arc<AppState>) {
    let config = &state.config;
    let bus = EventBus::new(config.amqp_url.clone(), config.amqp_exchange.clone());
    let queue = queue(&config.amqp_exchange);
    let shutdown = state.shutdown.clone();
    amqp::consume(
        bus,
        queue,
        ConsumerState::default(),
        shutdown,
        move |delivery| {
            let state = state.clone();
            async move { handle(&state, &delivery.data).await }
        },
    )
    .await;
}

async fn handle(state: &AppState, payload: &[u8]) -> Outcome {
    let Ok(deleted) = BroadcastDeleted::decode(payload) else {
        tracing::warn!("undecodable broadcast.deleted message, dead-lettering it");
        return Outcome::Reject;
    };
    let id = deleted.broadcast_id;
    if state.registry.get(id).is_some() {
        tracing::info!(
            broadcast_id = id,
            "deleted while live here; its recording goes when it ends"
        );
        tokio::time::sleep(LIVE_RETRY).await;
        return Outcome::Retry;
    }
    let path = recording::path_of(&state.config.recordings_dir, id);
    match tokio::fs::remove_file(&path).await {
        Ok(()) => {
            tracing::info!(broadcast_id = id, "deleted the broadcast's recording");
            Outcome::Ack
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Outcome::Ack,
        Err(error) => {
            tracing::error!(broadcast_id = id, path = %path.display(), %error, "cannot delete a recording");
            Outcome::Reject
        }
    }
}
