//! Password reset: one account only, single-use links that expire after an hour, no enumeration.

mod common;

use std::time::{Duration, Instant};

use common::{PASSWORD, login, spawn_app, with_token};
use livestreamer_proto::auth::{
    DeleteMeRequest, RequestPasswordResetRequest, ResetPasswordRequest, SignUpRequest,
};
use livestreamer_proto::events::MailKind;
use tonic::Code;

const NEW_PASSWORD: &str = "a brand new secret";

fn reset_for(email: &str) -> RequestPasswordResetRequest {
    RequestPasswordResetRequest {
        email: email.into(),
    }
}

fn reset(token: &str, password: &str) -> ResetPasswordRequest {
    ResetPasswordRequest {
        token: token.into(),
        new_password: password.into(),
    }
}

/// Asks for a reset mail and returns the token of its link.
async fn reset_token(app: &mut common::TestApp, email: &str) -> String {
    app.client
        .request_password_reset(reset_for(email))
        .await
        .unwrap();
    let mail = app.next_mail().await;
    assert_eq!(mail.kind(), MailKind::ResetPassword);
    assert!(
        mail.to.eq_ignore_ascii_case(email),
        "{} is not {email}",
        mail.to
    );
    assert!(
        mail.link
            .starts_with("http://localhost:8080/reset-password?token="),
        "{}",
        mail.link
    );
    common::link_token(&mail)
}

#[tokio::test]
async fn a_reset_changes_that_one_accounts_password_and_revokes_only_its_sessions() {
    let mut app = spawn_app().await;
    app.confirmed_user("forgetful").await;
    app.confirmed_user("bystander").await;
    let forgetful_session = app.session("forgetful").await;
    let bystander_session = app.session("bystander").await;

    let token = reset_token(&mut app, "Forgetful@Example.com").await;
    app.client
        .reset_password(reset(&token, NEW_PASSWORD))
        .await
        .unwrap();

    // The original's UPDATE had no WHERE: everyone's password changed. Here only one did.
    let old = app.client.sign_in(login("forgetful", PASSWORD)).await;
    assert_eq!(old.unwrap_err().code(), Code::Unauthenticated);
    app.client
        .sign_in(login("forgetful", NEW_PASSWORD))
        .await
        .unwrap();
    app.client
        .sign_in(login("bystander", PASSWORD))
        .await
        .expect("another account keeps its password");
    assert_eq!(
        app.token(&forgetful_session).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert!(app.token(&bystander_session).await.is_ok());

    let reused = app
        .client
        .reset_password(reset(&token, "yet another one!"))
        .await;
    assert_eq!(reused.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn reset_links_expire_after_an_hour_and_other_links_do_not_work() {
    let mut app = spawn_app().await;
    let confirmation = app.confirmed_user("sleepy").await;
    let first = reset_token(&mut app, "sleepy@example.com").await;
    let second = reset_token(&mut app, "sleepy@example.com").await;

    app.sql(
        "UPDATE auth.email_tokens SET created_at = created_at - interval '59 minutes',
                                      expires_at = expires_at - interval '59 minutes'
         WHERE purpose = 'reset_password'",
    )
    .await;
    app.client
        .reset_password(reset(&second, NEW_PASSWORD))
        .await
        .expect("a link is still good after 59 minutes");
    // Using one link voids the others.
    let voided = app.client.reset_password(reset(&first, NEW_PASSWORD)).await;
    assert_eq!(voided.unwrap_err().code(), Code::NotFound);

    let third = reset_token(&mut app, "sleepy@example.com").await;
    app.sql(
        "UPDATE auth.email_tokens SET created_at = created_at - interval '1 hour',
                                      expires_at = expires_at - interval '1 hour'
         WHERE used_at IS NULL",
    )
    .await;
    let expired = app
        .client
        .reset_password(reset(&third, "one more new secret"))
        .await
        .unwrap_err();
    assert_eq!(expired.metadata().get("x-http-status").unwrap(), "410");

    for wrong in [
        confirmation.as_str(),
        "forged-token",
        "'; UPDATE auth.users --",
    ] {
        let error = app
            .client
            .reset_password(reset(wrong, "one more new secret"))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::NotFound, "{wrong}");
    }
}

#[tokio::test]
async fn a_new_password_follows_the_password_rules() {
    let mut app = spawn_app().await;
    app.confirmed_user("picky").await;
    let token = reset_token(&mut app, "picky@example.com").await;
    for weak in ["short", "password123"] {
        let error = app
            .client
            .reset_password(reset(&token, weak))
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument);
        assert!(
            error.message().contains("newPassword"),
            "{}",
            error.message()
        );
    }
    app.client
        .reset_password(reset(&token, "пароль-новый 🎧"))
        .await
        .expect("the token survives refused attempts");
}

#[tokio::test]
async fn only_confirmed_live_accounts_get_a_mail_and_every_address_gets_the_same_answer() {
    let mut app = spawn_app().await;
    app.confirmed_user("known").await;
    app.client
        .sign_up(SignUpRequest {
            email: "unconfirmed@example.com".into(),
            ..common::sign_up("unconfirmed")
        })
        .await
        .unwrap();
    app.next_mail().await;
    let gone = app.signed_in("gone").await;
    app.client
        .delete_me(with_token(&gone, DeleteMeRequest {}))
        .await
        .unwrap();

    for email in [
        "nobody@example.com",
        "unconfirmed@example.com",
        "gone@example.com",
    ] {
        app.client
            .request_password_reset(reset_for(email))
            .await
            .expect("the same answer for every address");
    }
    // Mails are queued right after the answer; give them time, then ask for the one that exists:
    // the next mail on the bus is that one, so none went out for the others.
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.client
        .request_password_reset(reset_for("known@example.com"))
        .await
        .unwrap();
    assert_eq!(app.next_mail().await.to, "known@example.com");

    let malformed = app
        .client
        .request_password_reset(reset_for("not an address"))
        .await;
    assert_eq!(malformed.unwrap_err().code(), Code::InvalidArgument);
}

#[tokio::test]
async fn asking_for_an_unknown_address_takes_as_long_as_for_a_known_one() {
    let mut app = spawn_app().await;
    app.confirmed_user("timed").await;
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..15 {
        for (email, samples) in [
            ("timed@example.com", &mut known),
            ("nobody@example.com", &mut unknown),
        ] {
            let start = Instant::now();
            app.client
                .request_password_reset(reset_for(email))
                .await
                .unwrap();
            samples.push(start.elapsed());
        }
        if round == 0 {
            app.next_mail().await;
        }
    }
    let median = |samples: &mut Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    let gap = known.abs_diff(unknown);
    assert!(
        gap < Duration::from_millis(5),
        "median answer times differ by {gap:?} (known {known:?}, unknown {unknown:?})"
    );
}
