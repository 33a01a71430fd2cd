//! `/healthz` (the process is alive) and `/readyz` (every dependency answers now).
//!
//! Readiness is a list of named checks run on each request, so a service that lost PostgreSQL or
//! RabbitMQ reports not-ready at once and a load balancer stops sending it traffic, while liveness stays
//! green and the orchestrator does not restart a process that is only waiting.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use axum::{Json, Router, http::StatusCode, response::IntoResponse, routing::get};
use serde_json::json;

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Check)>,
    started: Arc<AtomicBool>,
}

/// What `/readyz` reports.
#[derive(Debug, PartialEq, Eq)]
pub struct Report {
    pub failures: Vec<(&'static str, String)>,
}

impl Report {
    pub fn is_ready(&self) -> bool {
        self.failures.is_empty()
    }
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a dependency check.
    pub fn check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks
            .push((name, Arc::new(move || Box::pin(check()))));
        self
    }

    /// Checks that PostgreSQL answers through `pool`.
    pub fn postgres(self, pool: deadpool_postgres::Pool) -> Self {
        self.check("postgres", move || {
            let pool = pool.clone();
            async move { crate::postgres::ping(&pool).await }
        })
    }

    /// Checks that Redis answers through `pool`.
    pub fn redis(self, pool: deadpool_redis::Pool) -> Self {
        self.check("redis", move || {
            let pool = pool.clone();
            async move { crate::redis::ping(&pool).await }
        })
    }

    /// Checks that RabbitMQ accepts the publisher's connection.
    pub fn rabbitmq(self, publisher: crate::amqp::EventPublisher) -> Self {
        self.check("rabbitmq", move || {
            let publisher = publisher.clone();
            async move { publisher.ping().await }
        })
    }

    /// Checks that a consumer is subscribed to its queue.
    pub fn consumer(self, name: &'static str, state: crate::amqp::ConsumerState) -> Self {
        self.check(name, move || {
            let result = state.check();
            async move { result }
        })
    }

    /// Checks that auth's token-verification key is known (fetching it if not).
    pub fn auth_key(self, verifier: crate::internal_token::TokenVerifier) -> Self {
        self.check("auth", move || {
            let verifier = verifier.clone();
            async move { verifier.ensure_key().await }
        })
    }

    /// Marks the end of start-up work (migrations, first connections); until then the service is
    /// not ready, whatever its checks say.
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    pub async fn report(&self) -> Report {
        let mut failures = Vec::new();
        if !self.started.load(Ordering::Acquire) {
            failures.push(("startup", "still starting".to_owned()));
        }
        let results = futures_util::future::join_all(self.checks.iter().map(|(name, check)| {
            let check = check.clone();
            async move {
                let outcome = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                    Ok(result) => result,
                    Err(_) => Err("timed out".to_owned()),
                };
                (*name, outcome)
            }
        }))
        .await;
        for (name, outcome) in results {
            if let Err(reason) = outcome {
                failures.push((name, reason));
            }
        }
        Report { failures }
    }

    /// The status and JSON body `/readyz` answers with.
    pub async fn response(&self) -> (StatusCode, serde_json::Value) {
        let report = self.report().await;
        if report.is_ready() {
            (StatusCode::OK, json!({ "status": "ready" }))
        } else {
            let failing: serde_json::Map<_, _> = report
                .failures
                .into_iter()
                .map(|(name, reason)| (name.to_owned(), json!(reason)))
                .collect();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "status": "not ready", "failing": failing }),
            )
        }
    }
}

/// `GET /healthz` and `GET /readyz`, to merge into a service's router.
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { (StatusCode::OK, Json(json!({ "status": "alive" }))) }),
        )
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move {
                    let (status, body) = readiness.response().await;
                    (status, Json(body)).into_response()
                }
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn not_ready_until_started_and_every_check_passes() {
        let readiness = Readiness::new()
            .check("postgres", || async { Ok(()) })
            .check("redis", || async { Err("connection refused".to_owned()) });
        let report = readiness.report().await;
        assert_eq!(
            report.failures,
            vec![
                ("startup", "still starting".to_owned()),
                ("redis", "connection refused".to_owned())
            ]
        );

        let readiness = Readiness::new().check("postgres", || async { Ok(()) });
        readiness.mark_started();
        assert!(readiness.report().await.is_ready());
        assert_eq!(readiness.response().await.0, StatusCode::OK);
    }
}
