//! Administration: the paginated list of every account and role changes. auth checks the caller's
//! permission (`any_user_account:read` / `:update`); the views carry flags and roles, never a password
//! hash (the original's list leaked them).

use axum::{
    extract::{Path, Query, State},
    response::{IntoResponse, Response},
};
use livestreamer_proto::auth::{AdminUser, ChangeRoleRequest, ListUsersRequest};
use serde::{Deserialize, Serialize};

use super::parse_id;
use crate::{
    AppState,
    error::ApiError,
    json::{ApiJson, ok},
    session::SignedIn,
    views::iso,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AdminUserView {
    user_id: i64,
    username: String,
    email: String,
    display_name: String,
    role: String,
    is_email_confirmed: bool,
    is_deleted: bool,
    created_at: String,
    last_login_at: Option<String>,
    deleted_at: Option<String>,
}

impl From<AdminUser> for AdminUserView {
    fn from(u: AdminUser) -> Self {
        Self {
            user_id: u.user_id,
            username: u.username,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            is_email_confirmed: u.is_email_confirmed,
            is_deleted: u.is_deleted,
            created_at: iso(u.created_at_ms),
            last_login_at: u.last_login_at_ms.map(iso),
            deleted_at: u.deleted_at_ms.map(iso),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageQuery {
    limit: Option<String>,
    next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UsersPage {
    next_cursor: Option<String>,
    users: Vec<AdminUserView>,
}

pub async fn users(
    State(state): State<AppState>,
    caller: SignedIn,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let request = ListUsersRequest {
        limit: super::parse_limit(query.limit.as_deref())?,
        cursor: query.next_cursor.unwrap_or_default(),
    };
    let page = state
        .auth
        .clone()
        .list_users(caller.request(request))
        .await?
        .into_inner();
    Ok(ok(UsersPage {
        next_cursor: Some(page.next_cursor).filter(|c| !c.is_empty()),
        users: page.users.into_iter().map(AdminUserView::from).collect(),
    })
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    role: String,
}

/// Gives a user another role; auth revokes their sessions so it takes effect at once.
pub async fn change_role(
    State(state): State<AppState>,
    caller: SignedIn,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleChange>,
) -> Result<Response, ApiError> {
    let request = ChangeRoleRequest {
        user_id: parse_id(&id, "user id")?,
        role: body.role,
    };
    let user = state
        .auth
        .clone()
        .change_role(caller.request(request))
        .await?
        .into_inner();
    Ok(ok(AdminUserView::from(user)).into_response())
}
