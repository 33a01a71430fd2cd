//! `GET /api/v1/broadcasts/{id}/recording`: the recorded MP3 of an ended broadcast, with `Range`.
//!
//! Visibility is broadcasts-archive's rule, not the relay's: the relay asks it for the broadcast with
//! the caller's token (from the session cookie, when there is one), so hidden broadcasts are served to
//! their owner only and everyone else gets the same 404 as for a broadcast that does not exist. The
//! file is streamed from disk in chunks, never read whole into memory.

use std::{io::SeekFrom, path::Path};

use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::{
    AppState,
    error::RelayError,
    range::{self, Wanted},
    recording,
    response::{self, Body},
    upstream::session_cookie,
};

const CHUNK_BYTES: usize = 64 * 1024;

/// Answers a recording request.
pub async fn handle(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    broadcast_id: i64,
) -> Result<Response<Body>, RelayError> {
    let token = caller_token(state, headers).await?;
    let broadcast = state
        .upstream
        .get_broadcast(token.as_deref(), broadcast_id)
        .await?;
    if broadcast.is_live {
        return Err(RelayError::NotFound(format!(
            "Broadcast {broadcast_id} is live; its recording is ready when it ends"
        )));
    }
    let path = recording::path_of(&state.config.recordings_dir, broadcast_id);
    let not_recorded =
        || RelayError::NotFound(format!("Broadcast {broadcast_id} has no recording"));
    let len = tokio::fs::metadata(&path)
        .await
        .map_err(|_| not_recorded())?
        .len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let wanted = range::wanted(range, len);
    let (status, start, count) = match wanted {
        Wanted::Whole => (StatusCode::OK, 0, len),
        Wanted::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Wanted::Unsatisfiable => return Ok(unsatisfiable(len)),
    };
    let body = if method == Method::HEAD {
        response::empty()
    } else {
        file_body(&path, start, count)
            .await
            .map_err(|_| not_recorded())?
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if let Wanted::Part { start, end } = wanted {
        let content_range = format!("bytes {start}-{end}/{len}");
        headers.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&content_range).expect("ASCII"),
        );
    }
    Ok(response)
}

/// The caller's internal token, if a valid session cookie came; anonymous otherwise.
async fn caller_token(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, RelayError> {
    let Some(session_id) = session_cookie(headers) else {
        return Ok(None);
    };
    match state.upstream.resolve_session(session_id).await {
        Ok(session) => Ok(Some(session.token)),
        Err(RelayError::Unauthenticated(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

fn unsatisfiable(len: u64) -> Response<Body> {
    let mut response = RelayError::RangeNotSatisfiable(len).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&format!("bytes */{len}")).expect("ASCII"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response
}

/// `count` bytes of the file from `start`, read as the client takes them.
async fn file_body(path: &Path, start: u64, count: u64) -> std::io::Result<Body> {
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(SeekFrom::Start(start)).await?;
    let reader = ReaderStream::with_capacity(file.take(count), CHUNK_BYTES);
    let frames =
        futures_util::StreamExt::map(reader, |chunk| chunk.map(Frame::data).map_err(Into::into));
    Ok(StreamBody::new(frames).boxed_unsync())
}
