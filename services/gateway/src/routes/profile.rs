//! Public profiles and profile pictures. Uploads are multipart with one `picture` part of at most
//! 3 MB; auth recognises the image by its content and re-encodes it, so the gateway only carries
//! bytes. Pictures are served here, under `/api/v1`, so the edge routes them like any API call.

use axum::{
    extract::{Multipart, Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use livestreamer_proto::auth::{
    DeleteProfilePictureRequest, GetProfilePictureRequest, GetPublicProfileRequest, PublicProfile,
    SetProfilePictureRequest,
};
use serde::Serialize;

use crate::{
    AppState,
    error::ApiError,
    json::ok,
    session::SignedIn,
    views::{UserView, iso},
};

/// The largest picture accepted, as API.md gives it.
pub const MAX_PICTURE_BYTES: usize = 3 * 1024 * 1024;
/// The request body limit of the upload route: the picture plus the multipart framing.
pub const MAX_UPLOAD_BODY: usize = MAX_PICTURE_BYTES + 64 * 1024;

/// Everyone's picture until they upload one: a neutral silhouette.
const DEFAULT_PICTURE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#d9dde3"/><circle cx="32" cy="25" r="12" fill="#9aa3ae"/><path d="M10 60c2-13 11-20 22-20s20 7 22 20z" fill="#9aa3ae"/></svg>"##;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicProfileView {
    user_id: i64,
    username: String,
    display_name: String,
    about: String,
    website_url: String,
    profile_picture_url: String,
    created_at: String,
}

impl From<PublicProfile> for PublicProfileView {
    fn from(p: PublicProfile) -> Self {
        Self {
            user_id: p.user_id,
            username: p.username,
            display_name: p.display_name,
            about: p.about,
            website_url: p.website_url,
            profile_picture_url: p.profile_picture_url,
            created_at: iso(p.created_at_ms),
        }
    }
}

pub async fn public_profile(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let profile = state
        .auth
        .clone()
        .get_public_profile(GetPublicProfileRequest { username })
        .await?
        .into_inner();
    Ok(ok(PublicProfileView::from(profile)).into_response())
}

pub async fn picture(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let picture = state
        .auth
        .clone()
        .get_profile_picture(GetProfilePictureRequest { username })
        .await?
        .into_inner();
    let (content_type, body) = if picture.data.is_empty() {
        (
            "image/svg+xml".to_owned(),
            DEFAULT_PICTURE.as_bytes().to_vec(),
        )
    } else {
        (picture.content_type, picture.data)
    };
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CACHE_CONTROL, "public, max-age=300".to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ];
    Ok((headers, body).into_response())
}

pub async fn set_picture(
    State(state): State<AppState>,
    caller: SignedIn,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, ApiError> {
    let is_multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected a multipart/form-data body with a picture part",
        ));
    }
    let multipart = multipart.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let image = picture_part(multipart).await?;
    let request = caller.request(SetProfilePictureRequest { image });
    let user = state
        .auth
        .clone()
        .set_profile_picture(request)
        .await?
        .into_inner();
    Ok(ok(UserView::from(user)).into_response())
}

/// The bytes of the `picture` part, refused past 3 MB; other parts are skipped.
async fn picture_part(mut multipart: Multipart) -> Result<Vec<u8>, ApiError> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "picture must be at most 3 MB".to_owned()
        } else {
            format!("The multipart body is malformed: {}", e.body_text())
        };
        ApiError::new(status, message)
    };
    while let Some(mut field) = multipart.next_field().await.map_err(unreadable)? {
        if field.name() != Some("picture") {
            continue;
        }
        let mut image = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            if image.len() + chunk.len() > MAX_PICTURE_BYTES {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "picture must be at most 3 MB",
                ));
            }
            image.extend_from_slice(&chunk);
        }
        return Ok(image);
    }
    Err(ApiError::bad_request(
        "picture is required (a multipart part named picture)",
    ))
}

pub async fn delete_picture(
    State(state): State<AppState>,
    caller: SignedIn,
) -> Result<Response, ApiError> {
    let user = state
        .auth
        .clone()
        .delete_profile_picture(caller.request(DeleteProfilePictureRequest {}))
        .await?
        .into_inner();
    Ok(ok(UserView::from(user)).into_response())
}
