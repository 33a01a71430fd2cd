//! The stream relay: the audio hot path and nothing else.
//!
//! A source `PUT`s a chunked MP3 body ([`ingest`]); the relay cuts it into whole frames (with
//! `livestreamer_mp3`, shared with the source CLI) and fans them out to every listener of that
//! broadcast ([`channel`]), who receive a burst of recent audio and then the live frames as plain HTTP
//! bodies ([`listen`]): handed after the response head to a few write loops per broadcast that write
//! the frames to every socket, a few frames per write ([`shard`]), or (`HEAD`, hidden broadcasts,
//! `RELAY_FAST_LISTENERS=false`) each through hyper. auth and broadcasts-archive decide who may
//! stream ([`upstream`]); RabbitMQ hears when a stream starts and ends. Plain hyper, no framework: the routes are few ([`routes`]) and the
//! bodies are long-lived streams ([`server`]).
//!
//! Two ports serve the same routes: the HTTP port behind the edge proxy, and the source port that
//! Icecast clients reach through a TCP pass-through, where a look at each request head before hyper
//! ([`preface`]) lets close-delimited Icecast sources in ([`icecast`]). A broadcast outlives a dropped
//! source for a grace period ([`live`]); its life from start to end is one task ([`lifecycle`]),
//! which counts listeners over all replicas in Redis ([`audience`]), paces `stream.stats`
//! ([`stats`]), and records it to disk ([`recording`], served by [`playback`]).
//!
//! Several relay processes (replicas) may serve the same broadcasts: the one holding a source claims
//! the broadcast in Redis ([`ownership`]) and publishes its frames on a pub/sub channel
//! ([`replication`]); a listener on another replica hears it through a local mirror ([`mirror`]), and a
//! dropped source may come back on any replica within the grace period.

pub mod audience;
pub mod channel;
pub mod config;
pub mod error;
pub mod events;
pub mod icecast;
pub mod ingest;
pub mod lifecycle;
pub mod listen;
pub mod live;
pub mod metrics;
pub mod mirror;
pub mod ownership;
pub mod playback;
pub mod preface;
pub mod range;
pub mod recording;
pub mod recording_deletion;
pub mod registry;
pub mod replication;
pub mod response;
pub mod rewind;
pub mod routes;
pub mod server;
pub mod shard;
pub mod source;
pub mod stats;
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
    audience::Audience, channel::Limits, live::Live, registry::Registry, replication::Replicas,
    server::Port, upstream::Upstream,
};

/// After shutdown is requested, how long connections may take to finish before they are cut.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    pub registry: Registry<Live>,
    pub audience: Audience,
    pub replicas: Replicas,
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
        let redis = service_kit::redis::pool(&config.redis_url)?;
        let replica = audience::replica_name();
        let replicas = Replicas::new(
            &config.redis_url,
            redis.clone(),
            &config.redis_prefix,
            replica.clone(),
            config.burst_bytes,
        )?;
        Ok(Self {
            config: config.clone(),
            registry: Registry::default(),
            audience: Audience::new(redis, &config.redis_prefix, replica),
            replicas,
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
    serve::cap_send_buffer(&http, config.socket_send_buffer)?;
    let state = Arc::new(AppState::new(&config, shutdown.clone())?);
    metrics::register();
    tokio::spawn(recording_deletion::consume(state.clone()));
    tracing::info!(http = %http.local_addr()?, source = %source.local_addr()?, "listening");
    state.readiness.mark_started();

    let serving = async {
        tokio::join!(
            server::accept(http, state.clone(), Port::Http),
            server::accept(source, state.clone(), Port::Source)
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
