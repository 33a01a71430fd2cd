//! The relay's few routes, matched by hand: no framework sits between hyper and the audio.
//!
//! Paths are the public ones (the edge proxy forwards them unchanged). The query string is ignored
//! (players add cache-busting parameters). An unknown path is a 404 envelope; a known path with the
//! wrong method a 405 envelope with `Allow`. `/metrics` is served on the HTTP port only: the source
//! port is published to the internet as it is (a TCP pass-through), the HTTP port only through the
//! edge's public paths.

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;
use service_kit::trace_context;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span};

use crate::{
    AppState,
    error::RelayError,
    ingest::{self, IngestRoute},
    listen::{self, Target},
    playback,
    response::{self, Body},
    server::Port,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Healthz,
    Readyz,
    Metrics,
    /// `PUT /api/v1/users/me/broadcasts/{id}/stream`
    Ingest(i64),
    /// `PUT /api/v1/users/me/stream`
    GoLiveNow,
    /// `GET /api/v1/broadcasts/{id}/stream`
    Listen(i64),
    /// `GET /live/{username}` (listen) and `PUT /live/{username}` (an Icecast source, framed body)
    Live(String),
    /// `GET /api/v1/broadcasts/{id}/recording`
    Recording(i64),
}

impl Route {
    fn parse(path: &str) -> Option<Self> {
        let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        match segments.as_slice() {
            ["healthz"] => Some(Self::Healthz),
            ["readyz"] => Some(Self::Readyz),
            ["metrics"] => Some(Self::Metrics),
            ["api", "v1", "users", "me", "broadcasts", id, "stream"] => {
                Some(Self::Ingest(parse_id(id)?))
            }
            ["api", "v1", "users", "me", "stream"] => Some(Self::GoLiveNow),
            ["api", "v1", "broadcasts", id, "stream"] => Some(Self::Listen(parse_id(id)?)),
            ["api", "v1", "broadcasts", id, "recording"] => Some(Self::Recording(parse_id(id)?)),
            ["live", username] if is_username(username) => Some(Self::Live((*username).to_owned())),
            _ => None,
        }
    }

    /// The route's path template, a span's name; `None` for the probes, which are not traced.
    fn template(&self) -> Option<&'static str> {
        match self {
            Self::Healthz | Self::Readyz | Self::Metrics => None,
            Self::Ingest(_) => Some("/api/v1/users/me/broadcasts/{id}/stream"),
            Self::GoLiveNow => Some("/api/v1/users/me/stream"),
            Self::Listen(_) => Some("/api/v1/broadcasts/{id}/stream"),
            Self::Live(_) => Some("/live/{username}"),
            Self::Recording(_) => Some("/api/v1/broadcasts/{id}/recording"),
        }
    }

    fn allows(&self, method: &Method) -> Result<(), RelayError> {
        let (allowed, allow): (&[Method], _) = match self {
            Self::Ingest(_) | Self::GoLiveNow => (&[Method::PUT], "PUT"),
            Self::Live(_) => (&[Method::GET, Method::HEAD, Method::PUT], "GET, HEAD, PUT"),
            _ => (&[Method::GET, Method::HEAD], "GET, HEAD"),
        };
        if allowed.contains(method) {
            Ok(())
        } else {
            Err(RelayError::MethodNotAllowed {
                method: method.clone(),
                allow,
            })
        }
    }
}

/// What a `GET` of `path` listens to, if it is a listener's path.
pub fn listener_target(path: &str) -> Option<Target> {
    match Route::parse(path)? {
        Route::Listen(id) => Some(Target::Broadcast(id)),
        Route::Live(username) => Some(Target::User(username)),
        _ => None,
    }
}

fn parse_id(raw: &str) -> Option<i64> {
    raw.parse().ok().filter(|id| *id > 0)
}

/// The alphabet of usernames (3 to 16 of `[A-Za-z0-9._-]`).
pub fn is_username(raw: &str) -> bool {
    (3..=16).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Answers one request that came to `port`. `abort` closes this request's connection (used for
/// listeners who stall).
pub async fn handle(
    state: Arc<AppState>,
    abort: CancellationToken,
    port: Port,
    request: Request<Incoming>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let route =
        Route::parse(parts.uri.path()).filter(|r| *r != Route::Metrics || port == Port::Http);
    let Some(route) = route else {
        return RelayError::NotFound(format!("There is nothing at {}", parts.uri.path()))
            .into_response();
    };
    // Sources and listeners join the caller's trace, so the relay's calls to auth and
    // broadcasts-archive and its stream events hang under it; probes make no traces.
    let span = match route.template() {
        Some(template) => {
            let name = format!("{} {template}", parts.method);
            trace_context::request_span(&name, &parts.method, &parts.headers)
        }
        None => Span::none(),
    };
    let response = answer(state, abort, route, parts, body)
        .instrument(span.clone())
        .await;
    trace_context::record_status(&span, response.status());
    response
}

async fn answer(
    state: Arc<AppState>,
    abort: CancellationToken,
    route: Route,
    parts: http::request::Parts,
    body: Incoming,
) -> Response<Body> {
    let result = match route.allows(&parts.method).map(|()| route) {
        Err(error) => Err(error),
        Ok(Route::Healthz) => Ok(response::json(
            StatusCode::OK,
            &json!({ "status": "alive" }),
        )),
        Ok(Route::Metrics) => Ok(response::metrics()),
        Ok(Route::Readyz) => {
            let (status, report) = state.readiness.response().await;
            Ok(response::json(status, &report))
        }
        Ok(Route::Ingest(id)) => {
            ingest::handle(
                state.clone(),
                &parts.headers,
                body,
                IngestRoute::Scheduled(id),
            )
            .await
        }
        Ok(Route::GoLiveNow) => {
            ingest::handle(state.clone(), &parts.headers, body, IngestRoute::Now).await
        }
        Ok(Route::Live(username)) if parts.method == Method::PUT => {
            let route = IngestRoute::Icecast(username);
            ingest::handle(state.clone(), &parts.headers, body, route).await
        }
        Ok(Route::Live(username)) => {
            let target = Target::User(username);
            listen::handle(&state, &parts.method, &parts.headers, target, &abort).await
        }
        Ok(Route::Listen(id)) => {
            let target = Target::Broadcast(id);
            listen::handle(&state, &parts.method, &parts.headers, target, &abort).await
        }
        Ok(Route::Recording(id)) => {
            playback::handle(&state, &parts.method, &parts.headers, id).await
        }
    };
    result.unwrap_or_else(|error| {
        if error.status().is_server_error() {
            tracing::warn!(path = parts.uri.path(), %error, "request failed");
        }
        error.into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_public_paths() {
        assert_eq!(
            Route::parse("/api/v1/users/me/broadcasts/42/stream"),
            Some(Route::Ingest(42))
        );
        assert_eq!(
            Route::parse("/api/v1/broadcasts/7/stream"),
            Some(Route::Listen(7))
        );
        assert_eq!(
            Route::parse("/live/dj.Owl"),
            Some(Route::Live("dj.Owl".into()))
        );
        assert_eq!(
            Route::parse("/api/v1/users/me/stream"),
            Some(Route::GoLiveNow)
        );
        assert_eq!(
            Route::parse("/api/v1/broadcasts/7/recording"),
            Some(Route::Recording(7))
        );
        assert_eq!(Route::parse("/healthz"), Some(Route::Healthz));
        assert_eq!(Route::parse("/readyz"), Some(Route::Readyz));
        assert_eq!(Route::parse("/metrics"), Some(Route::Metrics));
    }

    #[test]
    fn anything_else_is_unknown() {
        for path in [
            "/",
            "/api/v1/broadcasts/0/stream",
            "/api/v1/broadcasts/-1/stream",
            "/api/v1/broadcasts/abc/stream",
            "/api/v1/broadcasts/99999999999999999999/stream",
            "/api/v1/broadcasts/7/stream/",
            "/live/",
            "/live/a",
            "/live/<script>",
            "/live/dj/extra",
            "healthz",
        ] {
            assert_eq!(Route::parse(path), None, "{path}");
        }
    }

    #[test]
    fn a_known_path_names_its_methods() {
        assert!(Route::Ingest(1).allows(&Method::PUT).is_ok());
        let error = Route::Ingest(1).allows(&Method::GET).unwrap_err();
        assert_eq!(error.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(Route::Listen(1).allows(&Method::HEAD).is_ok());
        assert!(Route::Listen(1).allows(&Method::PUT).is_err());
        assert!(Route::Live("dj".into()).allows(&Method::PUT).is_ok());
        assert!(Route::GoLiveNow.allows(&Method::PUT).is_ok());
        assert!(Route::Healthz.allows(&Method::POST).is_err());
    }
}
