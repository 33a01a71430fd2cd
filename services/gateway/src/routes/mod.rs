//! The REST API under `/api/v1`, as API.md gives it.

mod accounts;
mod admin;
mod broadcast_extras;
mod broadcasts;
mod listings;
mod me;
mod messages;
mod profile;

use axum::{
    Router,
    http::StatusCode,
    routing::{delete, get, post},
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
        .merge(accounts::routes())
        .merge(broadcasts::routes())
        .route(
            "/broadcasts/{id}/messages",
            get(messages::history).post(messages::post),
        )
        .route(
            "/broadcasts/{id}/messages/{message_id}",
            delete(messages::delete_own),
        )
        .route(
            "/broadcasts/{id}/messages/{message_id}/likes",
            post(messages::like).delete(messages::unlike),
        )
        .route(
            "/admin/broadcasts/{id}/messages/{message_id}",
            delete(messages::delete_as_moderator),
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

/// `?limit=1..50` (absent: 0, which the services read as their default of 20); anything else is a
/// 400 naming it.
pub fn parse_limit(raw: Option<&str>) -> Result<u32, ApiError> {
    let Some(raw) = raw else { return Ok(0) };
    raw.parse::<u32>()
        .ok()
        .filter(|l| (1..=50).contains(l))
        .ok_or_else(|| {
            ApiError::bad_request(format!("limit must be between 1 and 50, not {raw:?}"))
        })
}
