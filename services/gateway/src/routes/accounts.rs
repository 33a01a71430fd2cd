//! Sign-up, email confirmation, sessions and the caller's account.

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use livestreamer_proto::auth::{
    ConfirmEmailRequest, GetMeRequest, SignInRequest, SignOutRequest, SignUpRequest,
};
use serde::Deserialize;
use service_kit::clock::now_ms;

use crate::{
    AppState,
    error::ApiError,
    json::{ApiJson, ok},
    session::{self, SignedIn},
    views::UserView,
};

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
    ApiJson(body): ApiJson<SignUp>,
) -> Result<StatusCode, ApiError> {
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
    headers: HeaderMap,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<Response, ApiError> {
    let login = body
        .username
        .or(body.email)
        .ok_or_else(|| ApiError::bad_request("username or email is required"))?;
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
    let cookie = session::clear_cookie(state.config.secure_cookies());
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

pub async fn me(State(state): State<AppState>, caller: SignedIn) -> Result<Response, ApiError> {
    let user = state
        .auth
        .clone()
        .get_me(caller.request(GetMeRequest {}))
        .await?
        .into_inner();
    Ok(ok(UserView::from(user)).into_response())
}
