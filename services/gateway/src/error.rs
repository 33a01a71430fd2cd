//! The one error type of the public API, and the one place it becomes the JSON envelope
//! `{ "status": 404, "statusText": "NotFound", "message": "..." }`.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use tonic::Code;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "You are not signed in")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

/// `Bad Request` → `BadRequest`, as the original API spelled it.
pub fn status_text(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("Error")
        .replace([' ', '-', '\''], "")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "status": self.status.as_u16(),
            "statusText": status_text(self.status),
            "message": self.message,
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A service's gRPC status as the public API's error. The services' messages are written for users;
/// an unreachable service is a 503, never a 500.
impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        let explicit = status
            .metadata()
            .get("x-http-status")
            .and_then(|v| v.to_str().ok()?.parse::<u16>().ok())
            .and_then(|code| StatusCode::from_u16(code).ok());
        let mapped = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::AlreadyExists | Code::Aborted | Code::FailedPrecondition => StatusCode::CONFLICT,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        let status_code = explicit.unwrap_or(mapped);
        let message = if status_code == StatusCode::SERVICE_UNAVAILABLE
            && status.message().is_empty()
        {
            "A service is unavailable, try again shortly".to_owned()
        } else if status_code == StatusCode::SERVICE_UNAVAILABLE
            && status.code() != Code::Unavailable
        {
            tracing::warn!(code = ?status.code(), message = status.message(), "service call failed");
            "A service is unavailable, try again shortly".to_owned()
        } else {
            status.message().to_owned()
        };
        let mut error = Self::new(status_code, message);
        if status_code == StatusCode::TOO_MANY_REQUESTS {
            // The service says when to come back; a client must always be told something.
            let secs = status
                .metadata()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            error.retry_after_secs = Some(secs.unwrap_or(1));
        }
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_texts_have_no_spaces() {
        assert_eq!(status_text(StatusCode::NOT_FOUND), "NotFound");
        assert_eq!(
            status_text(StatusCode::PAYLOAD_TOO_LARGE),
            "PayloadTooLarge"
        );
        assert_eq!(
            status_text(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            "UnsupportedMediaType"
        );
    }

    #[test]
    fn grpc_codes_map_to_http_and_metadata_can_override() {
        let e = ApiError::from(tonic::Status::already_exists("taken"));
        assert_eq!(
            (e.status, e.message.as_str()),
            (StatusCode::CONFLICT, "taken")
        );
        let mut gone = tonic::Status::failed_precondition("expired");
        gone.metadata_mut()
            .insert("x-http-status", "410".parse().unwrap());
        assert_eq!(ApiError::from(gone).status, StatusCode::GONE);
        let internal = ApiError::from(tonic::Status::internal("panic at line 3"));
        assert_eq!(internal.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!internal.message.contains("line 3"));
    }
}
