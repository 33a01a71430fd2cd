//! The broadcasts-archive service: the schedule, the live lifecycle and the archive of broadcasts.
//! gRPC (tonic) plus `/healthz` and `/readyz` on one port, and a consumer of `stream.ended`.

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod repo;

use livestreamer_proto::broadcasts::broadcasts_server::BroadcastsServer;
use service_kit::{
    amqp::{self, ConsumerState, EventBus},
    health::{self, Readiness},
    internal_token::TokenVerifier,
    postgres::{self, Migration},
    serve,
    shutdown::Shutdown,
};
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: &[Migration] = &[(
    "0001_broadcasts",
    include_str!("../../../migrations/broadcasts/0001_broadcasts.sql"),
)];

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = serve::bind(&config.listen).await?;
    serve_on(listener, config, shutdown).await
}

pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let pool = postgres::pool(&config.database_url)?;
    let verifier = TokenVerifier::from_auth(&config.auth_url);
    let consumer = ConsumerState::default();
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

    let bus = EventBus::new(config.amqp_url, config.amqp_exchange);
    let events_pool = pool.clone();
    tokio::spawn(amqp::consume(
        bus,
        events::queue(),
        consumer,
        shutdown.clone(),
        move |delivery| {
            let pool = events_pool.clone();
            async move { events::handle(&pool, delivery).await }
        },
    ));

    let service = grpc::BroadcastsService { pool, verifier };
    let routes = tonic::service::Routes::new(BroadcastsServer::new(service));
    let router = serve::grpc_router(routes).merge(health::router(readiness));
    serve::serve(listener, router, shutdown).await
}
