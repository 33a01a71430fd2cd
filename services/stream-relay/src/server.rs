//! HTTP/1.1 with hyper on a bound listener: accept until shutdown, then let every connection finish.
//!
//! Each connection gets its own abort token, which the channel's watcher cancels to close the socket
//! of a listener who stopped reading (hyper never polls such a body again, so only closing the
//! connection frees it). On shutdown each connection finishes its response (sources end their stream,
//! listeners' bodies end with their channel) and closes; idle keep-alive connections close at once.
//!
//! On the source port each connection's request head is read first ([`crate::preface`]): a
//! close-delimited Icecast source is served on the raw connection ([`crate::icecast`]), anything else
//! goes to hyper with the bytes read put back ([`crate::rewind`]).

use std::{convert::Infallible, sync::Arc, time::Duration};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use crate::{
    AppState,
    error::RelayError,
    icecast, listen,
    preface::{self, PrefaceError},
    rewind::Rewind,
    routes,
};

/// Which of the relay's ports a listener is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// Behind the HTTP edge proxy: plain hyper.
    Http,
    /// The Icecast source port: request heads are looked at before hyper.
    Source,
}

#[cfg(test)]
pub(crate) mod tests;

/// A client that has not sent its request head by then is dropped (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// After a failed accept (out of file descriptors, say), a pause instead of a busy loop.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `listener` until shutdown, then waits for its connections to finish.
pub async fn accept(listener: TcpListener, state: Arc<AppState>, port: Port) {
    let shutdown = state.shutdown.clone();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.requested() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                let state = state.clone();
                let _ = stream.set_nodelay(true);
                match port {
                    Port::Http => connections.spawn(serve_http_connection(stream, state)),
                    Port::Source => connections.spawn(serve_source_connection(stream, state)),
                };
            }
            Err(error) => {
                tracing::warn!(%error, "cannot accept a connection");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// A connection of the HTTP port: with `fast_listeners`, a listener of a live, visible broadcast
/// goes to the broadcast's write loops ([`crate::shard`]); everything else to hyper.
async fn serve_http_connection(mut stream: TcpStream, state: Arc<AppState>) {
    let Some(preface) = read_preface(&mut stream, &state).await else {
        return;
    };
    let fast = state.config.fast_listeners;
    if let Some(channel) = fast
        .then(|| listen::fast_listener(&state, &preface.head))
        .flatten()
    {
        listen::serve_fast(channel, stream, &preface.head, state.config.write_every).await;
    } else {
        serve_connection(Rewind::new(preface.bytes, stream), state, Port::Http).await;
    }
}

/// A connection of the source port: a close-delimited source is served raw, the rest by hyper.
async fn serve_source_connection(mut stream: TcpStream, state: Arc<AppState>) {
    let Some(preface) = read_preface(&mut stream, &state).await else {
        return;
    };
    if preface.head.is_close_delimited_source() {
        icecast::serve(state, stream, preface).await;
    } else {
        serve_connection(Rewind::new(preface.bytes, stream), state, Port::Source).await;
    }
}

/// The request head, or `None` once a bad one is answered (or the client left).
async fn read_preface(stream: &mut TcpStream, state: &AppState) -> Option<preface::Preface> {
    let read = tokio::time::timeout(HEADER_READ_TIMEOUT, preface::read(stream));
    let preface = tokio::select! {
        read = read => read,
        _ = state.shutdown.requested() => return None,
    };
    match preface {
        Ok(Ok(preface)) => Some(preface),
        Ok(Err(PrefaceError::TooLarge)) => {
            let _ = icecast::write_response(stream, RelayError::HeadTooLarge.into_response()).await;
            None
        }
        Ok(Err(PrefaceError::Malformed(reason))) => {
            let error = RelayError::BadRequest(format!("Malformed request: {reason}"));
            let _ = icecast::write_response(stream, error.into_response()).await;
            None
        }
        Ok(Err(error)) => {
            tracing::debug!(%error, "no request");
            None
        }
        Err(_) => None, // slowloris
    }
}

async fn serve_connection<I>(stream: I, state: Arc<AppState>, port: Port)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let abort = CancellationToken::new();
    let service = {
        let (state, abort) = (state.clone(), abort.clone());
        service_fn(move |request| {
            let (state, abort) = (state.clone(), abort.clone());
            async move { Ok::<_, Infallible>(routes::handle(state, abort, port, request).await) }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = abort.cancelled() => return,
        _ = state.shutdown.requested() => {
            connection.as_mut().graceful_shutdown();
            tokio::select! {
                result = connection.as_mut() => result,
                _ = abort.cancelled() => return,
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}
