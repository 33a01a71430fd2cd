//! Sign-up, confirmation, sessions, deletion, and the internal token, over gRPC.

mod common;

use std::collections::BTreeMap;

use common::{PASSWORD, SIGNING_SEED, login, sign_up, spawn_app, with_token};
use livestreamer_proto::auth::{
    AuthenticateStreamKeyRequest, ConfirmEmailRequest, DeleteMeRequest, GetMeRequest,
    GetPublicProfileRequest, ResolveSessionRequest, RotateStreamKeyRequest, SignInRequest,
    SignOutRequest, SignUpRequest,
};
use livestreamer_proto::events::MailKind;
use tonic::Code;

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

    let early = app
        .client
        .sign_in(login("night.owl", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::PermissionDenied);
    assert!(early.message().contains("confirmation mail"));

    let token = common::link_token(&mail);
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

    let signed_in = app
        .client
        .sign_in(login("night.owl", PASSWORD))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(signed_in.user.unwrap().username, "night.owl");
}

#[tokio::test]
async fn confirmation_links_expire_after_a_day_and_forged_ones_are_unknown() {
    let mut app = spawn_app().await;
    app.client.sign_up(sign_up("late.dj")).await.unwrap();
    let token = common::link_token(&app.next_mail().await);
    // 24 hours pass.
    app.sql(
        "UPDATE auth.email_tokens SET created_at = created_at - interval '24 hours',
                                      expires_at = expires_at - interval '24 hours'",
    )
    .await;
    let expired = app
        .client
        .confirm_email(ConfirmEmailRequest { token })
        .await
        .unwrap_err();
    assert_eq!(expired.metadata().get("x-http-status").unwrap(), "410");
    assert!(expired.message().contains("expired"));

    for forged in ["AAAA", "' OR 1=1 --", "токен"] {
        let error = app
            .client
            .confirm_email(ConfirmEmailRequest {
                token: forged.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::NotFound, "{forged}");
    }
    let long = ConfirmEmailRequest {
        token: "x".repeat(500),
    };
    assert_eq!(
        app.client.confirm_email(long).await.unwrap_err().code(),
        Code::InvalidArgument
    );
}

#[tokio::test]
async fn a_session_resolves_to_a_verifiable_token_until_signed_out() {
    let mut app = spawn_app().await;
    app.confirmed_user("dj_rosa").await;
    let session_id = app
        .client
        .sign_in(login("DJ_ROSA@example.com", PASSWORD))
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
    let me = with_token(&resolved.internal_token, GetMeRequest {});
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
    let gone = app.token(&session_id).await.unwrap_err();
    assert_eq!(gone.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn signing_in_again_in_the_same_browser_replaces_the_old_session() {
    let mut app = spawn_app().await;
    app.confirmed_user("twice").await;
    let first = app.session("twice").await;
    let second = app
        .client
        .sign_in(SignInRequest {
            previous_session_id: Some(first.clone()),
            ..login("twice", PASSWORD)
        })
        .await
        .expect("signing in while signed in works")
        .into_inner()
        .session_id;
    assert_ne!(first, second);
    assert_eq!(
        app.token(&first).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert!(app.token(&second).await.is_ok());
}

#[tokio::test]
async fn every_invalid_field_is_named_and_taken_names_conflict() {
    let mut app = spawn_app().await;
    let bad = SignUpRequest {
        username: "x".into(),
        email: "nope".into(),
        password: "short".into(),
        display_name: Some("\u{7}".into()),
    };
    let error = app.client.sign_up(bad).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    for field in ["username", "email", "password", "displayName"] {
        assert!(
            error.message().contains(field),
            "{} should name {field}",
            error.message()
        );
    }

    app.client.sign_up(sign_up("taken")).await.unwrap();
    app.next_mail().await;
    let same_name = SignUpRequest {
        email: "other@example.com".into(),
        ..sign_up("TAKEN")
    };
    let same_name = app.client.sign_up(same_name).await.unwrap_err();
    assert_eq!(same_name.code(), Code::AlreadyExists);
    assert!(same_name.message().contains("username"));
    let same_email = SignUpRequest {
        email: "Taken@Example.com".into(),
        ..sign_up("fresh")
    };
    let same_email = app.client.sign_up(same_email).await.unwrap_err();
    assert_eq!(same_email.code(), Code::AlreadyExists);
    assert!(same_email.message().contains("email"));
}

#[tokio::test]
async fn sql_metacharacters_and_unicode_are_data_not_code() {
    let mut app = spawn_app().await;
    let injected = SignUpRequest {
        username: "a'; DROP TABLE auth.users; --".into(),
        email: "x'--@example.com".into(),
        password: "пароль'; --🎧".into(),
        display_name: Some("Ночная сова 🦉 \"quoted\" '; --".into()),
    };
    let error = app.client.sign_up(injected.clone()).await.unwrap_err();
    assert_eq!(error.code(), Code::InvalidArgument);
    assert!(error.message().contains("username"), "{}", error.message());

    let accepted = SignUpRequest {
        username: "owl".into(),
        ..injected
    };
    app.client.sign_up(accepted).await.unwrap();
    let token = common::link_token(&app.next_mail().await);
    app.client
        .confirm_email(ConfirmEmailRequest { token })
        .await
        .unwrap();
    let user = app
        .client
        .sign_in(login("x'--@example.com", "пароль'; --🎧"))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.display_name, "Ночная сова 🦉 \"quoted\" '; --");
    for login_name in ["' OR '1'='1", "owl' --", "%", "_wl"] {
        let error = app
            .client
            .sign_in(login(login_name, "' OR '1'='1"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated, "{login_name}");
    }
}

#[tokio::test]
async fn wrong_credentials_say_nothing_about_which_part_was_wrong() {
    let mut app = spawn_app().await;
    app.confirmed_user("mixer").await;
    for (name, password) in [
        ("mixer", "wrong password!"),
        ("nobody", PASSWORD),
        ("mixer", ""),
    ] {
        let error = app.client.sign_in(login(name, password)).await.unwrap_err();
        let expected = if password.is_empty() {
            Code::InvalidArgument
        } else {
            Code::Unauthenticated
        };
        assert_eq!(error.code(), expected);
        if expected == Code::Unauthenticated {
            assert_eq!(error.message(), "Wrong username, email or password");
        }
    }
}

#[tokio::test]
async fn a_deleted_account_loses_its_sessions_sign_in_profile_and_stream_key_but_keeps_its_names() {
    let mut app = spawn_app().await;
    app.confirmed_user("leaver").await;
    let sessions = [app.session("leaver").await, app.session("leaver").await];
    let token = app.token(&sessions[0]).await.unwrap();
    let key = app
        .client
        .rotate_stream_key(with_token(&token, RotateStreamKeyRequest {}))
        .await
        .unwrap()
        .into_inner()
        .stream_key
        .unwrap();

    app.client
        .delete_me(with_token(&token, DeleteMeRequest {}))
        .await
        .unwrap();

    for session in &sessions {
        assert_eq!(
            app.token(session).await.unwrap_err().code(),
            Code::Unauthenticated
        );
    }
    let sign_in = app.client.sign_in(login("leaver", PASSWORD)).await;
    assert_eq!(sign_in.unwrap_err().code(), Code::Unauthenticated);
    let relay = AuthenticateStreamKeyRequest {
        username: "leaver".into(),
        stream_key: key,
    };
    assert_eq!(
        app.client
            .authenticate_stream_key(relay)
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    let profile = GetPublicProfileRequest {
        username: "leaver".into(),
    };
    assert_eq!(
        app.client
            .get_public_profile(profile)
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    // The still-valid internal token of a deleted account reads nothing.
    assert_eq!(
        app.client
            .get_me(with_token(&token, GetMeRequest {}))
            .await
            .unwrap_err()
            .code(),
        Code::Unauthenticated
    );
    for reuse in [
        sign_up("Leaver"),
        SignUpRequest {
            email: "LEAVER@example.com".into(),
            ..sign_up("newcomer")
        },
    ] {
        let error = app.client.sign_up(reuse).await.unwrap_err();
        assert_eq!(error.code(), Code::AlreadyExists);
    }
}

#[tokio::test]
async fn forged_and_expired_internal_tokens_are_refused() {
    let mut app = spawn_app().await;
    let token = app.signed_in("holder").await;
    let user_id = app
        .client
        .get_me(with_token(&token, GetMeRequest {}))
        .await
        .unwrap()
        .into_inner()
        .user_id;

    let other_key = auth::signer::TokenSigner::new(None).unwrap();
    let forged = other_key
        .sign(user_id, "holder", "superadmin", BTreeMap::new())
        .unwrap();
    let expired = expired_token(user_id);
    let tampered = {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[1] = "eyJzdWIiOiIxIn0";
        parts.join(".")
    };
    for (what, bad) in [
        ("forged", forged),
        ("expired", expired),
        ("tampered", tampered),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let error = app
            .client
            .get_me(with_token(&bad, GetMeRequest {}))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unauthenticated, "{what}");
    }
    let none = app.client.get_me(GetMeRequest {}).await.unwrap_err();
    assert_eq!(none.code(), Code::Unauthenticated);
}

/// A token signed with the service's own key whose lifetime ended two minutes ago.
fn expired_token(user_id: i64) -> String {
    use ed25519_dalek::{SigningKey, pkcs8::EncodePrivateKey};
    let key = SigningKey::from_bytes(&SIGNING_SEED)
        .to_pkcs8_der()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = service_kit::internal_token::Claims::new(
        user_id,
        "holder".into(),
        "streamer".into(),
        BTreeMap::new(),
        now - 180,
    );
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        &jsonwebtoken::EncodingKey::from_ed_der(key.as_bytes()),
    )
    .unwrap()
}
