//! The chat service: the messages of each broadcast's room. gRPC (tonic) plus `/healthz` and
//! `/readyz` on one port; every new message is published on the event exchange for the gateways'
//! WebSocket hubs.

pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod grpc;
pub mod repo;

use livestreamer_proto::{
    broadcasts::broadcasts_client::BroadcastsClient, chat::chat_server::ChatServer,
};
use std::time::Duration;

use service_kit::{
    amqp::{self, ConsumerState, EventBus, EventPublisher},
    grpc_client::TracedChannel,
    health::{self, Readiness},
    internal_token::TokenVerifier,
    postgres::{self, Migration},
    rate_limit::SlidingWindow,
    redis, serve,
    shutdown::Shutdown,
};
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: &[Migration] = &[(
    "0001_messages",
    include_str!("../../../migrations/chat/0001_messages.sql"),
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
    let redis = redis::pool(&config.redis_url)?;
    let exchange = config.amqp_exchange.clone();
    let bus = EventBus::new(config.amqp_url, config.amqp_exchange);
    let publisher = EventPublisher::new(bus.clone());
    let rate_limit = SlidingWindow::new(
        redis.clone(),
        format!("{}chat-rate:", config.redis_prefix),
        config.rate_limit,
        Duration::from_millis(config.rate_window_ms),
    );
    let broadcasts = BroadcastsClient::new(TracedChannel::lazy(
        tonic::transport::Endpoint::from_shared(config.broadcasts_url)?,
    ));
    let consumer = ConsumerState::default();
    let readiness = Readiness::new()
        .postgres(pool.clone())
        .redis(redis)
        .rabbitmq(publisher.clone())
        .consumer("broadcast-events", consumer.clone())
        .auth_key(verifier.clone());
    postgres::migrate_then_mark_started(
        pool.clone(),
        "chat",
        MIGRATIONS,
        readiness.clone(),
        shutdown.clone(),
    );

    let events_pool = pool.clone();
    tokio::spawn(amqp::consume(
        bus,
        events::queue(&exchange),
        consumer,
        shutdown.clone(),
        move |delivery| {
            let pool = events_pool.clone();
            async move { events::handle(&pool, delivery).await }
        },
    ));

    let service = grpc::ChatService {
        pool,
        verifier,
        broadcasts,
        publisher,
        rate_limit,
    };
    let routes = tonic::service::Routes::new(ChatServer::new(service));
    let router = serve::grpc_router(routes).merge(health::router(readiness));
    serve::serve(listener, router, shutdown).await
}
