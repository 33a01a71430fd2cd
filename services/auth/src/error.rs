//! Everything that can go wrong in auth, turned into a gRPC status in one place. Statuses the gRPC
//! codes cannot say (410, 413, 415) travel in the `x-http-status` metadata the gateway honours.

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
    /// The caller's internal token was missing, forged or expired, or lacks a permission: the
    /// verifier's own status.
    #[error("{}", .0.message())]
    Caller(Status),
    #[error("{0}")]
    NotFound(String),
    #[error("This link has expired: ask for a new one")]
    TokenExpired,
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedMedia(String),
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

impl From<Status> for AuthError {
    fn from(status: Status) -> Self {
        AuthError::Caller(status)
    }
}

impl From<AuthError> for Status {
    fn from(error: AuthError) -> Self {
        let (code, http) = match &error {
            AuthError::InvalidInput(_) => (Code::InvalidArgument, None),
            AuthError::Conflict(_) => (Code::AlreadyExists, None),
            AuthError::WrongCredentials | AuthError::NoSession | AuthError::Unauthenticated(_) => {
                (Code::Unauthenticated, None)
            }
            AuthError::EmailNotConfirmed => (Code::PermissionDenied, None),
            AuthError::NotFound(_) => (Code::NotFound, None),
            // The public API answers an expired link with 410 Gone.
            AuthError::TokenExpired => (Code::FailedPrecondition, Some("410")),
            AuthError::TooLarge(_) => (Code::OutOfRange, Some("413")),
            AuthError::UnsupportedMedia(_) => (Code::InvalidArgument, Some("415")),
            AuthError::Caller(status) => (status.code(), None),
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
        if let Some(http) = http {
            status
                .metadata_mut()
                .insert("x-http-status", http.parse().expect("ascii"));
        }
        status
    }
}
