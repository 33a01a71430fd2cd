//! The auth service started for real on port 0, against the test stack's PostgreSQL, Redis and
//! RabbitMQ, with a fresh database, key prefix and exchange per test; spoken to over gRPC like the
//! gateway and the relay speak to it.

#![allow(dead_code)] // each test file uses its own part of this

use base64::{Engine, engine::general_purpose::STANDARD};
use livestreamer_proto::{
    auth::{
        ConfirmEmailRequest, ResolveSessionRequest, SignInRequest, SignUpRequest,
        auth_client::AuthClient,
    },
    events::MailJob,
};
use prost::Message;
use service_kit::{internal_token, shutdown::Shutdown};
use test_support::EventTap;
use tokio_postgres::NoTls;
use tonic::transport::Channel;

/// The seed of the key that signs internal tokens in tests, so a test can sign an expired one.
pub const SIGNING_SEED: [u8; 32] = [7; 32];
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub client: AuthClient<Channel>,
    pub mail: EventTap,
    pub database_url: String,
    _shutdown: DropGuard,
}

struct DropGuard(Shutdown);
impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts auth with the test configuration, changed by `adjust` first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut auth::Config)) -> TestApp {
    let name = test_support::unique_name();
    let database_url = test_support::fresh_database().await;
    let mut config = auth::Config {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.clone().into(),
        redis_url: test_support::redis_url().into(),
        redis_prefix: format!("{name}:"),
        amqp_url: test_support::amqp_url().into(),
        amqp_exchange: name.clone(),
        public_url: "http://localhost:8080".into(),
        signing_key: Some(STANDARD.encode(SIGNING_SEED).into()),
        session_ttl_secs: 3600,
        superadmin: None,
    };
    adjust(&mut config);
    let mail = EventTap::bind(&name, "mail.send").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    tokio::spawn(auth::serve_on(listener, config, shutdown.clone()));
    test_support::wait_until_ready(addr).await;
    let client = AuthClient::connect(format!("http://{addr}"))
        .await
        .unwrap()
        .max_decoding_message_size(8 * 1024 * 1024)
        .max_encoding_message_size(8 * 1024 * 1024);
    TestApp {
        client,
        mail,
        database_url,
        _shutdown: DropGuard(shutdown),
    }
}

pub fn sign_up(username: &str) -> SignUpRequest {
    SignUpRequest {
        username: username.into(),
        email: format!("{username}@example.com"),
        password: PASSWORD.into(),
        display_name: None,
    }
}

pub fn login(login: &str, password: &str) -> SignInRequest {
    SignInRequest {
        login: login.into(),
        password: password.into(),
        previous_session_id: None,
    }
}

/// The token of a mail's link (`...?token=T`).
pub fn link_token(mail: &MailJob) -> String {
    mail.link.split("token=").nth(1).unwrap().to_owned()
}

/// A request carrying an internal token, as the gateway sends it.
pub fn with_token<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    internal_token::attach(&mut request, token);
    request
}

impl TestApp {
    pub async fn next_mail(&mut self) -> MailJob {
        let (key, payload) = self.mail.next().await;
        assert_eq!(key, "mail.send");
        MailJob::decode(payload.as_slice()).unwrap()
    }

    /// Signs up and confirms (consuming both mails); returns the confirmation token used.
    pub async fn confirmed_user(&mut self, username: &str) -> String {
        self.client.sign_up(sign_up(username)).await.unwrap();
        let token = link_token(&self.next_mail().await);
        self.client
            .confirm_email(ConfirmEmailRequest {
                token: token.clone(),
            })
            .await
            .unwrap();
        self.next_mail().await;
        token
    }

    /// Signs in with the test password; returns the session id.
    pub async fn session(&mut self, username: &str) -> String {
        self.client
            .sign_in(login(username, PASSWORD))
            .await
            .unwrap()
            .into_inner()
            .session_id
    }

    /// The internal token of a session, as the gateway obtains it.
    pub async fn token(&mut self, session_id: &str) -> Result<String, tonic::Status> {
        let resolved = self
            .client
            .resolve_session(ResolveSessionRequest {
                session_id: session_id.to_owned(),
            })
            .await?;
        Ok(resolved.into_inner().internal_token)
    }

    /// A confirmed, signed-in user's internal token.
    pub async fn signed_in(&mut self, username: &str) -> String {
        self.confirmed_user(username).await;
        let session = self.session(username).await;
        self.token(&session).await.unwrap()
    }

    /// Runs SQL on the test's database (to age a token, say).
    pub async fn sql(&self, statement: &str) {
        let (client, connection) = tokio_postgres::connect(&self.database_url, NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.batch_execute(statement).await.unwrap();
    }
}
