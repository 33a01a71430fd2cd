//! The auth service started for real on port 0, against the test stack's PostgreSQL, Redis and
//! RabbitMQ, with a fresh database, key prefix and exchange per test; spoken to over gRPC.

use std::time::Duration;

use livestreamer_proto::{
    auth::{
        ConfirmEmailRequest, GetMeRequest, ResolveSessionRequest, SignInRequest, SignOutRequest,
        SignUpRequest, auth_client::AuthClient,
    },
    events::{MailJob, MailKind},
};
use prost::Message;
use service_kit::{internal_token, shutdown::Shutdown};
use test_support::EventTap;
use tonic::{Code, transport::Channel};

struct TestApp {
    client: AuthClient<Channel>,
    mail: EventTap,
    _shutdown: DropGuard,
}

struct DropGuard(Shutdown);
impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.trigger();
    }
}

async fn spawn_app() -> TestApp {
    let name = test_support::unique_name();
    let config = auth::Config {
        listen: "127.0.0.1:0".into(),
        database_url: test_support::fresh_database().await.into(),
        redis_url: test_support::redis_url().into(),
        redis_prefix: format!("{name}:"),
        amqp_url: test_support::amqp_url().into(),
        amqp_exchange: name.clone(),
        public_url: "http://localhost:8080".into(),
        signing_key: None,
        session_ttl_secs: 3600,
    };
    let mail = EventTap::bind(&name, "mail.send").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    tokio::spawn(auth::serve_on(listener, config, shutdown.clone()));
    wait_until_ready(addr).await;
    let client = AuthClient::connect(format!("http://{addr}")).await.unwrap();
    TestApp {
        client,
        mail,
        _shutdown: DropGuard(shutdown),
    }
}

async fn wait_until_ready(addr: std::net::SocketAddr) {
    for _ in 0..100 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = stream
                .write_all(b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .await;
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            if response.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("auth did not become ready within 10 s");
}

fn sign_up(username: &str) -> SignUpRequest {
    SignUpRequest {
        username: username.into(),
        email: format!("{username}@example.com"),
        password: "correct horse battery".into(),
        display_name: None,
    }
}

impl TestApp {
    async fn next_mail(&mut self) -> MailJob {
        let (key, payload) = self.mail.next().await;
        assert_eq!(key, "mail.send");
        MailJob::decode(payload.as_slice()).unwrap()
    }

    /// Signs up and confirms; returns the confirmation token used.
    async fn confirmed_user(&mut self, username: &str) -> String {
        self.client.sign_up(sign_up(username)).await.unwrap();
        let mail = self.next_mail().await;
        let token = mail.link.split("token=").nth(1).unwrap().to_owned();
        self.client
            .confirm_email(ConfirmEmailRequest {
                token: token.clone(),
            })
            .await
            .unwrap();
        token
    }
}

#[tokio::test]
async fn sign_up_sends_a_confirmation_link_that_works_once() {
    let mut app = spawn_app().await;
    app.client.sign_up(sign_up("night.owl")).await.unwrap();
    let mail = app.next_mail().await;
    assert_eq!(mail.kind(), MailKind::ConfirmEmail);
    assert_eq!(mail.to, "night.owl@example.com");
    assert!(
        mail.link.starts_with("http://localhost:8080/verify?token="),
        "{}",
        mail.link
    );

    let login = SignInRequest {
        login: "night.owl".into(),
        password: "correct horse battery".into(),
        previous_session_id: None,
    };
    let early = app.client.sign_in(login.clone()).await.unwrap_err();
    assert_eq!(early.code(), Code::PermissionDenied);
    assert!(early.message().contains("confirmation mail"));

    let token = mail.link.split("token=").nth(1).unwrap().to_owned();
    app.client
        .confirm_email(ConfirmEmailRequest {
            token: token.clone(),
        })
        .await
        .unwrap();
    assert_eq!(app.next_mail().await.kind(), MailKind::EmailConfirmed);
    let again = app
        .client
        .confirm_email(ConfirmEmailRequest { token })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);

    let signed_in = app.client.sign_in(login).await.unwrap().into_inner();
    assert_eq!(signed_in.user.unwrap().username, "night.owl");
}

#[tokio::test]
async fn a_session_resolves_to_a_verifiable_token_until_signed_out() {
    let mut app = spawn_app().await;
    app.confirmed_user("dj_rosa").await;
    let login = SignInRequest {
        login: "DJ_ROSA@example.com".into(),
        password: "correct horse battery".into(),
        previous_session_id: None,
    };
    let session_id = app
        .client
        .sign_in(login)
        .await
        .unwrap()
        .into_inner()
        .session_id;

    let resolved = app
        .client
        .resolve_session(ResolveSessionRequest {
            session_id: session_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let user = resolved.user.unwrap();
    assert_eq!(
        (user.username.as_str(), user.role.as_str()),
        ("dj_rosa", "streamer")
    );
    assert!(
        user.permissions
            .iter()
            .any(|p| p.resource == "own_broadcast" && p.actions.contains(&"create".to_owned()))
    );

    let mut me = tonic::Request::new(GetMeRequest {});
    internal_token::attach(&mut me, &resolved.internal_token);
    assert_eq!(
        app.client.get_me(me).await.unwrap().into_inner().user_id,
        user.user_id
    );

    app.client
        .sign_out(SignOutRequest {
            session_id: session_id.clone(),
        })
        .await
        .unwrap();
    let gone = app
        .client
        .resolve_session(ResolveSessionRequest { session_id })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn every_invalid_field_is_named_and_taken_names_conflict() {
    let mut app = spawn_app().await;
    let bad = SignUpRequest {
        username: "x".into(),
        email: "nope".into(),
        password: "short".into(),
        display_name: None,
    };
    let error = app.client.sign_up(bad).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    for field in ["username", "email", "password"] {
        assert!(
            error.message().contains(field),
            "{} should name {field}",
            error.message()
        );
    }

    app.client.sign_up(sign_up("taken")).await.unwrap();
    app.next_mail().await;
    let same_name = app
        .client
        .sign_up(SignUpRequest {
            email: "other@example.com".into(),
            ..sign_up("TAKEN")
        })
        .await
        .unwrap_err();
    assert_eq!(same_name.code(), Code::AlreadyExists);
    assert!(same_name.message().contains("username"));
    let same_email = app
        .client
        .sign_up(SignUpRequest {
            email: "Taken@Example.com".into(),
            ..sign_up("fresh")
        })
        .await
        .unwrap_err();
    assert_eq!(same_email.code(), Code::AlreadyExists);
    assert!(same_email.message().contains("email"));
}

#[tokio::test]
async fn wrong_credentials_say_nothing_about_which_part_was_wrong() {
    let mut app = spawn_app().await;
    app.confirmed_user("mixer").await;
    for (login, password) in [
        ("mixer", "wrong password!"),
        ("nobody", "correct horse battery"),
    ] {
        let error = app
            .client
            .sign_in(SignInRequest {
                login: login.into(),
                password: password.into(),
                previous_session_id: None,
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated);
        assert_eq!(error.message(), "Wrong username, email or password");
    }
}
