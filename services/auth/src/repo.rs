//! SQL of the `auth` schema. Raw statements, parameters always bound.

use std::collections::BTreeMap;

use deadpool_postgres::{GenericClient, Pool};
use livestreamer_proto::auth::{Permission, User};
use tokio_postgres::error::SqlState;

use crate::{
    domain::{Email, Username},
    error::AuthError,
};

pub const STREAMER_ROLE: i16 = 2;

pub enum TokenPurpose {
    ConfirmEmail,
}

impl TokenPurpose {
    fn as_str(&self) -> &'static str {
        match self {
            TokenPurpose::ConfirmEmail => "confirm_email",
        }
    }
}

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
        .map_err(|e| match e.as_db_error() {
            Some(db) if db.code() == &SqlState::UNIQUE_VIOLATION => {
                let field = if db.constraint() == Some("users_email_key") {
                    "email"
                } else {
                    "username"
                };
                AuthError::Conflict(format!("This {field} is already taken"))
            }
            _ => e.into(),
        })?;
    Ok(row.get(0))
}

pub async fn insert_token(
    client: &impl GenericClient,
    token_hash: &[u8],
    user_id: i64,
    purpose: TokenPurpose,
    valid_for_secs: i64,
) -> Result<(), AuthError> {
    client
        .execute(
            "INSERT INTO auth.email_tokens (token_hash, user_id, purpose, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
            &[
                &token_hash,
                &user_id,
                &purpose.as_str(),
                &(valid_for_secs as f64),
            ],
        )
        .await?;
    Ok(())
}

/// Marks a token used and returns its user; unknown, used and expired tokens are errors.
pub async fn consume_token(
    client: &impl GenericClient,
    token_hash: &[u8],
    purpose: TokenPurpose,
) -> Result<i64, AuthError> {
    let row = client
        .query_opt(
            "UPDATE auth.email_tokens SET used_at = now()
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL
             RETURNING user_id, expires_at < now() AS expired",
            &[&token_hash, &purpose.as_str()],
        )
        .await?
        .ok_or_else(|| {
            AuthError::NotFound("This link is invalid or was already used".to_owned())
        })?;
    if row.get::<_, bool>("expired") {
        return Err(AuthError::TokenExpired);
    }
    Ok(row.get("user_id"))
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
                    u.profile_picture_url,
                    (extract(epoch FROM u.created_at) * 1000)::bigint AS created_at_ms,
                    (extract(epoch FROM u.last_login_at) * 1000)::bigint AS last_login_at_ms,
                    u.is_email_confirmed, r.name AS role, u.role_id
             FROM auth.users u JOIN auth.roles r USING (role_id)
             WHERE u.user_id = $1 AND u.deleted_at IS NULL",
            &[&user_id],
        )
        .await?
    else {
        return Ok(None);
    };
    let role_id: i16 = row.get("role_id");
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
    let user = User {
        user_id: row.get("user_id"),
        username: row.get("username"),
        email: row.get("email"),
        display_name: row.get("display_name"),
        about: row.get("about"),
        website_url: row.get("website_url"),
        profile_picture_url: row.get("profile_picture_url"),
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

/// The live, confirmed user named `username` and the hash of their stream key, if they have one.
pub async fn stream_key_of(
    pool: &Pool,
    username: &str,
) -> Result<Option<(i64, Vec<u8>)>, AuthError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT u.user_id, k.key_hash FROM auth.users u JOIN auth.stream_keys k USING (user_id)
             WHERE lower(u.username) = lower($1) AND u.deleted_at IS NULL AND u.is_email_confirmed",
            &[&username],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}
