//! The relay's questions to other services, over gRPC: auth ("who holds this session, or this stream
//! key?") and broadcasts-archive ("may this user stream into this broadcast now?", "go live now",
//! "may this caller see this broadcast?"). The relay holds no business rules of its own.
//!
//! The channels connect lazily, so the relay starts, serves listeners and reports its health while
//! those services are still starting; a request that needs them then fails with 503, not a crash.

use std::time::Duration;

use http::{HeaderMap, header};
use livestreamer_proto::{
    auth::{
        AuthenticateStreamKeyRequest, ResolveSessionRequest, ResolveSessionResponse,
        auth_client::AuthClient,
    },
    broadcasts::{
        AuthorizeStreamRequest, Broadcast, GetBroadcastRequest, GoLiveNowRequest,
        broadcasts_client::BroadcastsClient,
    },
};
use service_kit::{grpc_client::TracedChannel, internal_token};
use tonic::transport::Endpoint;

use crate::error::RelayError;

/// The browser's (and the CLI's) session cookie.
pub const SESSION_COOKIE: &str = "sess.sid";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A resolved session: who the caller is, and the internal token that says so to other services.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub username: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    auth: AuthClient<TracedChannel>,
    broadcasts: BroadcastsClient<TracedChannel>,
}

fn lazy_channel(url: &str) -> anyhow::Result<TracedChannel> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| anyhow::anyhow!("invalid service URL {url}: {e}"))?;
    Ok(TracedChannel::lazy(
        endpoint
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT),
    ))
}

impl Upstream {
    pub fn new(auth_url: &str, broadcasts_url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            auth: AuthClient::new(lazy_channel(auth_url)?),
            broadcasts: BroadcastsClient::new(lazy_channel(broadcasts_url)?),
        })
    }

    /// The session behind a `sess.sid` cookie; 401 when it is unknown or expired.
    pub async fn resolve_session(&self, session_id: &str) -> Result<Session, RelayError> {
        let request = ResolveSessionRequest {
            session_id: session_id.to_owned(),
        };
        let answer = self.auth.clone().resolve_session(request).await;
        identified(answer)
    }

    /// The user whose stream key this is (Icecast sources' Basic auth); 401 when it is wrong.
    pub async fn authenticate_stream_key(
        &self,
        username: &str,
        stream_key: &str,
    ) -> Result<Session, RelayError> {
        let request = AuthenticateStreamKeyRequest {
            username: username.to_owned(),
            stream_key: stream_key.to_owned(),
        };
        let answer = self.auth.clone().authenticate_stream_key(request).await;
        identified(answer)
    }

    /// Asks broadcasts-archive whether the token's user may stream into `broadcast_id` now; on yes the
    /// broadcast is marked live there and returned.
    pub async fn authorize_stream(
        &self,
        token: &str,
        broadcast_id: i64,
    ) -> Result<Broadcast, RelayError> {
        let mut request = tonic::Request::new(AuthorizeStreamRequest { broadcast_id });
        internal_token::attach(&mut request, token);
        broadcast(self.broadcasts.clone().authorize_stream(request).await)
    }

    /// "Go live now": the caller's broadcast scheduled for now, or a new one titled `title` (an
    /// unusable title gets broadcasts-archive's default); marked live and returned.
    pub async fn go_live_now(
        &self,
        token: &str,
        title: &str,
        description: &str,
    ) -> Result<Broadcast, RelayError> {
        let mut request = tonic::Request::new(GoLiveNowRequest {
            title: title.to_owned(),
            description: description.to_owned(),
        });
        internal_token::attach(&mut request, token);
        broadcast(self.broadcasts.clone().go_live_now(request).await)
    }

    /// A broadcast as the caller may see it (hidden ones only for their owner); `token` is `None`
    /// for an anonymous caller. 404 when it does not exist or is not the caller's to see.
    pub async fn get_broadcast(
        &self,
        token: Option<&str>,
        broadcast_id: i64,
    ) -> Result<Broadcast, RelayError> {
        let mut request = tonic::Request::new(GetBroadcastRequest { broadcast_id });
        if let Some(token) = token {
            internal_token::attach(&mut request, token);
        }
        broadcast(self.broadcasts.clone().get_broadcast(request).await)
    }
}

/// broadcasts-archive's answer naming a broadcast.
fn broadcast(
    answer: Result<tonic::Response<Broadcast>, tonic::Status>,
) -> Result<Broadcast, RelayError> {
    answer
        .map(tonic::Response::into_inner)
        .map_err(|status| RelayError::from_grpc(&status, "broadcasts"))
}

/// auth's answer naming a user, as a [`Session`].
fn identified(
    answer: Result<tonic::Response<ResolveSessionResponse>, tonic::Status>,
) -> Result<Session, RelayError> {
    let answer = answer
        .map_err(|status| RelayError::from_grpc(&status, "auth"))?
        .into_inner();
    let user = answer.user.ok_or_else(|| {
        RelayError::Unavailable("The auth service answered without a user".into())
    })?;
    Ok(Session {
        user_id: user.user_id,
        username: user.username,
        token: answer.internal_token,
    })
}

/// The value of the session cookie, from any of the request's `Cookie` headers.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn cookies(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::COOKIE, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn finds_the_session_cookie_among_others() {
        assert_eq!(
            session_cookie(&cookies(&["theme=dark; sess.sid=abc123; x=1"])),
            Some("abc123")
        );
        assert_eq!(
            session_cookie(&cookies(&["a=b", "sess.sid=\"q\""])),
            Some("q")
        );
        assert_eq!(
            session_cookie(&cookies(&["sess.sidx=1; xsess.sid=2"])),
            None
        );
        assert_eq!(session_cookie(&cookies(&["sess.sid="])), None);
        assert_eq!(session_cookie(&HeaderMap::new()), None);
    }
}
