//! The caller's own account: reading and changing it, deleting it, and the stream key.

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use livestreamer_proto::auth::{
    DeleteMeRequest, GetMeRequest, GetStreamKeyRequest, RotateStreamKeyRequest, StreamKey,
    UpdateMeRequest,
};
use serde::{Deserialize, Serialize};

use super::accounts::signed_out;
use crate::{
    AppState,
    error::ApiError,
    json::{ApiJson, ok},
    session::SignedIn,
    views::{UserView, iso},
};

pub async fn me(State(state): State<AppState>, caller: SignedIn) -> Result<Response, ApiError> {
    let user = state
        .auth
        .clone()
        .get_me(caller.request(GetMeRequest {}))
        .await?
        .into_inner();
    Ok(ok(UserView::from(user)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileUpdate {
    username: Option<String>,
    display_name: Option<String>,
    about: Option<String>,
    website_url: Option<String>,
}

pub async fn update_me(
    State(state): State<AppState>,
    caller: SignedIn,
    ApiJson(body): ApiJson<ProfileUpdate>,
) -> Result<Response, ApiError> {
    let request = UpdateMeRequest {
        username: body.username,
        display_name: body.display_name,
        about: body.about,
        website_url: body.website_url,
    };
    let user = state
        .auth
        .clone()
        .update_me(caller.request(request))
        .await?
        .into_inner();
    Ok(ok(UserView::from(user)).into_response())
}

/// Soft-deletes the account; auth revokes every session of it, this one included.
pub async fn delete_me(
    State(state): State<AppState>,
    caller: SignedIn,
) -> Result<Response, ApiError> {
    state
        .auth
        .clone()
        .delete_me(caller.request(DeleteMeRequest {}))
        .await?;
    Ok(signed_out(&state))
}

/// The stream key: `streamKey` only in the answer to a rotation (only its hash is kept).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamKeyView {
    stream_key: Option<String>,
    created_at: Option<String>,
}

impl From<StreamKey> for StreamKeyView {
    fn from(key: StreamKey) -> Self {
        Self {
            stream_key: key.stream_key,
            created_at: key.created_at_ms.map(iso),
        }
    }
}

pub async fn stream_key(
    State(state): State<AppState>,
    caller: SignedIn,
) -> Result<Response, ApiError> {
    let key = state
        .auth
        .clone()
        .get_stream_key(caller.request(GetStreamKeyRequest {}))
        .await?
        .into_inner();
    Ok(ok(StreamKeyView::from(key)).into_response())
}

pub async fn rotate_stream_key(
    State(state): State<AppState>,
    caller: SignedIn,
) -> Result<Response, ApiError> {
    let key = state
        .auth
        .clone()
        .rotate_stream_key(caller.request(RotateStreamKeyRequest {}))
        .await?
        .into_inner();
    Ok(ok(StreamKeyView::from(key)).into_response())
}
