//! Everything a request can fail with, turned into the public error envelope in one place:
//! `{"status": 404, "statusText": "NotFound", "message": "..."}`. Client mistakes get 4xx; a missing
//! dependency gets 503 and a log line; nothing a client sends can produce a 500.

use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::json;
use tonic::Code;

use crate::response::{self, Body};

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{method} is not allowed here; use {allow}")]
    MethodNotAllowed { method: Method, allow: &'static str },
    #[error("{0}")]
    Conflict(String),
    #[error("The stream must be sent as audio/mpeg, not {0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("The range asked for is outside the recording's {0} bytes")]
    RangeNotSatisfiable(u64),
    #[error("The request head is larger than this server reads")]
    HeadTooLarge,
    #[error("{0}")]
    Timeout(String),
}

impl RelayError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// Maps an answer of auth or broadcasts-archive. Their messages for client errors are written for
    /// users and passed on; anything else is the relay's dependency failing, logged and told as 503.
    pub fn from_grpc(status: &tonic::Status, service: &str) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            Code::NotFound => Self::NotFound(message),
            Code::PermissionDenied => Self::Forbidden(message),
            Code::AlreadyExists | Code::FailedPrecondition => Self::Conflict(message),
            Code::InvalidArgument | Code::OutOfRange => Self::BadRequest(message),
            Code::Unauthenticated => Self::Unauthenticated(message),
            code => {
                tracing::warn!(service, ?code, message, "a dependency failed");
                Self::Unavailable(format!(
                    "The {service} service is unavailable, try again shortly"
                ))
            }
        }
    }

    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        let status_text = status
            .canonical_reason()
            .unwrap_or("Error")
            .replace(' ', "");
        let body = json!({ "status": status.as_u16(), "statusText": status_text, "message": self.to_string() });
        let mut response = response::json(status, &body);
        if let Self::MethodNotAllowed { allow, .. } = self {
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn envelope(error: RelayError) -> (StatusCode, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a JSON body")
            .to_bytes();
        (status, serde_json::from_slice(&bytes).expect("valid JSON"))
    }

    #[tokio::test]
    async fn errors_become_the_public_envelope() {
        let (status, body) =
            envelope(RelayError::NotFound("This broadcast is not live".into())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({"status": 404, "statusText": "NotFound", "message": "This broadcast is not live"})
        );
        let (_, body) = envelope(RelayError::UnsupportedMediaType("text/plain".into())).await;
        assert_eq!(body["statusText"], "UnsupportedMediaType");
    }

    #[test]
    fn grpc_codes_map_to_client_errors_or_503_never_500() {
        let cases = [
            (Code::NotFound, 404),
            (Code::PermissionDenied, 403),
            (Code::AlreadyExists, 409),
            (Code::FailedPrecondition, 409),
            (Code::InvalidArgument, 400),
            (Code::Unauthenticated, 401),
            (Code::Unavailable, 503),
            (Code::Internal, 503),
            (Code::DeadlineExceeded, 503),
        ];
        for (code, http) in cases {
            let error = RelayError::from_grpc(&tonic::Status::new(code, "why"), "auth");
            assert_eq!(error.status().as_u16(), http, "{code:?}");
        }
        let hidden = RelayError::from_grpc(&tonic::Status::internal("db password wrong"), "auth");
        assert!(
            !hidden.to_string().contains("password"),
            "internal details stay in the log"
        );
    }
}
