//! Everything that can go wrong in chat, turned into a gRPC status in one place.

use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("There is no message with id {0} in this broadcast")]
    NotFound(i64),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("You are posting too fast: wait {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("rate limiter: {0}")]
    RateLimiter(anyhow::Error),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

impl From<ChatError> for Status {
    fn from(error: ChatError) -> Self {
        match &error {
            ChatError::InvalidInput(message) => Status::new(Code::InvalidArgument, message.clone()),
            ChatError::NotFound(_) => Status::new(Code::NotFound, error.to_string()),
            ChatError::Forbidden(message) => Status::new(Code::PermissionDenied, message.clone()),
            ChatError::Conflict(message) => Status::new(Code::AlreadyExists, message.clone()),
            ChatError::RateLimited { retry_after_secs } => {
                let mut status = Status::new(Code::ResourceExhausted, error.to_string());
                if let Ok(value) = retry_after_secs.to_string().parse() {
                    status.metadata_mut().insert("retry-after", value);
                }
                status
            }
            ChatError::Database(_) | ChatError::Pool(_) | ChatError::RateLimiter(_) => {
                tracing::error!(%error, "request failed");
                Status::unavailable("The chat service is unavailable, try again shortly")
            }
        }
    }
}
