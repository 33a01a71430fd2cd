//! Scheduling, reading, editing and deleting broadcasts. Bodies are JSON, or multipart with the
//! JSON in a `broadcast` field beside an optional `artwork` image (checked and re-encoded by
//! broadcasts-archive; the gateway only bounds its size).

use axum::{
    Router,
    extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use livestreamer_proto::broadcasts::{
    CreateBroadcastRequest, DeleteBroadcastRequest, GetBroadcastRequest, UpdateBroadcastRequest,
};
use serde::{Deserialize, de::DeserializeOwned};

use super::{broadcast_extras, listings, parse_id};
use crate::{
    AppState,
    error::ApiError,
    json::{ApiJson, Results, ok},
    session::{MaybeSignedIn, SignedIn},
    views::{BroadcastView, parse_time},
};

/// The most artwork accepted (broadcasts-archive checks it again).
pub const MAX_ARTWORK_BYTES: usize = 10 * 1024 * 1024;
/// The body limit of the routes that take artwork: the image and its JSON beside it.
pub const MAX_BROADCAST_BODY: usize = MAX_ARTWORK_BYTES + 256 * 1024;

/// The broadcast routes: schedule and archive, listings, likes, artwork.
pub fn routes() -> Router<AppState> {
    let with_artwork = DefaultBodyLimit::max(MAX_BROADCAST_BODY);
    Router::new()
        .route(
            "/users/me/broadcasts",
            post(create).get(listings::mine).layer(with_artwork),
        )
        .route(
            "/users/me/broadcasts/{id}",
            axum::routing::patch(update)
                .delete(delete)
                .layer(with_artwork),
        )
        .route("/users/{username}/broadcasts", get(listings::by_user))
        .route("/broadcasts", get(listings::list))
        .route("/broadcasts/live", get(listings::live))
        .route("/broadcasts/{id}", get(get_one))
        .route("/broadcasts/{id}/stream/likes", put(broadcast_extras::like))
        .route(
            "/broadcasts/{id}/artwork/{file}",
            get(broadcast_extras::artwork),
        )
        .route(
            "/artwork/default.svg",
            get(broadcast_extras::default_artwork),
        )
}

/// A broadcast's JSON, from a JSON body or a multipart body's `broadcast` field, and the artwork.
pub struct BroadcastBody<T> {
    pub fields: T,
    pub artwork: Option<Vec<u8>>,
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "artwork must be at most 10 MB",
    )
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::bad_request(format!("Invalid multipart body: {}", error.body_text()))
    }
}

async fn read_multipart<T: DeserializeOwned + Send>(
    mut multipart: Multipart,
) -> Result<BroadcastBody<T>, ApiError> {
    let (mut fields, mut artwork) = (None, None);
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("broadcast") => {
                let text = field.text().await.map_err(multipart_error)?;
                let parsed = serde_json::from_str(&text)
                    .map_err(|e| ApiError::bad_request(format!("Invalid broadcast field: {e}")))?;
                fields = Some(parsed);
            }
            Some("artwork") => {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                if bytes.len() > MAX_ARTWORK_BYTES {
                    return Err(too_large());
                }
                artwork = Some(bytes.to_vec()).filter(|b| !b.is_empty());
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unexpected multipart field {:?}: expected broadcast and artwork",
                    other.unwrap_or_default()
                )));
            }
        }
    }
    let fields = fields.ok_or_else(|| ApiError::bad_request("The broadcast field is missing"))?;
    Ok(BroadcastBody { fields, artwork })
}

impl<T, S> FromRequest<S> for BroadcastBody<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("multipart/form-data") {
            let multipart = Multipart::from_request(request, state)
                .await
                .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
            return read_multipart(multipart).await;
        }
        let ApiJson(fields) = ApiJson::<T>::from_request(request, state).await?;
        Ok(Self {
            fields,
            artwork: None,
        })
    }
}

/// Parses the times given, naming every one that is not ISO-8601.
fn times(fields: [(&str, Option<&str>); 2]) -> Result<[Option<i64>; 2], ApiError> {
    let parsed = fields.map(|(name, raw)| raw.map(|raw| parse_time(name, raw)).transpose());
    match parsed {
        [Ok(start), Ok(end)] => Ok([start, end]),
        [start, end] => {
            let errors: Vec<String> = [start.err(), end.err()].into_iter().flatten().collect();
            Err(ApiError::bad_request(errors.join("; ")))
        }
    }
}

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
    body: BroadcastBody<NewBroadcast>,
) -> Result<Response, ApiError> {
    let BroadcastBody { fields, artwork } = body;
    let [start, end] = times([
        ("startAt", Some(&fields.start_at)),
        ("endAt", Some(&fields.end_at)),
    ])?;
    let request = CreateBroadcastRequest {
        title: fields.title,
        description: fields.description,
        start_at_ms: start.unwrap_or_default(),
        end_at_ms: end.unwrap_or_default(),
        artwork,
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BroadcastChanges {
    title: Option<String>,
    description: Option<String>,
    start_at: Option<String>,
    end_at: Option<String>,
    is_visible: Option<bool>,
}

pub async fn update(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    body: BroadcastBody<BroadcastChanges>,
) -> Result<Response, ApiError> {
    let broadcast_id = parse_id(&id, "broadcast id")?;
    let BroadcastBody { fields, artwork } = body;
    let [start_at_ms, end_at_ms] = times([
        ("startAt", fields.start_at.as_deref()),
        ("endAt", fields.end_at.as_deref()),
    ])?;
    let request = UpdateBroadcastRequest {
        broadcast_id,
        title: fields.title,
        description: fields.description,
        start_at_ms,
        end_at_ms,
        is_visible: fields.is_visible,
        artwork,
    };
    let broadcast = state
        .broadcasts
        .clone()
        .update_broadcast(caller.request(request))
        .await?
        .into_inner();
    Ok(ok(BroadcastView::from(broadcast)).into_response())
}

pub async fn delete(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let broadcast_id = parse_id(&id, "broadcast id")?;
    state
        .broadcasts
        .clone()
        .delete_broadcast(caller.request(DeleteBroadcastRequest { broadcast_id }))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
