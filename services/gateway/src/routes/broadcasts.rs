//! Scheduling and reading broadcasts.

use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use livestreamer_proto::broadcasts::{CreateBroadcastRequest, GetBroadcastRequest};
use serde::Deserialize;

use super::parse_id;
use crate::{
    AppState,
    error::ApiError,
    json::{ApiJson, Results, ok},
    session::{MaybeSignedIn, SignedIn},
    views::{BroadcastView, parse_time},
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewBroadcast {
    title: String,
    start_at: String,
    end_at: String,
    #[serde(default)]
    description: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: SignedIn,
    ApiJson(body): ApiJson<NewBroadcast>,
) -> Result<Response, ApiError> {
    let (start, end) = (
        parse_time("startAt", &body.start_at),
        parse_time("endAt", &body.end_at),
    );
    let (start_at_ms, end_at_ms) = match (start, end) {
        (Ok(s), Ok(e)) => (s, e),
        (s, e) => {
            let errors: Vec<String> = [s.err(), e.err()].into_iter().flatten().collect();
            return Err(ApiError::bad_request(errors.join("; ")));
        }
    };
    let request = CreateBroadcastRequest {
        title: body.title,
        description: body.description,
        start_at_ms,
        end_at_ms,
        artwork: None,
    };
    let broadcast = state
        .broadcasts
        .clone()
        .create_broadcast(caller.request(request))
        .await?
        .into_inner();
    let location = format!("/api/v1/broadcasts/{}", broadcast.broadcast_id);
    Ok((
        [(header::LOCATION, location)],
        Results(StatusCode::CREATED, BroadcastView::from(broadcast)),
    )
        .into_response())
}

pub async fn get_one(
    State(state): State<AppState>,
    caller: MaybeSignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let broadcast_id = parse_id(&id, "broadcast id")?;
    let request = caller.request(GetBroadcastRequest { broadcast_id });
    let broadcast = state
        .broadcasts
        .clone()
        .get_broadcast(request)
        .await?
        .into_inner();
    Ok(ok(BroadcastView::from(broadcast)).into_response())
}
