//! The gateway: the browser's REST API and WebSocket hub. It resolves the session cookie through
//! auth, turns HTTP into gRPC calls to the services, and fans the event exchange out to the rooms of
//! its WebSocket clients.

pub mod client_ip;
pub mod config;
pub mod csrf;
pub mod error;
pub mod json;
pub mod rate_limit;
pub mod routes;
pub mod session;
pub mod views;
pub mod ws;

use std::sync::Arc;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{StatusCode, Uri},
    middleware,
    routing::get,
};
use livestreamer_proto::{
    auth::auth_client::AuthClient, broadcasts::broadcasts_client::BroadcastsClient,
    chat::chat_client::ChatClient,
};
use service_kit::grpc_client::TracedChannel;
use service_kit::{
    amqp::{self, ConsumerState, EventBus, EventPublisher},
    health::{self, Readiness},
    serve,
    shutdown::Shutdown,
};
use tokio::net::TcpListener;
use tonic::transport::Endpoint;

pub use config::Config;
use error::ApiError;

/// JSON bodies above this are refused with 413.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub auth: AuthClient<TracedChannel>,
    pub broadcasts: BroadcastsClient<TracedChannel>,
    pub chat: ChatClient<TracedChannel>,
    pub hub: Arc<ws::hub::Hub>,
    /// Shared by every gateway replica: rate limits, presence.
    pub redis: deadpool_redis::Pool,
    pub presence: Arc<ws::presence::Presence>,
    pub shutdown: Shutdown,
}

fn channel(url: &str) -> anyhow::Result<TracedChannel> {
    Ok(TracedChannel::lazy(
        Endpoint::from_shared(url.to_owned())?.connect_timeout(std::time::Duration::from_secs(3)),
    ))
}

impl AppState {
    pub fn new(
        config: Config,
        publisher: EventPublisher,
        shutdown: Shutdown,
    ) -> anyhow::Result<Self> {
        let redis = service_kit::redis::pool(&config.redis_url)?;
        Ok(Self {
            auth: AuthClient::new(channel(&config.auth_url)?),
            broadcasts: BroadcastsClient::new(channel(&config.broadcasts_url)?),
            chat: ChatClient::new(channel(&config.chat_url)?),
            hub: Arc::new(ws::hub::Hub::new()),
            presence: Arc::new(ws::presence::Presence::new(
                redis.clone(),
                &config.redis_prefix,
                publisher,
                std::time::Duration::from_secs(config.presence_expiry_secs.max(1)),
            )),
            redis,
            config: Arc::new(config),
            shutdown,
        })
    }
}

/// The whole HTTP surface: `/api/v1/*`, `/ws/{id}`, and the JSON envelope for everything else.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v1", routes::api())
        .route("/ws/{id}", get(ws::upgrade))
        .fallback(|uri: Uri| async move {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("There is no route {}", uri.path()),
            )
        })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::check_origin,
        ))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .with_state(state)
}

pub async fn run(config: Config, shutdown: Shutdown) -> anyhow::Result<()> {
    let listener = serve::bind(&config.listen).await?;
    serve_on(listener, config, shutdown).await
}

pub async fn serve_on(
    listener: TcpListener,
    config: Config,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    serve::cap_send_buffer(&listener, config.socket_send_buffer)?;
    let bus = EventBus::new(config.amqp_url.clone(), config.amqp_exchange.clone());
    let publisher = EventPublisher::new(bus.clone());
    let state = AppState::new(config, publisher.clone(), shutdown.clone())?;
    let consumer = ConsumerState::default();
    let readiness = Readiness::new()
        .consumer("rabbitmq", consumer.clone())
        .rabbitmq(publisher)
        .redis(state.redis.clone());
    readiness.mark_started();

    let hub = state.hub.clone();
    let presence = state.presence.clone();
    tokio::spawn(amqp::consume(
        bus,
        ws::events::queue(),
        consumer,
        shutdown.clone(),
        move |delivery| {
            let (hub, presence) = (hub.clone(), presence.clone());
            async move { ws::events::handle(&hub, &presence, &delivery).await }
        },
    ));

    tokio::spawn(
        state
            .presence
            .clone()
            .keep_fresh(state.hub.clone(), shutdown.clone()),
    );
    tokio::spawn(
        state
            .presence
            .clone()
            .keep_delivering(state.hub.clone(), shutdown.clone()),
    );

    tokio::spawn(state.hub.clone().keep_pinging(shutdown.clone()));

    let hub = state.hub.clone();
    let app = health::router(readiness).merge(router(state));
    serve::serve_with_peer_addrs(listener, app, shutdown).await?;
    // Upgraded sockets outlive the HTTP server: give them a moment to send their 1001 close frames
    // and leave their rooms, so clients reconnect elsewhere at once.
    let deadline = tokio::time::Instant::now() + SOCKET_DRAIN;
    while hub.socket_count() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

/// How long closing WebSockets may take after shutdown is requested.
const SOCKET_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);
