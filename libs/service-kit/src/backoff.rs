//! Retrying a fallible start-up step (connecting to PostgreSQL, Redis, RabbitMQ, another service) with
//! exponential backoff, logging every failure so that a service waiting on a dependency is never silent.

use std::{future::Future, time::Duration};

use crate::shutdown::Shutdown;

/// Delays of 200 ms doubling up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { next: first, max }
    }

    /// The delay to wait now; the following one is twice as long, up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }

    pub fn reset(&mut self, first: Duration) {
        self.next = first;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_millis(200), Duration::from_secs(10))
    }
}

/// Runs `attempt` until it succeeds, or returns `None` once shutdown is requested.
pub async fn retry_until_ok<T, E, F, Fut>(
    what: &str,
    shutdown: &Shutdown,
    mut attempt: F,
) -> Option<T>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut backoff = Backoff::default();
    loop {
        match attempt().await {
            Ok(value) => return Some(value),
            Err(error) => {
                let delay = backoff.next_delay();
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "{what} failed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.requested() => return None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let delays: Vec<u64> = (0..5).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 5, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_until_the_step_succeeds() {
        let shutdown = Shutdown::new();
        let mut calls = 0;
        let value = retry_until_ok("step", &shutdown, || {
            calls += 1;
            let result = if calls < 3 { Err("not yet") } else { Ok(calls) };
            async move { result }
        })
        .await;
        assert_eq!(value, Some(3));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_shutdown_is_requested() {
        let shutdown = Shutdown::new();
        shutdown.trigger();
        let value: Option<()> =
            retry_until_ok("step", &shutdown, || async { Err::<(), _>("down") }).await;
        assert_eq!(value, None);
    }
}
