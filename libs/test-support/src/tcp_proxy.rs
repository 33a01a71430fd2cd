//! A TCP proxy that a test cuts and restores: a network path that breaks (a DJ's Wi-Fi, the link
//! from a service to Redis or RabbitMQ) while everything else keeps running. Cutting resets every
//! connection through it and closes its port; restoring listens again on the same port, so the
//! client finds its server again by itself, as it would after a real outage.

use std::{
    io,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpSocket, TcpStream},
    task::{JoinHandle, JoinSet},
};

pub struct TcpProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    from: IpAddr,
    connections: Arc<AtomicUsize>,
    server: Option<JoinHandle<()>>,
}

impl TcpProxy {
    /// A proxy on a free local port to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        Self::start_from(upstream, IpAddr::V4(Ipv4Addr::LOCALHOST)).await
    }

    /// A proxy whose connections to `upstream` come from `from` (an address of its own in
    /// 127.0.0.0/8, so a service that limits per client address counts them apart).
    pub async fn start_from(upstream: SocketAddr, from: IpAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut proxy = Self {
            addr: listener.local_addr()?,
            upstream,
            from,
            connections: Arc::new(AtomicUsize::new(0)),
            server: None,
        };
        proxy.serve(listener);
        Ok(proxy)
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Drops every connection and stops listening.
    pub async fn cut(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&mut self) -> io::Result<()> {
        let listener = TcpListener::bind(self.addr).await?;
        self.serve(listener);
        Ok(())
    }

    fn serve(&mut self, listener: TcpListener) {
        let (upstream, from, connections) = (self.upstream, self.from, self.connections.clone());
        self.server = Some(tokio::spawn(async move {
            // The pipes live in this set: aborting the server drops (resets) them all.
            let mut pipes = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::Relaxed);
                pipes.spawn(async move {
                    if let Ok(mut server) = connect_from(from, upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                while pipes.try_join_next().is_some() {}
            }
        }));
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

async fn connect_from(from: IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}
