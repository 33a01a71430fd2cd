//! The chat service: the messages of each broadcast's room. gRPC (tonic) plus `/healthz` and
//! `/readyz` on one port; every new message is published on the event exchange for the gateways'
//! WebSocket hubs.

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod repo;

use livestreamer_proto::{
    broadcasts::broadcasts_client::BroadcastsClient, chat::chat_server::ChatServer,
};
use service_kit::{
    amqp::{EventBus, EventPublisher},
    health::{self, Readiness},
    internal_token::TokenVerifier,
    postgres::{self, Migration},
    serve,
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
    let publisher = EventPublisher::new(EventBus::new(config.amqp_url, config.amqp_exchange));
    let broadcasts = BroadcastsClient::new(
        tonic::transport::Endpoint::from_shared(config.broadcasts_url)?.connect_lazy(),
    );
    let readiness = Readiness::new()
        .postgres(pool.clone())
        .rabbitmq(publisher.clone())
        .auth_key(verifier.clone());
    postgres::migrate_then_mark_started(
        pool.clone(),
        "chat",
        MIGRATIONS,
        readiness.clone(),
        shutdown.clone(),
    );

    let service = grpc::ChatService {
        pool,
        verifier,
        broadcasts,
        publisher,
    };
    let routes = tonic::service::Routes::new(ChatServer::new(service));
    let router = serve::grpc_router(routes).merge(health::router(readiness));
    serve::serve(listener, router, shutdown).await
}
