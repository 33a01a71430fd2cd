//! A live broadcast's likes, and artwork images: re-encoded ones from broadcasts-archive under
//! content-hash URLs (cached for a year), and the default image of broadcasts without any.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use livestreamer_proto::broadcasts::{GetArtworkRequest, LikeStreamRequest};

use super::parse_id;
use crate::{AppState, error::ApiError, session::SignedIn};

/// One like of a live broadcast: 204; 410 offline; 429 with `Retry-After` within 10 s of the last.
pub async fn like(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let broadcast_id = parse_id(&id, "broadcast id")?;
    let request = LikeStreamRequest {
        broadcast_id,
        origin: caller.origin(),
    };
    state
        .broadcasts
        .clone()
        .like_stream(caller.request(request))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

const YEAR: &str = "public, max-age=31536000, immutable";

pub async fn artwork(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let broadcast_id = parse_id(&id, "broadcast id")?;
    let artwork_id = file
        .strip_suffix(".jpg")
        .filter(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| ApiError::not_found(format!("There is no artwork {file}")))?;
    let request = GetArtworkRequest {
        broadcast_id,
        artwork_id: artwork_id.to_owned(),
    };
    let artwork = state
        .broadcasts
        .clone()
        .get_artwork(request)
        .await?
        .into_inner();
    let content_type = HeaderValue::from_str(&artwork.content_type)
        .unwrap_or(HeaderValue::from_static("image/jpeg"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, HeaderValue::from_static(YEAR)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        artwork.data,
    )
        .into_response())
}

const DEFAULT_ARTWORK: &str = include_str!("default-artwork.svg");

pub async fn default_artwork() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        DEFAULT_ARTWORK,
    )
        .into_response()
}
