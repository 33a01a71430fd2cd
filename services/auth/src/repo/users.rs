//! The `users` table and the role permissions a user is read with.

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Pool};
use livestreamer_proto::auth::{Permission, PublicProfile, User};
use tokio_postgres::Row;

use super::{STREAMER_ROLE, SUPERADMIN_ROLE, picture_url, taken};
use crate::{
    domain::{About, DisplayName, Email, Username, WebsiteUrl},
    error::AuthError,
};

/// A user as stored, with the permissions of their role.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    pub permissions: BTreeMap<String, Vec<String>>,
}

/// Inserts an unconfirmed streamer; a taken username or email is a conflict naming which.
pub async fn insert_user(
    client: &impl GenericClient,
    username: &Username,
    email: &Email,
    password_hash: &str,
    display_name: &str,
) -> Result<i64, AuthError> {
    let row = client
        .query_one(
            "INSERT INTO auth.users (username, email, password_hash, display_name, role_id)
             VALUES ($1, $2, $3, $4, $5) RETURNING user_id",
            &[
                &username.as_str(),
                &email.as_str(),
                &password_hash,
                &display_name,
                &STREAMER_ROLE,
            ],
        )
        .await
        .map_err(taken)?;
    Ok(row.get(0))
}

/// Creates the confirmed superadmin unless that username or email exists already; true if created.
pub async fn insert_superadmin(
    client: &impl GenericClient,
    username: &Username,
    email: &Email,
    password_hash: &str,
) -> Result<bool, AuthError> {
    let created = client
        .execute(
            "INSERT INTO auth.users (username, email, password_hash, display_name, role_id,
                                     is_email_confirmed)
             VALUES ($1, $2, $3, $1, $4, true) ON CONFLICT DO NOTHING",
            &[
                &username.as_str(),
                &email.as_str(),
                &password_hash,
                &SUPERADMIN_ROLE,
            ],
        )
        .await?;
    Ok(created == 1)
}

pub async fn confirm_email(client: &impl GenericClient, user_id: i64) -> Result<(), AuthError> {
    client
        .execute(
            "UPDATE auth.users SET is_email_confirmed = true WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// What sign-in needs to decide.
pub struct Credentials {
    pub user_id: i64,
    pub password_hash: String,
    pub is_email_confirmed: bool,
    pub is_deleted: bool,
}

pub async fn credentials(pool: &Pool, login: &str) -> Result<Option<Credentials>, AuthError> {
    let client = pool.get().await?;
    let column = if login.contains('@') {
        "email"
    } else {
        "username"
    };
    let row = client
        .query_opt(
            &format!(
                "SELECT user_id, password_hash, is_email_confirmed, deleted_at IS NOT NULL AS deleted
                 FROM auth.users WHERE lower({column}) = lower($1)"
            ),
            &[&login.trim()],
        )
        .await?;
    Ok(row.map(|row| Credentials {
        user_id: row.get(0),
        password_hash: row.get(1),
        is_email_confirmed: row.get(2),
        is_deleted: row.get(3),
    }))
}

pub async fn record_login(pool: &Pool, user_id: i64) -> Result<(), AuthError> {
    pool.get()
        .await?
        .execute(
            "UPDATE auth.users SET last_login_at = now() WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// A live (not deleted) user with their permissions.
pub async fn user(
    client: &impl GenericClient,
    user_id: i64,
) -> Result<Option<UserRecord>, AuthError> {
    let Some(row) = client
        .query_opt(
            "SELECT u.user_id, u.username, u.email, u.display_name, u.about, u.website_url,
                    (extract(epoch FROM u.created_at) * 1000)::bigint AS created_at_ms,
                    (extract(epoch FROM u.last_login_at) * 1000)::bigint AS last_login_at_ms,
                    (extract(epoch FROM p.updated_at) * 1000)::bigint AS picture_version,
                    u.is_email_confirmed, r.name AS role, u.role_id
             FROM auth.users u JOIN auth.roles r USING (role_id)
                  LEFT JOIN auth.profile_pictures p USING (user_id)
             WHERE u.user_id = $1 AND u.deleted_at IS NULL",
            &[&user_id],
        )
        .await?
    else {
        return Ok(None);
    };
    let permissions = role_permissions(client, row.get("role_id")).await?;
    let user = User {
        user_id: row.get("user_id"),
        profile_picture_url: picture_url(row.get("username"), row.get("picture_version")),
        username: row.get("username"),
        email: row.get("email"),
        display_name: row.get("display_name"),
        about: row.get("about"),
        website_url: row.get("website_url"),
        created_at_ms: row.get("created_at_ms"),
        last_login_at_ms: row.get("last_login_at_ms"),
        is_email_confirmed: row.get("is_email_confirmed"),
        role: row.get("role"),
        permissions: permissions
            .iter()
            .map(|(resource, actions)| Permission {
                resource: resource.clone(),
                actions: actions.clone(),
            })
            .collect(),
    };
    Ok(Some(UserRecord { user, permissions }))
}

async fn role_permissions(
    client: &impl GenericClient,
    role_id: i16,
) -> Result<BTreeMap<String, Vec<String>>, AuthError> {
    let mut permissions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for perm in client
        .query(
            "SELECT resource, action FROM auth.role_permissions WHERE role_id = $1
             ORDER BY resource, action",
            &[&role_id],
        )
        .await?
    {
        permissions
            .entry(perm.get(0))
            .or_default()
            .push(perm.get(1));
    }
    Ok(permissions)
}

/// The confirmed, live account with this address: `(user_id, username, email as stored)`.
pub async fn live_user_by_email(
    client: &impl GenericClient,
    email: &Email,
) -> Result<Option<(i64, String, String)>, AuthError> {
    let row = client
        .query_opt(
            "SELECT user_id, username, email FROM auth.users
             WHERE lower(email) = lower($1) AND deleted_at IS NULL AND is_email_confirmed",
            &[&email.as_str()],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1), row.get(2))))
}

/// The fields a user may change about themselves; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChanges {
    pub username: Option<Username>,
    pub display_name: Option<DisplayName>,
    pub about: Option<About>,
    pub website_url: Option<WebsiteUrl>,
}

pub async fn update_profile(
    client: &impl GenericClient,
    user_id: i64,
    changes: &ProfileChanges,
) -> Result<(), AuthError> {
    client
        .execute(
            "UPDATE auth.users SET username = coalesce($2, username),
                    display_name = coalesce($3, display_name), about = coalesce($4, about),
                    website_url = coalesce($5, website_url)
             WHERE user_id = $1 AND deleted_at IS NULL",
            &[
                &user_id,
                &changes.username.as_ref().map(Username::as_str),
                &changes.display_name.as_ref().map(DisplayName::as_str),
                &changes.about.as_ref().map(About::as_str),
                &changes.website_url.as_ref().map(WebsiteUrl::as_str),
            ],
        )
        .await
        .map_err(taken)?;
    Ok(())
}

/// Marks a live account deleted; its name and address stay taken. False if it was not live.
pub async fn soft_delete(client: &impl GenericClient, user_id: i64) -> Result<bool, AuthError> {
    let changed = client
        .execute(
            "UPDATE auth.users SET deleted_at = now() WHERE user_id = $1 AND deleted_at IS NULL",
            &[&user_id],
        )
        .await?;
    Ok(changed == 1)
}

/// Sets the password of exactly this one live account (the original's reset had no WHERE and
/// changed everyone's). False if the account is not live.
pub async fn set_password(
    client: &impl GenericClient,
    user_id: i64,
    password_hash: &str,
) -> Result<bool, AuthError> {
    let changed = client
        .execute(
            "UPDATE auth.users SET password_hash = $2 WHERE user_id = $1 AND deleted_at IS NULL",
            &[&user_id, &password_hash],
        )
        .await?;
    Ok(changed == 1)
}

/// What anyone may see of a live user: never the email, the role or the permissions.
pub async fn public_profile(
    client: &impl GenericClient,
    username: &str,
) -> Result<Option<PublicProfile>, AuthError> {
    let row = client
        .query_opt(
            "SELECT u.user_id, u.username, u.display_name, u.about, u.website_url,
                    (extract(epoch FROM u.created_at) * 1000)::bigint AS created_at_ms,
                    (extract(epoch FROM p.updated_at) * 1000)::bigint AS picture_version
             FROM auth.users u LEFT JOIN auth.profile_pictures p USING (user_id)
             WHERE lower(u.username) = lower($1) AND u.deleted_at IS NULL",
            &[&username],
        )
        .await?;
    Ok(row.as_ref().map(profile_from_row))
}

fn profile_from_row(row: &Row) -> PublicProfile {
    PublicProfile {
        user_id: row.get("user_id"),
        profile_picture_url: picture_url(row.get("username"), row.get("picture_version")),
        username: row.get("username"),
        display_name: row.get("display_name"),
        about: row.get("about"),
        website_url: row.get("website_url"),
        created_at_ms: row.get("created_at_ms"),
    }
}
