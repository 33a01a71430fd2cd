//! JSON in and out: request bodies whose every failure (syntax, type, media type, size) is an
//! `ApiError`, and the `{ "results": ... }` envelope of successes.

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use crate::error::ApiError;

/// A JSON request body. `Content-Type: application/json` with any parameters is accepted.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejection_to_error(rejection)),
        }
    }
}

fn rejection_to_error(rejection: JsonRejection) -> ApiError {
    // A body of the wrong shape is bad input like any other: 400, not axum's 422.
    let status = match &rejection {
        JsonRejection::JsonDataError(_) => StatusCode::BAD_REQUEST,
        other => other.status(),
    };
    let message = match &rejection {
        JsonRejection::MissingJsonContentType(_) => {
            "Expected a request body with Content-Type: application/json".to_owned()
        }
        _ if status == StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large".to_owned(),
        JsonRejection::JsonDataError(e) => format!("Invalid request body: {}", e.body_text()),
        JsonRejection::JsonSyntaxError(_) => "The request body is not valid JSON".to_owned(),
        other => other.body_text(),
    };
    ApiError::new(status, message)
}

/// A success: `{ "results": value }` with a status.
pub struct Results<T>(pub StatusCode, pub T);

impl<T: Serialize> IntoResponse for Results<T> {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "results": self.1 }))).into_response()
    }
}

pub fn ok<T: Serialize>(value: T) -> Results<T> {
    Results(StatusCode::OK, value)
}
