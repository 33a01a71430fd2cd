//! The stream relay: the audio hot path and nothing else.
//!
//! A source `PUT`s a chunked MP3 body ([`ingest`]); the relay cuts it into whole frames (with
//! `livestreamer_mp3`, shared with the source CLI) and fans them out to every listener of that
//! broadcast ([`channel`]), who receive a burst of recent audio and then the live frames as plain HTTP
//! bodies ([`listen`]). auth and broadcasts-archive decide who may stream ([`upstream`]); RabbitMQ hears
//! when a stream starts and ends. Plain hyper, no framework: the routes are few ([`routes`]) and the
//! bodies are long-lived streams ([`server`]).
//!
//! Two ports serve the same routes: the HTTP port behind the edge proxy, and the source port that
//! Icecast clients reach through a TCP pass-through (their own protocol arrives with a later issue).

pub mod channel;
pub mod config;
pub mod error;
pub mod ingest;
pub mod listen;
pub mod response;
pub mod routes;
pub mod server;
pub mod upstream;

use std::{sync::Arc, time::Duration};

use service_kit::{
    amqp::{EventBus, EventPublisher},
    health::Readiness,
    serve,
    shutdown::Shutdown,
};
use tokio::net::TcpListener;

pub use config::Config;

use crate::{
    channel::{Limits, Registry},
    upstream::Upstream,
};

/// After shutdown is requested, how long connections may take to finish before they are cut.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// What every request handler shares.
pub struct AppState {
    pub registry: Registry,
    pub upstream: Upstream,
    pub publisher: EventPublisher,
    pub readiness: Readiness,
    pub limits: Limits,
    pub shutdown: Shutdown,
}

impl AppState {
    pub fn new(config: &Config, shutdown: Shutdown) -> anyhow::Result<Self> {
        let bus = EventBus::new(config.amqp_url.clone(), config.amqp_exchange.clone());
        let publisher = EventPublisher::new(bus);
        Ok(Self {
            registry: Registry::default(),
            upstream: Upstream::new(&config.auth_url, &config.broadcasts_url)?,
            readiness: Readiness::new().rabbitmq(publisher.clone()),
            publisher,
            limits: Limits {
                burst_bytes: config.burst_bytes,
                queue_bytes: config.queue_bytes,
            },
            shutdown,
        })
    }
}

/// Runs the relay on `config.listen` and `config.source_listen` until shutdown.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let http = serve::bind(&config.listen).await?;
    let source = serve::bind(&config.source_listen).await?;
    serve_on(http, source, config, shutdown).await
}

/// Runs the relay on already bound listeners (tests bind port 0).
pub async fn serve_on(
    http: TcpListener,
    source: TcpListener,
    config: Config,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let state = Arc::new(AppState::new(&config, shutdown.clone())?);
    tracing::info!(http = %http.local_addr()?, source = %source.local_addr()?, "listening");
    state.readiness.mark_started();

    let serving = async {
        tokio::join!(
            server::accept(http, state.clone()),
            server::accept(source, state.clone())
        )
    };
    let deadline = async {
        shutdown.requested().await;
        tokio::time::sleep(DRAIN_TIMEOUT).await;
    };
    tokio::select! {
        _ = serving => tracing::info!("stopped"),
        _ = deadline => tracing::warn!("drain deadline passed, closing the remaining connections"),
    }
    Ok(())
}
