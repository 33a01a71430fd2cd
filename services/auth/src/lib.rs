//! The auth service: users, sessions, confirmation tokens, and the internal tokens every other
//! service trusts. gRPC (tonic) plus `/healthz` and `/readyz` on one port.

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod mail;
pub mod passwords;
pub mod repo;
pub mod secrets;
pub mod sessions;
pub mod signer;

use std::sync::Arc;

use livestreamer_proto::auth::auth_server::AuthServer;
use secrecy::ExposeSecret;
use service_kit::{
    amqp::{EventBus, EventPublisher},
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
        "0001_accounts",
        include_str!("../../../migrations/auth/0001_accounts.sql"),
    ),
    (
        "0002_stream_keys",
        include_str!("../../../migrations/auth/0002_stream_keys.sql"),
    ),
];

/// Runs the service on `config.listen` until shutdown.
pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = serve::bind(&config.listen).await?;
    serve_on(listener, config, shutdown).await
}

/// Runs the service on an already bound listener (tests bind port 0).
pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let pool = postgres::pool(config.database_url.expose_secret())?;
    let redis = redis::pool(config.redis_url.expose_secret())?;
    let publisher = EventPublisher::new(EventBus::new(
        config.amqp_url.expose_secret(),
        config.amqp_exchange.clone(),
    ));
    let signer = Arc::new(signer::TokenSigner::new(config.signing_key.as_ref())?);
    let service = grpc::AuthService {
        pool: pool.clone(),
        sessions: sessions::SessionStore::new(
            redis.clone(),
            config.redis_prefix.clone(),
            config.session_ttl_secs,
        ),
        mail: mail::MailJobs::new(publisher.clone(), config.public_url.clone()),
        verifier: TokenVerifier::with_public_key(&signer.public_key()),
        signer,
    };
    let readiness = Readiness::new()
        .postgres(pool.clone())
        .redis(redis)
        .rabbitmq(publisher);
    postgres::migrate_then_mark_started(
        pool,
        "auth",
        MIGRATIONS,
        readiness.clone(),
        shutdown.clone(),
    );

    let routes = tonic::service::Routes::new(AuthServer::new(service));
    let router = serve::grpc_router(routes).merge(health::router(readiness));
    serve::serve(listener, router, shutdown).await
}
