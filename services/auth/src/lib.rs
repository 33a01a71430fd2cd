//! The auth service: users, sessions, confirmation tokens, and the internal tokens every other
//! service trusts. gRPC (tonic) plus `/healthz` and `/readyz` on one port.

pub mod config;
pub mod domain;
pub mod error;
pub mod grpc;
pub mod mail;
pub mod passwords;
pub mod pictures;
pub mod repo;
pub mod secrets;
pub mod sessions;
pub mod signer;
pub mod superadmin;

use std::sync::Arc;

use livestreamer_proto::auth::auth_server::AuthServer;
use secrecy::ExposeSecret;
use service_kit::{
    amqp::{EventBus, EventPublisher},
    backoff::retry_until_ok,
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
    (
        "0003_profile_pictures",
        include_str!("../../../migrations/auth/0003_profile_pictures.sql"),
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
    prepare_then_mark_started(pool, config.superadmin, readiness.clone(), shutdown.clone());

    let server =
        AuthServer::new(service).max_decoding_message_size(pictures::MAX_UPLOAD_BYTES + 64 * 1024);
    let routes = tonic::service::Routes::new(server);
    let router = serve::grpc_router(routes).merge(health::router(readiness));
    serve::serve(listener, router, shutdown).await
}

/// Applies the migrations and creates the superadmin as soon as PostgreSQL answers (retrying with
/// backoff), then reports ready.
fn prepare_then_mark_started(
    pool: deadpool_postgres::Pool,
    superadmin: Option<superadmin::Superadmin>,
    readiness: Readiness,
    shutdown: Shutdown,
) {
    tokio::spawn(async move {
        let prepared = retry_until_ok("preparing the auth schema", &shutdown, || async {
            postgres::migrate(&pool, "auth", MIGRATIONS).await?;
            if let Some(admin) = &superadmin {
                admin.ensure(&pool).await?;
            }
            anyhow::Ok(())
        })
        .await;
        if prepared.is_some() {
            readiness.mark_started();
        }
    });
}
