//! Starts auth, broadcasts-archive and chat for real, in-process on port 0, wired to each other and
//! to the test stack's PostgreSQL (one fresh database), Redis (a unique key prefix) and RabbitMQ (a
//! unique exchange): the services a gateway or a chat test needs behind it, without mocks.

use std::net::SocketAddr;

use livestreamer_proto::{
    auth::{
        ConfirmEmailRequest, ResolveSessionRequest, SignInRequest, SignUpRequest,
        auth_client::AuthClient,
    },
    broadcasts::{CreateBroadcastRequest, broadcasts_client::BroadcastsClient},
    chat::chat_client::ChatClient,
    events::{MailJob, routing},
};
use prost::Message;
use service_kit::{clock::now_ms, internal_token, shutdown::Shutdown};
use test_support::EventTap;
pub use test_support::wait_until_ready;
use tonic::{Request, transport::Channel};

/// The three services, and clients to them; everything stops when this is dropped.
pub struct Services {
    pub auth_addr: SocketAddr,
    pub broadcasts_addr: SocketAddr,
    pub chat_addr: SocketAddr,
    pub auth: AuthClient<Channel>,
    pub broadcasts: BroadcastsClient<Channel>,
    pub chat: ChatClient<Channel>,
    /// The broker, exchange, Redis prefix and database of this test, for other services joining it.
    pub amqp_url: String,
    pub exchange: String,
    pub redis_prefix: String,
    pub database_url: String,
    mail: EventTap,
    shutdown: Shutdown,
}

/// A signed-in user: the browser's session id and an internal token for direct gRPC calls.
pub struct User {
    pub session_id: String,
    pub token: String,
}

impl Drop for Services {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

async fn listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("a bound address");
    (listener, addr)
}

/// A gRPC request carrying an internal token.
pub fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    internal_token::attach(&mut request, token);
    request
}

impl Services {
    /// Starts the three services; chat admits `chat_rate_limit` messages per 2 s per user.
    pub async fn start(chat_rate_limit: u32) -> Self {
        Self::start_on_broker(chat_rate_limit, test_support::amqp_url()).await
    }

    /// The same, with every service on the RabbitMQ at `amqp_url` instead of the test stack's (a
    /// `test_support::rabbitmq::PrivateBroker` that the test restarts, say).
    pub async fn start_on_broker(chat_rate_limit: u32, amqp_url: String) -> Self {
        let name = test_support::unique_name();
        let database_url = test_support::fresh_database().await;
        let redis_prefix = format!("{name}:");
        let mail = EventTap::bind_on(&amqp_url, &name, routing::MAIL_SEND).await;
        let shutdown = Shutdown::new();
        let (auth_listener, auth_addr) = listener().await;
        let (broadcasts_listener, broadcasts_addr) = listener().await;
        let (chat_listener, chat_addr) = listener().await;

        let mut auth = auth::Config::from_env().expect("auth's configuration");
        auth.database_url = database_url.clone().into();
        auth.redis_prefix = redis_prefix.clone();
        auth.amqp_url = amqp_url.clone().into();
        auth.amqp_exchange = name.clone();
        tokio::spawn(auth::serve_on(auth_listener, auth, shutdown.clone()));

        let mut broadcasts =
            broadcasts_archive::Config::from_env().expect("broadcasts' configuration");
        broadcasts.database_url = database_url.clone();
        broadcasts.redis_prefix = redis_prefix.clone();
        broadcasts.amqp_url = amqp_url.clone();
        broadcasts.amqp_exchange = name.clone();
        broadcasts.auth_url = format!("http://{auth_addr}");
        tokio::spawn(broadcasts_archive::serve_on(
            broadcasts_listener,
            broadcasts,
            shutdown.clone(),
        ));

        let mut chat = chat::Config::from_env().expect("chat's configuration");
        chat.database_url = database_url.clone();
        chat.redis_prefix = redis_prefix.clone();
        chat.amqp_url = amqp_url.clone();
        chat.amqp_exchange = name.clone();
        chat.auth_url = format!("http://{auth_addr}");
        chat.broadcasts_url = format!("http://{broadcasts_addr}");
        chat.rate_limit = chat_rate_limit;
        tokio::spawn(chat::serve_on(chat_listener, chat, shutdown.clone()));

        for addr in [auth_addr, broadcasts_addr, chat_addr] {
            wait_until_ready(addr).await;
        }
        let connect = |addr: SocketAddr| format!("http://{addr}");
        Self {
            auth: AuthClient::connect(connect(auth_addr))
                .await
                .expect("auth answers"),
            broadcasts: BroadcastsClient::connect(connect(broadcasts_addr))
                .await
                .expect("broadcasts answer"),
            chat: ChatClient::connect(connect(chat_addr))
                .await
                .expect("chat answers"),
            auth_addr,
            broadcasts_addr,
            chat_addr,
            amqp_url,
            exchange: name,
            redis_prefix,
            database_url,
            mail,
            shutdown,
        }
    }

    /// Signs a user up, confirms them through the mail job, and signs in.
    pub async fn user(&mut self, username: &str) -> User {
        let password = "correct horse battery".to_owned();
        let sign_up = SignUpRequest {
            username: username.into(),
            email: format!("{username}@example.com"),
            password: password.clone(),
            display_name: None,
        };
        self.auth.sign_up(sign_up).await.expect("sign-up");
        let (_, payload) = self.mail.next().await;
        let link = MailJob::decode(payload.as_slice())
            .expect("a mail job")
            .link;
        let token = link
            .split("token=")
            .nth(1)
            .expect("a token in the link")
            .to_owned();
        self.auth
            .confirm_email(ConfirmEmailRequest { token })
            .await
            .expect("confirmation");
        self.mail.next().await; // the welcome mail
        let login = SignInRequest {
            login: username.into(),
            password,
            previous_session_id: None,
        };
        let session_id = self
            .auth
            .sign_in(login)
            .await
            .expect("sign-in")
            .into_inner()
            .session_id;
        let resolved = self.auth.resolve_session(ResolveSessionRequest {
            session_id: session_id.clone(),
        });
        let token = resolved
            .await
            .expect("a session")
            .into_inner()
            .internal_token;
        User { session_id, token }
    }

    /// Schedules an hour-long broadcast starting now for the token's user; returns its id.
    pub async fn broadcast(&mut self, token: &str) -> i64 {
        let request = CreateBroadcastRequest {
            title: "Harness session".into(),
            start_at_ms: now_ms(),
            end_at_ms: now_ms() + 3_600_000,
            ..Default::default()
        };
        let created = self
            .broadcasts
            .create_broadcast(with_token(token, request))
            .await
            .expect("a broadcast");
        created.into_inner().broadcast_id
    }
}
