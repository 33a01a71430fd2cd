//! The listener side: `GET /api/v1/broadcasts/{id}/stream` and `GET /live/{username}`.
//!
//! A listener receives a plain, endless `audio/mpeg` body that any player understands (browsers, VLC,
//! mpv, radio apps): the burst first, so playback starts at once, then live frames, each whole. It is
//! not cached and not buffered by the edge proxy. The body ends cleanly when the stream ends; it is cut
//! (the connection closed) when the listener falls too far behind. A stream live on another relay
//! replica is heard here too, through a local mirror ([`crate::mirror`]).

use std::{sync::Arc, time::Duration};

use http::{HeaderMap, HeaderValue, Method, Response, header};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tokio::{io::AsyncWriteExt, net::TcpStream};
use tokio_util::sync::CancellationToken;

use crate::{
    AppState,
    channel::{Listener, LiveChannel},
    error::RelayError,
    mirror,
    preface::RequestHead,
    response::{self, Body},
    routes::listener_target,
    shard::{Framing, Joining},
    upstream::session_cookie,
};

/// Which live stream a listener asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Broadcast(i64),
    User(String),
}

impl Target {
    fn not_live(&self) -> RelayError {
        RelayError::NotFound(match self {
            Self::Broadcast(id) => format!("Broadcast {id} is not live"),
            Self::User(username) => format!("{username} is not streaming now"),
        })
    }
}

/// Answers a listener; `abort` closes his connection should he stop reading.
pub async fn handle(
    state: &Arc<AppState>,
    method: &Method,
    headers: &HeaderMap,
    target: Target,
    abort: &CancellationToken,
) -> Result<Response<Body>, RelayError> {
    let channel = mirror::find(state, &target)
        .await
        .map(|live| live.channel.clone())
        .ok_or_else(|| target.not_live())?;
    if !channel.broadcast().is_visible && !is_owner(state, headers, &channel).await? {
        return Err(target.not_live());
    }
    let body = if method == Method::HEAD {
        response::empty()
    } else {
        let listener = channel
            .subscribe(abort.clone())
            .ok_or_else(|| target.not_live())?;
        tracing::debug!(
            broadcast_id = channel.id(),
            listeners = channel.listener_count(),
            "listener joined"
        );
        listener_body(listener)
    };
    Ok(audio_response(body))
}

/// The fast path's listener: a `GET` of a live, visible broadcast's stream. Anything else (`HEAD`, a
/// hidden broadcast that needs its owner's session, a stream that is not live here, which may be
/// mirrored from another replica) goes through hyper.
pub fn fast_listener(state: &AppState, head: &RequestHead) -> Option<Arc<LiveChannel>> {
    if head.method != "GET" {
        return None;
    }
    let channel = match listener_target(head.path())? {
        Target::Broadcast(id) => state.registry.get(id),
        Target::User(username) => state.registry.by_username(&username),
    }?
    .channel
    .clone();
    channel.broadcast().is_visible.then_some(channel)
}

/// Writes the response head (the same headers as [`audio_response`]) and hands the socket to one of
/// the broadcast's write loops. HTTP/1.1 gets a chunked body, so that the stream's end is told apart
/// from a cut; HTTP/1.0 a body that ends with the connection.
pub async fn serve_fast(
    channel: Arc<LiveChannel>,
    mut stream: TcpStream,
    head: &RequestHead,
    write_every: Duration,
) {
    let framing = if head.minor_version >= 1 {
        Framing::Chunked
    } else {
        Framing::CloseDelimited
    };
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg\r\ncache-control: no-cache, no-store\r\n\
         x-accel-buffering: no\r\n{}connection: close\r\n\r\n",
        if framing == Framing::Chunked {
            "transfer-encoding: chunked\r\n"
        } else {
            ""
        }
    );
    if stream.write_all(response.as_bytes()).await.is_err() {
        return;
    }
    let Ok(socket) = stream.into_std() else {
        return;
    };
    let joining = Joining { socket, framing };
    if channel.join_fast(joining, write_every).is_ok() {
        tracing::debug!(broadcast_id = channel.id(), "listener joined");
    }
}

/// Whether the caller owns the (hidden) broadcast. No or an unknown session: no; auth down: 503.
async fn is_owner(
    state: &AppState,
    headers: &HeaderMap,
    channel: &Arc<LiveChannel>,
) -> Result<bool, RelayError> {
    let Some(session_id) = session_cookie(headers) else {
        return Ok(false);
    };
    match state.upstream.resolve_session(session_id).await {
        Ok(session) => Ok(session.user_id == channel.broadcast().user_id),
        Err(RelayError::Unauthenticated(_)) => Ok(false),
        Err(error) => Err(error),
    }
}

fn audio_response(body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/mpeg"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The listener's frames as a response body; a lag ends it with an error, so hyper cuts the connection
/// instead of ending the body as if the broadcast were over.
pub fn listener_body(listener: Listener) -> Body {
    let frames = futures_util::stream::unfold(Some(listener), |listener| async move {
        let mut listener = listener?;
        match listener.next().await {
            Ok(Some(frame)) => Some((Ok(Frame::data(frame)), Some(listener))),
            Ok(None) => None,
            Err(lagged) => {
                crate::metrics::listener_dropped_slow();
                tracing::info!(%lagged, "dropping a listener who fell behind");
                Some((Err(lagged.into()), None))
            }
        }
    });
    StreamBody::new(frames).boxed_unsync()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use livestreamer_proto::broadcasts::Broadcast;

    use super::*;
    use crate::channel::Limits;

    fn frame(n: u8) -> Bytes {
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
        frame.resize(417, n);
        Bytes::from(frame)
    }

    fn channel(queue_bytes: usize) -> Arc<LiveChannel> {
        let broadcast = Broadcast {
            broadcast_id: 1,
            is_visible: true,
            ..Default::default()
        };
        LiveChannel::new(
            broadcast,
            0,
            Limits {
                burst_bytes: 1_000,
                queue_bytes,
            },
        )
    }

    #[tokio::test]
    async fn the_body_is_the_burst_then_live_frames_and_ends_with_the_stream() {
        let channel = channel(1 << 20);
        for n in 0..5 {
            channel.publish(frame(n));
        }
        let body = listener_body(channel.subscribe(CancellationToken::new()).unwrap());
        channel.publish(frame(5));
        channel.close();
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(
            bytes,
            [frame(3), frame(4), frame(5)].concat(),
            "two frames fit in 1000 bytes"
        );
    }

    #[tokio::test]
    async fn a_lagging_listener_body_fails_instead_of_ending() {
        let channel = channel(2 * 417);
        let body = listener_body(channel.subscribe(CancellationToken::new()).unwrap());
        for n in 0..10 {
            channel.publish(frame(n));
        }
        channel.close();
        assert!(body.collect().await.is_err());
    }
}
