//! Consumes the end of live streams from the relay and archives their figures.

use deadpool_postgres::Pool;
use lapin::message::Delivery;
use livestreamer_proto::events::{StreamEnded, routing};
use prost::Message;
use service_kit::amqp::{Outcome, QueueSpec};

use crate::repo;

pub fn queue() -> QueueSpec {
    QueueSpec {
        name: "broadcasts-archive.stream-ended".to_owned(),
        bindings: vec![routing::STREAM_ENDED.to_owned()],
        prefetch: 16,
        dead_letter: true,
    }
}

pub async fn handle(pool: &Pool, delivery: Delivery) -> Outcome {
    let Ok(ended) = StreamEnded::decode(delivery.data.as_slice()) else {
        tracing::warn!("undecodable stream.ended message, dead-lettering it");
        return Outcome::Reject;
    };
    let result = async {
        let client = pool.get().await?;
        repo::end_stream(
            &client,
            ended.broadcast_id,
            ended.listener_peak_count,
            ended.duration_sec,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => {
            tracing::info!(
                broadcast_id = ended.broadcast_id,
                "stream ended and archived"
            );
            Outcome::Ack
        }
        Err(error) => {
            tracing::warn!(%error, "cannot archive a stream end, will retry");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            Outcome::Retry
        }
    }
}
