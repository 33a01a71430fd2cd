//! Everything that can go wrong in broadcasts-archive, turned into a gRPC status in one place.
//!
//! Statuses that gRPC has no code for (410, 413, 415) carry the HTTP status the gateway should answer
//! in the `x-http-status` metadata; a rate limit carries `retry-after` in seconds.

use tonic::{Code, Status, metadata::MetadataValue};

#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("There is no broadcast with id {0}")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Broadcast {0} is not live")]
    NotLive(i64),
    #[error("You already liked this broadcast, try again in {0} s")]
    TooManyLikes(u64),
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("redis: {0}")]
    Redis(#[from] deadpool_redis::redis::RedisError),
    #[error("redis pool: {0}")]
    RedisPool(#[from] deadpool_redis::PoolError),
    #[error("event bus: {0}")]
    Publish(#[from] service_kit::amqp::PublishError),
}

impl BroadcastError {
    /// A database error that means "this window overlaps another of the owner's".
    pub fn is_overlap(error: &tokio_postgres::Error) -> bool {
        error.code() == Some(&tokio_postgres::error::SqlState::EXCLUSION_VIOLATION)
    }
}

fn with_metadata(code: Code, message: String, name: &'static str, value: String) -> Status {
    let mut status = Status::new(code, message);
    if let Ok(value) = MetadataValue::try_from(value) {
        status.metadata_mut().insert(name, value);
    }
    status
}

impl From<BroadcastError> for Status {
    fn from(error: BroadcastError) -> Self {
        let message = error.to_string();
        let code = match &error {
            BroadcastError::InvalidInput(_) => Code::InvalidArgument,
            BroadcastError::NotFound(_) => Code::NotFound,
            BroadcastError::Forbidden(_) => Code::PermissionDenied,
            BroadcastError::Conflict(_) => Code::AlreadyExists,
            BroadcastError::NotLive(_) => {
                return with_metadata(
                    Code::FailedPrecondition,
                    message,
                    "x-http-status",
                    "410".into(),
                );
            }
            BroadcastError::UnsupportedMedia(_) => {
                return with_metadata(
                    Code::InvalidArgument,
                    message,
                    "x-http-status",
                    "415".into(),
                );
            }
            BroadcastError::TooLarge(_) => {
                return with_metadata(
                    Code::InvalidArgument,
                    message,
                    "x-http-status",
                    "413".into(),
                );
            }
            BroadcastError::TooManyLikes(secs) => {
                return with_metadata(
                    Code::ResourceExhausted,
                    message,
                    "retry-after",
                    secs.to_string(),
                );
            }
            BroadcastError::Database(_)
            | BroadcastError::Pool(_)
            | BroadcastError::Redis(_)
            | BroadcastError::RedisPool(_)
            | BroadcastError::Publish(_) => {
                tracing::error!(%error, "request failed");
                return Status::unavailable(
                    "The broadcasts service is unavailable, try again shortly",
                );
            }
        };
        Status::new(code, message)
    }
}
