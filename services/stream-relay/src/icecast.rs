//! The Icecast source protocol, as ffmpeg's icecast://, libshout (BUTT, Mixxx, Liquidsoap) and
//! `ffmpeg -method PUT -chunked_post 0` speak it, on `/live/{username}`.
//!
//! - Basic auth: the password is the user's stream key; the user is `source` (Icecast's default) or
//!   the username of the path. auth checks the key.
//! - `ice-name` titles a "go live now" broadcast, `ice-description` and `ice-genre` describe it.
//! - A close-delimited body (`SOURCE`, or `PUT` with neither length nor chunking) is served here, on
//!   the raw connection: the answer comes first (`100 Continue` when asked, `200 OK` otherwise, as
//!   Icecast does) and the body then runs until the connection closes. Framed `PUT`s go through hyper
//!   and [`crate::ingest`] with the same rules.

use std::{io, sync::Arc};

use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body_util::BodyExt;
use service_kit::trace_context;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tracing::{Instrument, Span};

use crate::{
    AppState,
    error::RelayError,
    ingest::require_audio_mpeg,
    live::SourceEnd,
    preface::{Preface, RequestHead},
    response::Body,
    routes::is_username,
    source::{self, Credentials, Destination},
};

#[cfg(test)]
mod tests;

/// The user Icecast source clients send by default.
const ICECAST_SOURCE_USER: &str = "source";
/// The most one read of a source's body takes: four times ezstream's 4 KiB blocks.
const READ_BYTES: usize = 16 * 1024;

/// The stream-key credentials of a source for `/live/{username}`; 401 when absent or malformed.
pub fn credentials(headers: &HeaderMap, username: &str) -> Result<Credentials, RelayError> {
    let missing =
        || RelayError::Unauthenticated("Sign in with your username and stream key".into());
    let encoded = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .ok_or_else(missing)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| missing())?;
    let decoded = String::from_utf8(decoded).map_err(|_| missing())?;
    let (user, key) = decoded.split_once(':').ok_or_else(missing)?;
    if !user.eq_ignore_ascii_case(ICECAST_SOURCE_USER) && !user.eq_ignore_ascii_case(username) {
        return Err(RelayError::Unauthenticated(format!(
            "Sign in as {username} (or as source) to stream to /live/{username}"
        )));
    }
    Ok(Credentials::StreamKey {
        username: username.to_owned(),
        key: key.to_owned(),
    })
}

/// "Go live now", titled and described by the `ice-*` headers.
pub fn destination(headers: &HeaderMap) -> Destination {
    let text = |name: &str| {
        headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
            .unwrap_or_default()
    };
    let (description, genre) = (text("ice-description"), text("ice-genre"));
    let description = match (description.is_empty(), genre.is_empty()) {
        (_, true) => description,
        (true, false) => format!("Genre: {genre}"),
        (false, false) => format!("{description}\n\nGenre: {genre}"),
    };
    Destination::Now {
        title: text("ice-name"),
        description,
    }
}

/// A 401 for a source says how to authenticate, so clients that wait for a challenge retry.
pub fn challenge(mut response: Response<Body>) -> Response<Body> {
    if response.status() == http::StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"LiveStreamer\""),
        );
    }
    response
}

/// Serves a close-delimited source on its raw connection, until it closes. Like a request through
/// hyper, it is one span that joins the source's trace (a `traceparent` header), so that the relay's
/// calls to auth and broadcasts-archive and the stream's events hang under it.
pub async fn serve(state: Arc<AppState>, stream: TcpStream, preface: Preface) {
    let method = Method::from_bytes(preface.head.method.as_bytes()).unwrap_or(Method::PUT);
    let span = trace_context::request_span(
        &format!("{method} /live/{{username}}"),
        &method,
        &preface.head.headers,
    );
    serve_in(state, stream, preface, &span)
        .instrument(span.clone())
        .await;
}

async fn serve_in(state: Arc<AppState>, mut stream: TcpStream, preface: Preface, span: &Span) {
    let leftover = preface.leftover();
    let head = preface.head;
    let source = match accept(&state, &head).await {
        Ok(source) => source,
        Err(error) => {
            tracing::info!(path = head.path(), %error, "refused an Icecast source");
            crate::metrics::source_refused(error.status());
            trace_context::record_status(span, error.status());
            let _ = write_response(&mut stream, challenge(error.into_response())).await;
            return;
        }
    };
    trace_context::record_status(span, StatusCode::OK);
    let expects_continue = head
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let answer: &[u8] = if expects_continue {
        b"HTTP/1.1 100 Continue\r\n\r\n"
    } else {
        b"HTTP/1.0 200 OK\r\n\r\n"
    };
    if stream.write_all(answer).await.is_err() {
        return; // dropping the source counts as a drop
    }
    let (reader, _writer) = stream.into_split();
    let body = futures_util::stream::once(async move { Ok(leftover) })
        .chain(body_reads(reader))
        .boxed();
    let shutdown = state.shutdown.clone();
    let (bytes, end) = source.stream(body, SourceEnd::Dropped, &shutdown).await;
    tracing::info!(bytes, ?end, "Icecast source disconnected");
}

/// A close-delimited body, read by read, each read into a buffer of its own.
///
/// Why not tokio-util's `ReaderStream`: it reads into what the last read left of its buffer, so a
/// source's 3.75 KiB block (10 frames at 128 kbit/s) often came in two reads, and the frames of the
/// second reached listeners a write later (`RELAY_WRITE_EVERY_MS`): at 200 listeners, p99 lag
/// 133 ms instead of 4 ms.
fn body_reads<R>(reader: R) -> impl Stream<Item = io::Result<Bytes>>
where
    R: AsyncRead + Unpin,
{
    futures_util::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        let mut buf = BytesMut::with_capacity(READ_BYTES);
        match reader.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(reader))),
            Err(error) => Some((Err(error), None)),
        }
    })
    .fuse()
}

/// Checks the head and attaches the source.
async fn accept(
    state: &Arc<AppState>,
    head: &RequestHead,
) -> Result<source::AttachedSource, RelayError> {
    let username = head
        .path()
        .strip_prefix("/live/")
        .filter(|u| is_username(u))
        .ok_or_else(|| {
            RelayError::NotFound(format!(
                "Sources stream to /live/USERNAME, not {}",
                head.path()
            ))
        })?;
    require_audio_mpeg(&head.headers)?;
    let credentials = credentials(&head.headers, username)?;
    let (source, _resumed) = source::attach(state, credentials, destination(&head.headers)).await?;
    Ok(source)
}

/// Writes a whole (small) response on a raw connection, then closes it.
pub async fn write_response(
    stream: &mut TcpStream,
    response: Response<Body>,
) -> std::io::Result<()> {
    let (parts, body) = response.into_parts();
    let body: Bytes = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let mut raw = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        raw.extend_from_slice(name.as_str().as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(value.as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    raw.extend_from_slice(&body);
    stream.write_all(&raw).await?;
    stream.shutdown().await
}
