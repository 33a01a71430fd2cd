//! HTTP/1.1 with hyper on a bound listener: accept until shutdown, then let every connection finish.
//!
//! Each connection gets its own abort token, which the channel's watcher cancels to close the socket
//! of a listener who stopped reading (hyper never polls such a body again, so only closing the
//! connection frees it). On shutdown each connection finishes its response (sources end their stream,
//! listeners' bodies end with their channel) and closes; idle keep-alive connections close at once.

use std::{convert::Infallible, sync::Arc, time::Duration};

use hyper::{server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    net::{TcpListener, TcpStream},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use crate::{AppState, routes};

#[cfg(test)]
mod tests;

/// A client that has not sent its request head by then is dropped (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// After a failed accept (out of file descriptors, say), a pause instead of a busy loop.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Serves `listener` until shutdown, then waits for its connections to finish.
pub async fn accept(listener: TcpListener, state: Arc<AppState>) {
    let shutdown = state.shutdown.clone();
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.requested() => break,
        };
        match accepted {
            Ok((stream, _)) => {
                connections.spawn(serve_connection(stream, state.clone()));
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

async fn serve_connection(stream: TcpStream, state: Arc<AppState>) {
    let _ = stream.set_nodelay(true);
    let abort = CancellationToken::new();
    let service = {
        let (state, abort) = (state.clone(), abort.clone());
        service_fn(move |request| {
            let (state, abort) = (state.clone(), abort.clone());
            async move { Ok::<_, Infallible>(routes::handle(state, abort, request).await) }
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
