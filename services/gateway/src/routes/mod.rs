//! The REST API under `/api/v1`, as API.md gives it.

mod accounts;
mod broadcasts;
mod messages;

use axum::{
    Router,
    http::StatusCode,
    routing::{get, post},
};

use crate::{AppState, error::ApiError};

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/users", post(accounts::sign_up))
        .route("/verification", post(accounts::confirm_email))
        .route(
            "/sessions",
            post(accounts::sign_in).delete(accounts::sign_out),
        )
        .route("/users/me", get(accounts::me))
        .route("/users/me/broadcasts", post(broadcasts::create))
        .route("/broadcasts/{id}", get(broadcasts::get_one))
        .route(
            "/broadcasts/{id}/messages",
            get(messages::history).post(messages::post),
        )
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "This method is not allowed on this path",
            )
        })
}

/// A path parameter that must be a positive id; anything else is a 400 naming it.
pub fn parse_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::bad_request(format!("{what} must be a positive integer, not {raw:?}"))
    })
}
