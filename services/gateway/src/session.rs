//! The browser's session: the `sess.sid` cookie, resolved by auth into the user and an internal
//! token that the gateway passes on to the services.

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, HeaderValue, header, request::Parts},
};
use livestreamer_proto::auth::{ResolveSessionRequest, User};
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::{AppState, error::ApiError};

pub const COOKIE: &str = "sess.sid";

/// The value of the session cookie, if the request has one.
pub fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

/// A name for "this browser" that can travel on the event bus: a hash, never the session id.
pub fn origin_of(session_id: &str) -> String {
    let digest = Sha256::digest(session_id.as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

pub fn set_cookie(session_id: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a session id is URL-safe base64")
}

pub fn clear_cookie(secure: bool) -> HeaderValue {
    set_cookie("", 0, secure)
}

/// A signed-in caller; extracting it answers 401 when there is no valid session.
pub struct SignedIn {
    pub user: User,
    pub token: String,
    pub session_id: String,
}

impl SignedIn {
    /// A gRPC request carrying this caller's internal token.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        service_kit::internal_token::attach(&mut request, &self.token);
        request
    }

    pub fn origin(&self) -> String {
        origin_of(&self.session_id)
    }
}

/// The caller if signed in, `None` for a guest (an expired cookie is a guest too).
pub struct MaybeSignedIn(pub Option<SignedIn>);

impl MaybeSignedIn {
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        match &self.0 {
            Some(caller) => caller.request(message),
            None => tonic::Request::new(message),
        }
    }
}

pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Option<SignedIn>, ApiError> {
    let Some(session_id) = session_id(headers) else {
        return Ok(None);
    };
    let request = ResolveSessionRequest {
        session_id: session_id.clone(),
    };
    match state.auth.clone().resolve_session(request).await {
        Ok(response) => {
            let response = response.into_inner();
            Ok(response.user.map(|user| SignedIn {
                user,
                token: response.internal_token,
                session_id,
            }))
        }
        Err(status) if status.code() == Code::Unauthenticated => Ok(None),
        Err(status) => Err(status.into()),
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        resolve(state, &parts.headers)
            .await?
            .ok_or_else(ApiError::unauthorized)
    }
}

impl FromRequestParts<AppState> for MaybeSignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(resolve(state, &parts.headers).await?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "theme=dark; sess.sid=abc_-1; x=y".parse().unwrap(),
        );
        assert_eq!(session_id(&headers).as_deref(), Some("abc_-1"));
        headers.insert(header::COOKIE, "sess.sid=; other=1".parse().unwrap());
        assert_eq!(session_id(&headers), None);
    }

    #[test]
    fn origins_hide_the_session_id() {
        let origin = origin_of("secret-session");
        assert_eq!(origin.len(), 24);
        assert!(!origin.contains("secret"));
        assert_eq!(origin, origin_of("secret-session"));
    }
}
