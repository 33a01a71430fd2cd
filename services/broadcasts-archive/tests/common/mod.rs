//! broadcasts-archive started for real on port 0, against the it/test stack's PostgreSQL, Redis and
//! RabbitMQ (a fresh database, Redis prefix and exchange per test), spoken to over gRPC with internal
//! tokens that the test signs itself with a key whose public half the service was given.

#![allow(dead_code)]

use std::{collections::BTreeMap, future::Future, time::Duration};

use broadcasts_archive::Config;
use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use livestreamer_proto::broadcasts::{
    Broadcast, BroadcastPage, CreateBroadcastRequest, ListBroadcastsRequest, TimeGroup,
    broadcasts_client::BroadcastsClient,
};
use service_kit::{
    amqp::{EventBus, EventPublisher},
    internal_token::{Claims, TokenVerifier},
    shutdown::Shutdown,
};
use tonic::{Request, transport::Channel};

pub const HOUR_MS: i64 = 3_600_000;

pub struct TestApp {
    pub client: BroadcastsClient<Channel>,
    pub exchange: String,
    pub redis_prefix: String,
    pub database_url: String,
    pub events: EventPublisher,
    key: EncodingKey,
    _shutdown: DropGuard,
}

struct DropGuard(Shutdown);
impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

pub fn now_ms() -> i64 {
    service_kit::clock::now_ms()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the service with the test's settings, changed by `adjust` (a short heartbeat expiry, an
/// unreachable Redis...).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let name = test_support::unique_name();
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        database_url: test_support::fresh_database().await,
        redis_url: test_support::redis_url(),
        redis_prefix: format!("{name}:"),
        amqp_url: test_support::amqp_url(),
        amqp_exchange: name.clone(),
        auth_url: "http://127.0.0.1:1".into(),
        live_ttl_secs: 15,
    };
    adjust(&mut config);
    let signing = SigningKey::from_bytes(&[7u8; 32]);
    let der = signing.to_pkcs8_der().expect("a PKCS#8 key");
    let verifier = TokenVerifier::with_public_key(signing.verifying_key().as_bytes());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let app_config = config.clone();
    tokio::spawn(broadcasts_archive::serve_with(
        listener,
        app_config,
        verifier,
        shutdown.clone(),
    ));
    test_support::wait_until_ready(addr).await;
    let client = BroadcastsClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .max_decoding_message_size(16 << 20)
        .max_encoding_message_size(64 << 20);
    TestApp {
        client,
        events: EventPublisher::new(EventBus::new(config.amqp_url.clone(), name.clone())),
        exchange: name,
        redis_prefix: config.redis_prefix,
        database_url: config.database_url,
        key: EncodingKey::from_ed_der(der.as_bytes()),
        _shutdown: DropGuard(shutdown),
    }
}

/// A streamer, as auth would describe them in a token.
#[derive(Clone)]
pub struct User {
    pub user_id: i64,
    pub username: String,
}

pub fn user(user_id: i64) -> User {
    User {
        user_id,
        username: format!("dj{user_id}"),
    }
}

fn streamer_permissions() -> BTreeMap<String, Vec<String>> {
    let crud = || {
        vec![
            "create".into(),
            "read".into(),
            "update".into(),
            "delete".into(),
        ]
    };
    BTreeMap::from([
        ("own_broadcast".into(), crud()),
        ("own_audio_stream".into(), crud()),
        ("stream_like".into(), vec!["create".into()]),
    ])
}

impl TestApp {
    /// `message` as `user` sends it: with an internal token in the metadata.
    pub fn as_user<T>(&self, user: &User, message: T) -> Request<T> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = Claims::new(
            user.user_id,
            user.username.clone(),
            "streamer".into(),
            streamer_permissions(),
            now,
        );
        let token = jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.key)
            .expect("sign a token");
        let mut request = Request::new(message);
        service_kit::internal_token::attach(&mut request, &token);
        request
    }

    /// Schedules a broadcast of `user` from `from_ms` to `to_ms` (relative to now).
    pub async fn schedule(&self, user: &User, title: &str, from_ms: i64, to_ms: i64) -> Broadcast {
        let now = now_ms();
        let request = CreateBroadcastRequest {
            title: title.into(),
            description: String::new(),
            start_at_ms: now + from_ms,
            end_at_ms: now + to_ms,
            artwork: None,
        };
        self.client
            .clone()
            .create_broadcast(self.as_user(user, request))
            .await
            .expect("schedule a broadcast")
            .into_inner()
    }

    /// One page of the public listing of `time`.
    pub async fn list(
        &self,
        time: TimeGroup,
        limit: u32,
        cursor: &str,
    ) -> Result<BroadcastPage, tonic::Status> {
        let request = ListBroadcastsRequest {
            time: time as i32,
            limit,
            cursor: cursor.into(),
        };
        let page = self.client.clone().list_broadcasts(request).await?;
        Ok(page.into_inner())
    }

    pub async fn sql(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        client
    }

    pub async fn publish(&self, routing_key: &str, message: &impl prost::Message) {
        self.events
            .publish(routing_key, message)
            .await
            .expect("publish an event");
    }
}

/// Polls `check` until it gives `Some`, for up to 15 s.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..150 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 15 s");
}
