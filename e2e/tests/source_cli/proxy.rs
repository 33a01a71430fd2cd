//! The DJ's network path as a TCP proxy in front of the edge, which the test can cut (every
//! connection reset, the port closed) and restore on the same port — a Wi-Fi drop, while listeners,
//! who come through the edge directly, stay connected. Its connections to the edge come from an
//! address of their own in 127.0.0.0/8, so the CLI's sign-ins are not counted against 127.0.0.1 (the
//! gateway limits sign-ins per client address).

use std::{
    net::{IpAddr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio::{
    net::{TcpListener, TcpSocket, TcpStream},
    task::JoinSet,
};

pub struct Proxy {
    port: u16,
    upstream: SocketAddr,
    from: IpAddr,
    connections: Arc<AtomicUsize>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    /// A proxy on a free local port to the edge at `base` (`http://host:port`), connecting from
    /// `from`.
    pub async fn start(base: &str, from: IpAddr) -> anyhow::Result<Self> {
        let authority = base.trim_start_matches("http://").trim_end_matches('/');
        let upstream = tokio::net::lookup_host(authority)
            .await?
            .find(SocketAddr::is_ipv4)
            .ok_or_else(|| anyhow::anyhow!("{authority} has no IPv4 address"))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut proxy = Self {
            port: listener.local_addr()?.port(),
            upstream,
            from,
            connections: Arc::new(AtomicUsize::new(0)),
            server: None,
        };
        proxy.serve(listener);
        Ok(proxy)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
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
    pub async fn restore(&mut self) -> anyhow::Result<()> {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await?;
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
            }
        }));
    }
}

async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}
