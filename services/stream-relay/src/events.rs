//! The relay's events on the exchange: `stream.started`, `stream.stats`, `stream.ended`.
//!
//! Lifecycle events are retried with backoff for a while, because a broker hiccup must not lose the
//! end of a broadcast (broadcasts-archive would keep it live). Stats are best effort with a short
//! budget: the next second brings fresher ones, and the stats loop must keep its pace.

use std::time::Duration;

use service_kit::{amqp::EventPublisher, backoff::Backoff};

/// How long to keep trying to publish a lifecycle event before giving up (and logging it).
const LIFECYCLE_BUDGET: Duration = Duration::from_secs(5);
/// How long one stats publish may take.
pub const STATS_BUDGET: Duration = Duration::from_millis(900);

/// Publishes a lifecycle event, retrying with backoff within [`LIFECYCLE_BUDGET`].
pub async fn publish_lifecycle(
    publisher: &EventPublisher,
    routing_key: &str,
    event: &impl prost::Message,
) {
    let deadline = tokio::time::Instant::now() + LIFECYCLE_BUDGET;
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        let attempt =
            tokio::time::timeout_at(deadline, publisher.publish(routing_key, event)).await;
        let error = match attempt {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        let delay = backoff.next_delay();
        if tokio::time::Instant::now() + delay >= deadline {
            tracing::error!(routing_key, %error, "could not publish the event; giving up");
            return;
        }
        tracing::warn!(routing_key, %error, "could not publish the event; retrying");
        tokio::time::sleep(delay).await;
    }
}

/// Publishes a stats event once, within [`STATS_BUDGET`]; `false` when it did not get through.
pub async fn publish_stats(
    publisher: &EventPublisher,
    routing_key: &str,
    event: &impl prost::Message,
) -> bool {
    match tokio::time::timeout(STATS_BUDGET, publisher.publish(routing_key, event)).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::debug!(%error, "stats not published");
            false
        }
        Err(_) => false,
    }
}
