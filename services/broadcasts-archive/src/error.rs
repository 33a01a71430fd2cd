//! Everything that can go wrong in broadcasts-archive, turned into a gRPC status in one place.

use tonic::{Code, Status};

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
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

impl From<BroadcastError> for Status {
    fn from(error: BroadcastError) -> Self {
        let code = match &error {
            BroadcastError::InvalidInput(_) => Code::InvalidArgument,
            BroadcastError::NotFound(_) => Code::NotFound,
            BroadcastError::Forbidden(_) => Code::PermissionDenied,
            BroadcastError::Conflict(_) => Code::AlreadyExists,
            BroadcastError::Database(_) | BroadcastError::Pool(_) => {
                tracing::error!(%error, "request failed");
                return Status::unavailable(
                    "The broadcasts service is unavailable, try again shortly",
                );
            }
        };
        Status::new(code, error.to_string())
    }
}
