//! The WebSocket handshake of `GET /ws/{broadcastId}` (RFC 6455 §4.2), done here rather than by axum's
//! `WebSocketUpgrade` so that a socket is tungstenite's own stream.
//!
//! axum's `WebSocket` hides that stream, and with it the connection under it: every frame had to go
//! through tungstenite's write buffer, a `Vec` per socket that keeps the capacity of the largest
//! frame it ever held, so a newcomer's `chat:client_list` (up to 200 members, ~16 KB) left 17.6 KiB
//! resident in every idle socket (heaptrack, BENCHMARKS.md). Here the connection goes into the
//! socket's `Outbox`, which writes the server's frames straight to it, and tungstenite's stream is
//! made over the outbox.
//!
//! Only HTTP/1.1 upgrades are taken: browsers reach the gateway through nginx over HTTP/1.1. The
//! upgraded connection is then the very TCP connection the request came on, whose descriptor the
//! server's `Peer` names, and the outbox writes to that descriptor directly.

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header, request::Parts},
    response::{IntoResponse, Response},
};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use service_kit::serve::Peer;
use std::{os::fd::RawFd, sync::Arc};

use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        handshake::derive_accept_key,
        protocol::{Role, WebSocketConfig},
    },
};

use super::{
    outbox::{Outbox, SharedConnection},
    socket::Socket,
};
use crate::error::ApiError;

/// A request to open a WebSocket, checked; `accept` answers it.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
    /// The descriptor of the TCP connection the request came on (none when served without `Peer`).
    descriptor: Option<RawFd>,
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        if parts.method != Method::GET || parts.version != Version::HTTP_11 {
            return Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "A WebSocket opens with an HTTP/1.1 GET",
            ));
        }
        let headers = &parts.headers;
        if !lists_token(headers, header::CONNECTION, "upgrade")
            || !lists_token(headers, header::UPGRADE, "websocket")
            || !lists_token(headers, header::SEC_WEBSOCKET_VERSION, "13")
        {
            return Err(ApiError::bad_request(
                "Not a WebSocket request (Connection: upgrade, Upgrade: websocket, version 13)",
            ));
        }
        let key = headers
            .get(header::SEC_WEBSOCKET_KEY)
            .cloned()
            .ok_or_else(|| ApiError::bad_request("Sec-WebSocket-Key is missing"))?;
        let on_upgrade = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| {
            ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                "This connection cannot be upgraded",
            )
        })?;
        let descriptor = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|peer| peer.fd);
        Ok(Self {
            key,
            on_upgrade,
            descriptor,
        })
    }
}

impl Upgrade {
    /// Answers `101 Switching Protocols` and runs `serve` on the socket and its outbox (of
    /// `max_backlog` frames) once hyper hands the connection over.
    pub fn accept<F, Fut>(self, config: WebSocketConfig, max_backlog: usize, serve: F) -> Response
    where
        F: FnOnce(Socket, Arc<Outbox>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = derive_accept_key(self.key.as_bytes());
        tokio::spawn(async move {
            match self.on_upgrade.await {
                Ok(upgraded) => {
                    let connection = TokioIo::new(upgraded);
                    let outbox = match self.descriptor {
                        // SAFETY: an HTTP/1.1 upgrade hands over the TCP connection the request
                        // came on, whose descriptor `Peer` read at accept; it stays open while the
                        // upgraded connection lives, and only the outbox writes to it.
                        Some(fd) => unsafe { Outbox::over_tcp(connection, fd, max_backlog) },
                        None => Outbox::new(connection, max_backlog),
                    };
                    let connection = SharedConnection(outbox.clone());
                    let socket =
                        WebSocketStream::from_raw_socket(connection, Role::Server, Some(config))
                            .await;
                    serve(socket, outbox).await
                }
                Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
            }
        });
        (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
                (
                    header::SEC_WEBSOCKET_ACCEPT,
                    HeaderValue::try_from(accept).expect("base64 is a valid header value"),
                ),
            ],
        )
            .into_response()
    }
}

/// Whether a comma-separated header lists `token` (case-insensitively).
fn lists_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the extractor answers a request with these method, version and headers (none of which
    /// came through hyper, so none can be upgraded).
    async fn refusal(method: Method, version: Version, headers: &[(&str, &str)]) -> StatusCode {
        let mut request = axum::http::Request::builder()
            .method(method)
            .version(version)
            .uri("/ws/1");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        match Upgrade::from_request_parts(&mut parts, &()).await {
            Ok(_) => panic!("a request that cannot be upgraded was taken"),
            Err(error) => error.status,
        }
    }

    #[tokio::test]
    async fn only_an_http_1_1_get_with_the_websocket_headers_is_taken() {
        let websocket = [
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        let cases = [
            (Method::POST, Version::HTTP_11, &websocket[..], 405),
            (Method::GET, Version::HTTP_10, &websocket[..], 405),
            (Method::GET, Version::HTTP_2, &websocket[..], 405),
            (Method::GET, Version::HTTP_11, &websocket[..2], 400),
            (Method::GET, Version::HTTP_11, &websocket[..3], 400),
            // Right in every header, but not a connection hyper can hand over.
            (Method::GET, Version::HTTP_11, &websocket[..], 426),
        ];
        for (method, version, headers, status) in cases {
            assert_eq!(
                refusal(method.clone(), version, headers).await.as_u16(),
                status,
                "{method} {version:?} with {} headers",
                headers.len()
            );
        }
    }

    #[test]
    fn tokens_are_found_in_lists_whatever_their_case() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        assert!(lists_token(&headers, header::CONNECTION, "upgrade"));
        assert!(!lists_token(&headers, header::UPGRADE, "websocket"));
        headers.insert(header::UPGRADE, "websocket2".parse().unwrap());
        assert!(!lists_token(&headers, header::UPGRADE, "websocket"));
    }
}
