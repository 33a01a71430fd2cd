//! The broadcasts-archive service: the schedule, the live lifecycle, likes and the archive of
//! broadcasts. gRPC (tonic) plus `/healthz` and `/readyz` on one port; a consumer of the relay's
//! stream events; a reaper that ends broadcasts whose relay stopped sending heartbeats.
//!
//! PostgreSQL holds what must last (the schedule, saved figures, artwork); Redis holds what changes
//! every second while live (heartbeats, listeners, likes, cooldowns) and the listings cache's
//! version, bumped by every write here and read by the gateway, which caches the public listings.

pub mod artwork;
pub mod config;
pub mod cursor;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod lifecycle;
pub mod listings;
pub mod live;
pub mod repo;
pub mod schedule;
pub mod streams;

use std::time::Duration;

use livestreamer_proto::broadcasts::broadcasts_server::BroadcastsServer;
use service_kit::{
    amqp::{self, ConsumerState, EventBus, EventPublisher},
    cache::{VersionedCache, namespaces},
    health::{self, Readiness},
    internal_token::TokenVerifier,
    postgres::{self, Migration},
    redis, serve,
    shutdown::Shutdown,
};
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: &[Migration] = &[
    (
        "0001_broadcasts",
        include_str!("../../../migrations/broadcasts/0001_broadcasts.sql"),
    ),
    (
        "0002_archive",
        include_str!("../../../migrations/broadcasts/0002_archive.sql"),
    ),
];

/// gRPC messages up to this size are accepted: artwork travels in them (10 MB at most).
const MAX_MESSAGE_BYTES: usize = artwork::MAX_UPLOAD_BYTES + 64 * 1024;

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = serve::bind(&config.listen).await?;
    serve_on(listener, config, shutdown).await
}

pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let verifier = TokenVerifier::from_auth(&config.auth_url);
    serve_with(listener, config, verifier, shutdown).await
}

/// `serve_on` with a given token verifier (tests verify tokens they signed themselves).
pub async fn serve_with(
    listener: TcpListener,
    config: Config,
    verifier: TokenVerifier,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let pool = postgres::pool(&config.database_url)?;
    let redis = redis::pool(&config.redis_url)?;
    let bus = EventBus::new(config.amqp_url.clone(), config.amqp_exchange.clone());
    let publisher = EventPublisher::new(bus.clone());
    let consumer = ConsumerState::default();
    // Redis is not a readiness check: without it, listings still answer (likes answer 503).
    let readiness = Readiness::new()
        .postgres(pool.clone())
        .consumer("rabbitmq", consumer.clone())
        .auth_key(verifier.clone());
    postgres::migrate_then_mark_started(
        pool.clone(),
        "broadcasts",
        MIGRATIONS,
        readiness.clone(),
        shutdown.clone(),
    );

    let service = grpc::BroadcastsService {
        live: live::LiveState::new(redis.clone(), &config.redis_prefix, config.live_ttl_secs),
        cache: VersionedCache::new(redis, &config.redis_prefix, namespaces::BROADCAST_LISTINGS),
        pool,
        verifier,
        publisher,
    };
    let events_service = service.clone();
    tokio::spawn(amqp::consume(
        bus,
        events::queue(&config.amqp_exchange),
        consumer,
        shutdown.clone(),
        move |delivery| {
            let service = events_service.clone();
            async move { events::handle(&service, delivery).await }
        },
    ));
    let reaper_period = Duration::from_millis((config.live_ttl_secs.max(1) * 1000 / 3).max(200));
    tokio::spawn(lifecycle::reap(
        service.pool.clone(),
        service.live.clone(),
        service.cache.clone(),
        reaper_period,
        shutdown.clone(),
    ));

    let server = BroadcastsServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES);
    let routes = tonic::service::Routes::new(server);
    let router = serve::grpc_router(routes).merge(health::router(readiness));
    serve::serve(listener, router, shutdown).await
}
