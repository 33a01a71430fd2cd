//! Sign-up, email confirmation, sessions and forgotten passwords: the routes anyone may call, each
//! rate-limited where guessing or flooding would pay.

use axum::{
    Router,
    extract::{DefaultBodyLimit, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, patch, put},
};
use livestreamer_proto::auth::{
    ConfirmEmailRequest, RequestPasswordResetRequest, ResetPasswordRequest, SignInRequest,
    SignOutRequest, SignUpRequest,
};
use serde::Deserialize;
use service_kit::clock::now_ms;

use super::{admin, me, profile};
use crate::{
    AppState,
    client_ip::ClientIp,
    error::ApiError,
    json::{ApiJson, ok},
    rate_limit::{self, Subject},
    session::{self, SignedIn},
    views::UserView,
};

/// The Accounts table of API.md (sessions and sign-up are routed in `routes::api`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/users/me",
            get(me::me).patch(me::update_me).delete(me::delete_me),
        )
        .route("/users/me/settings/password", patch(change_password))
        .route(
            "/users/me/profile-picture",
            put(profile::set_picture)
                .delete(profile::delete_picture)
                .layer(DefaultBodyLimit::max(profile::MAX_UPLOAD_BODY)),
        )
        .route(
            "/users/me/stream-key",
            get(me::stream_key).post(me::rotate_stream_key),
        )
        .route("/users/{username}", get(profile::public_profile))
        .route("/users/{username}/picture", get(profile::picture))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{id}/role", patch(admin::change_role))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignUp {
    username: String,
    email: String,
    password: String,
    display_name: Option<String>,
}

pub async fn sign_up(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<SignUp>,
) -> Result<StatusCode, ApiError> {
    let subjects = [Subject::Address(ip), Subject::Account(&body.username)];
    rate_limit::check(&state, &rate_limit::SIGN_UP, &subjects).await?;
    let request = SignUpRequest {
        username: body.username,
        email: body.email,
        password: body.password,
        display_name: body.display_name,
    };
    state.auth.clone().sign_up(request).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

pub async fn confirm_email(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
) -> Result<StatusCode, ApiError> {
    let token = query
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::bad_request("token is required"))?;
    state
        .auth
        .clone()
        .confirm_email(ConfirmEmailRequest { token })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    username: Option<String>,
    email: Option<String>,
    password: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let login = body
        .username
        .or(body.email)
        .ok_or_else(|| ApiError::bad_request("username or email is required"))?;
    let subjects = [Subject::Address(ip), Subject::Account(&login)];
    rate_limit::check(&state, &rate_limit::SIGN_IN, &subjects).await?;
    let request = SignInRequest {
        login,
        password: body.password,
        previous_session_id: session::session_id(&headers),
    };
    let signed_in = state.auth.clone().sign_in(request).await?.into_inner();
    let user = signed_in.user.ok_or_else(ApiError::unauthorized)?;
    let max_age = (signed_in.session_expires_at_ms - now_ms()) / 1000;
    let cookie = session::set_cookie(
        &signed_in.session_id,
        max_age,
        state.config.secure_cookies(),
    );
    Ok(([(header::SET_COOKIE, cookie)], ok(UserView::from(user))).into_response())
}

pub async fn sign_out(
    State(state): State<AppState>,
    caller: SignedIn,
) -> Result<Response, ApiError> {
    state
        .auth
        .clone()
        .sign_out(SignOutRequest {
            session_id: caller.session_id.clone(),
        })
        .await?;
    Ok(signed_out(&state))
}

/// 204 with the session cookie cleared.
pub fn signed_out(state: &AppState) -> Response {
    let cookie = session::clear_cookie(state.config.secure_cookies());
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

/// `PATCH /users/me/settings/password`: `{email}` asks for a reset mail, `{token, newPassword}` uses
/// one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    email: Option<String>,
    token: Option<String>,
    new_password: Option<String>,
}

pub async fn change_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    match body {
        PasswordChange {
            email: Some(email),
            token: None,
            new_password: None,
        } => {
            rate_limit::check(
                &state,
                &rate_limit::PASSWORD_RESET,
                &[Subject::Account(&email)],
            )
            .await?;
            let request = RequestPasswordResetRequest { email };
            state.auth.clone().request_password_reset(request).await?;
            Ok(StatusCode::ACCEPTED)
        }
        PasswordChange {
            email: None,
            token: Some(token),
            new_password: Some(new_password),
        } => {
            let request = ResetPasswordRequest {
                token,
                new_password,
            };
            state.auth.clone().reset_password(request).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::bad_request(
            "Send either {email} to get a reset link, or {token, newPassword} to use one",
        )),
    }
}
