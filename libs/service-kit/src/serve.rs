//! Serving an axum router (and tonic services, which are axum routes speaking HTTP/2) on a listener
//! until shutdown, draining in-flight requests. Every service served this way counts and times its
//! requests and answers `GET /metrics` (see `metrics`), and runs each request in a span of the
//! caller's trace when traces are exported (see `trace_context`).

use axum::{Router, middleware};
use tokio::net::TcpListener;

use crate::shutdown::Shutdown;

/// Binds `addr`, turning "address in use" into a message that names the address.
pub async fn bind(addr: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
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

/// Like [`serve`], and handlers may read the peer's address as
/// `axum::extract::ConnectInfo<std::net::SocketAddr>` (the gateway trusts `X-Forwarded-For` only
/// from its own proxy).
pub async fn serve_with_peer_addrs(
    listener: TcpListener,
    router: Router,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let service =
        instrumented(router).into_make_service_with_connect_info::<std::net::SocketAddr>();
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
