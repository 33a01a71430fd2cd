//! A broadcast's chat over REST: history and posting. Live delivery goes over the WebSocket.

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use livestreamer_proto::chat::{
    DeleteMessageRequest, LikeMessageRequest, ListMessagesRequest, PostMessageRequest,
};
use serde::{Deserialize, Serialize};

use super::parse_id;
use crate::{
    AppState,
    error::ApiError,
    json::{ApiJson, Results, ok},
    session::{MaybeSignedIn, SignedIn},
    views::ChatMessageView,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryQuery {
    limit: Option<String>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryPage {
    next_cursor: Option<String>,
    messages: Vec<ChatMessageView>,
}

pub async fn history(
    State(state): State<AppState>,
    caller: MaybeSignedIn,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, ApiError> {
    let broadcast_id = parse_id(&id, "broadcast id")?;
    let limit = match query.limit.as_deref() {
        None => 0,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=50).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request(format!("limit must be between 1 and 50, not {raw:?}"))
            })?,
    };
    let request = ListMessagesRequest {
        broadcast_id,
        limit,
        cursor: query.next_cursor.unwrap_or_default(),
    };
    let page = state
        .chat
        .clone()
        .list_messages(caller.request(request))
        .await?
        .into_inner();
    Ok(ok(HistoryPage {
        next_cursor: Some(page.next_cursor).filter(|c| !c.is_empty()),
        messages: page
            .messages
            .into_iter()
            .map(ChatMessageView::from)
            .collect(),
    })
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    message: String,
}

pub async fn post(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewMessage>,
) -> Result<Response, ApiError> {
    let broadcast_id = parse_id(&id, "broadcast id")?;
    let request = PostMessageRequest {
        broadcast_id,
        message: body.message,
        origin: caller.origin(),
    };
    let message = state
        .chat
        .clone()
        .post_message(caller.request(request))
        .await?
        .into_inner();
    Ok(Results(StatusCode::CREATED, ChatMessageView::from(message)).into_response())
}

/// `{id}` and `{message_id}` of a message's path.
fn message_path(id: &str, message_id: &str) -> Result<(i64, i64), ApiError> {
    Ok((
        parse_id(id, "broadcast id")?,
        parse_id(message_id, "message id")?,
    ))
}

async fn delete_message(
    state: AppState,
    caller: SignedIn,
    (broadcast_id, message_id): (i64, i64),
    as_moderator: bool,
) -> Result<StatusCode, ApiError> {
    let request = DeleteMessageRequest {
        broadcast_id,
        message_id,
        as_moderator,
        origin: caller.origin(),
    };
    state
        .chat
        .clone()
        .delete_message(caller.request(request))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn delete_own(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_message(state, caller, message_path(&id, &message_id)?, false).await
}

pub async fn delete_as_moderator(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete_message(state, caller, message_path(&id, &message_id)?, true).await
}

/// Likes (`like = true`) or unlikes a message for the caller.
async fn set_like(
    state: AppState,
    caller: SignedIn,
    (broadcast_id, message_id): (i64, i64),
    like: bool,
) -> Result<StatusCode, ApiError> {
    let request = caller.request(LikeMessageRequest {
        broadcast_id,
        message_id,
        origin: caller.origin(),
    });
    let mut chat = state.chat.clone();
    if like {
        chat.like_message(request).await?;
    } else {
        chat.unlike_message(request).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

pub async fn like(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_like(state, caller, message_path(&id, &message_id)?, true).await
}

pub async fn unlike(
    State(state): State<AppState>,
    caller: SignedIn,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    set_like(state, caller, message_path(&id, &message_id)?, false).await
}
