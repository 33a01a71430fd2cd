//! What chat hears on the event exchange: a deleted broadcast takes its chat with it.

use deadpool_postgres::Pool;
use lapin::message::Delivery;
use livestreamer_proto::events::{BroadcastDeleted, routing};
use prost::Message;
use service_kit::amqp::{Outcome, QueueSpec};

use crate::repo;

/// chat's durable queue, named after the exchange so that deployments (and tests) sharing a broker
/// never consume each other's events.
pub fn queue(exchange: &str) -> QueueSpec {
    QueueSpec {
        name: format!("{exchange}.chat"),
        bindings: vec![routing::BROADCAST_DELETED.to_owned()],
        prefetch: 16,
        dead_letter: true,
    }
}

pub async fn handle(pool: &Pool, delivery: Delivery) -> Outcome {
    let Ok(deleted) = BroadcastDeleted::decode(delivery.data.as_slice()) else {
        tracing::warn!("undecodable broadcast.deleted message, dead-lettering it");
        return Outcome::Reject;
    };
    let result =
        async { repo::delete_broadcast(&pool.get().await?, deleted.broadcast_id).await }.await;
    match result {
        Ok(count) => {
            tracing::info!(
                broadcast_id = deleted.broadcast_id,
                messages = count,
                "deleted a broadcast's chat"
            );
            Outcome::Ack
        }
        Err(error) => {
            tracing::warn!(%error, "cannot delete a broadcast's chat, will retry");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            Outcome::Retry
        }
    }
}
