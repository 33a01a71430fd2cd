//! Serving an axum router (and tonic services, which are axum routes speaking HTTP/2) on a listener
//! until shutdown, draining in-flight requests. Every service served this way counts and times its
//! requests and answers `GET /metrics` (see `metrics`), and runs each request in a span of the
//! caller's trace when traces are exported (see `trace_context`).

use std::{
    net::SocketAddr,
    os::fd::{AsRawFd, RawFd},
};

use anyhow::Context;
use axum::{Router, extract::connect_info::Connected, middleware, serve::IncomingStream};
use tokio::net::{TcpListener, TcpSocket};

use crate::shutdown::Shutdown;

/// Connections the kernel queues until they are accepted (capped by `net.core.somaxconn`). The
/// standard library's 128 fills within a quarter of a second of any pause at 500 new connections a
/// second, and every connection past it costs its client a SYN retransmission, a second or more: that
/// was the relay's p99 time to first byte at 15,000 listeners arriving at 500/s (6.2 s).
const ACCEPT_BACKLOG: u32 = 4096;

/// Binds `addr` with a long accept queue ([`ACCEPT_BACKLOG`]), turning "address in use" into a
/// message that names the address.
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    let socket_addr = tokio::net::lookup_host(addr)
        .await
        .with_context(|| format!("cannot resolve {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let listen = || {
        let socket = match socket_addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // as the standard library does: a restarted server binds at once, past TIME_WAIT
        socket.set_reuseaddr(true)?;
        socket.bind(socket_addr)?;
        socket.listen(ACCEPT_BACKLOG)
    };
    listen().map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}

/// Sets the kernel send buffer of the connections `listener` accepts (they inherit it), which also
/// turns the kernel's autotuning off for them; `0` leaves autotuning on. Autotuned, the buffer of a
/// client that stops reading grows to megabytes (2.5 MB seen on loopback) before the server's own
/// bounded queue sees any of it, so the queue's bound, the point of dropping slow readers, means
/// little. The gateway's WebSockets and the relay's listeners are both such connections.
pub fn cap_send_buffer(listener: &TcpListener, bytes: usize) -> std::io::Result<()> {
    if bytes == 0 {
        return Ok(());
    }
    socket2::SockRef::from(listener).set_send_buffer_size(bytes)
}

/// Serves `router` over HTTP/1.1 and HTTP/2 (h2c, as gRPC uses) until shutdown is requested.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "listening");
    axum::serve(listener, instrumented(router))
        .with_graceful_shutdown(shutdown.requested_owned())
        .await?;
    Ok(())
}

/// The TCP connection a request came on, as handlers of [`serve_with_peer_addrs`] read it
/// (`axum::extract::ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The peer's address (the gateway trusts `X-Forwarded-For` only from its own proxy).
    pub addr: SocketAddr,
    /// The connection's descriptor. hyper owns it: it is open only as long as hyper's connection is,
    /// or the upgraded connection a handler takes over from it. A WebSocket's outbox writes to it
    /// directly while it holds that upgraded connection.
    pub fd: RawFd,
}

impl Connected<IncomingStream<'_, TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self {
            addr: *stream.remote_addr(),
            fd: stream.io().as_raw_fd(),
        }
    }
}

/// Like [`serve`], and handlers may read the connection each request came on as
/// `axum::extract::ConnectInfo<Peer>`.
pub async fn serve_with_peer_addrs(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let service = instrumented(router).into_make_service_with_connect_info::<Peer>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown.requested_owned())
        .await?;
    Ok(())
}

/// The router with request metrics and the request's trace span around it, and `GET /metrics`
/// beside it.
fn instrumented(router: Router) -> Router {
    router
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(middleware::from_fn(crate::trace_context::server_span))
        .merge(crate::metrics::router())
}

/// The tonic services of a gRPC server as an axum router, so health routes can sit beside them.
pub fn grpc_router(routes: tonic::service::Routes) -> Router {
    routes.prepare().into_axum_router()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_burst_of_connections_waits_in_the_accept_queue_instead_of_being_dropped() {
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Nobody accepts: every handshake must complete into the queue. Past a queue of 128 the
        // kernel drops the SYNs and the clients would retry after 1 s, then 3 s.
        let clients: Vec<_> = (0..600)
            .map(|_| {
                tokio::spawn(tokio::time::timeout(
                    Duration::from_millis(900),
                    tokio::net::TcpStream::connect(addr),
                ))
            })
            .collect();
        let mut connected = 0;
        for client in clients {
            if matches!(client.await.unwrap(), Ok(Ok(_))) {
                connected += 1;
            }
        }
        assert_eq!(connected, 600);
        drop(listener);
    }

    #[tokio::test]
    async fn an_address_in_use_is_named() {
        let taken = bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let error = bind(&addr).await.unwrap_err().to_string();
        assert!(error.contains(&addr), "{error}");
        assert!(bind("no-such-host.invalid:80").await.is_err());
    }
}
