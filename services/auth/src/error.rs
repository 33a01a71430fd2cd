//! Everything that can go wrong in auth, turned into a gRPC status in one place.

use tonic::{Code, Status};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Wrong username, email or password")]
    WrongCredentials,
    #[error("Please confirm your email address first: look for the confirmation mail we sent you")]
    EmailNotConfirmed,
    #[error("You are not signed in")]
    NoSession,
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    NotFound(String),
    #[error("This link has expired: ask for a new one")]
    TokenExpired,
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
    #[error("{0}")]
    Internal(String),
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        let code = match &error {
            AuthError::InvalidInput(_) => Code::InvalidArgument,
            AuthError::Conflict(_) => Code::AlreadyExists,
            AuthError::WrongCredentials | AuthError::NoSession | AuthError::Unauthenticated(_) => {
                Code::Unauthenticated
            }
            AuthError::EmailNotConfirmed => Code::PermissionDenied,
            AuthError::NotFound(_) => Code::NotFound,
            AuthError::TokenExpired => Code::FailedPrecondition,
            AuthError::Database(_)
            | AuthError::Pool(_)
            | AuthError::Redis(_)
            | AuthError::RedisPool(_)
            | AuthError::Publish(_)
            | AuthError::Internal(_) => {
                tracing::error!(%error, "request failed");
                return Status::unavailable(
                    "The account service is unavailable, try again shortly",
                );
            }
        };
        let mut status = Status::new(code, error.to_string());
        if matches!(error, AuthError::TokenExpired) {
            // The public API answers an expired link with 410 Gone.
            status
                .metadata_mut()
                .insert("x-http-status", "410".parse().expect("ascii"));
        }
        status
    }
}
