//! Everything that can go wrong in chat, turned into a gRPC status in one place.

use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("database: {0}")]
    Database(#[from] tokio_postgres::Error),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
}

impl From<ChatError> for Status {
    fn from(error: ChatError) -> Self {
        match &error {
            ChatError::InvalidInput(message) => Status::new(Code::InvalidArgument, message.clone()),
            ChatError::Database(_) | ChatError::Pool(_) => {
                tracing::error!(%error, "request failed");
                Status::unavailable("The chat service is unavailable, try again shortly")
            }
        }
    }
}
