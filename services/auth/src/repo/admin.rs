//! What administrators read and change: every account (deleted ones too), by id, and roles.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use deadpool_postgres::GenericClient;
use livestreamer_proto::auth::AdminUser;
use tokio_postgres::Row;

use crate::error::AuthError;

const ADMIN_USER_COLUMNS: &str = "u.user_id, u.username, u.email, u.display_name, r.name AS role,
    u.is_email_confirmed, u.deleted_at IS NOT NULL AS is_deleted,
    (extract(epoch FROM u.created_at) * 1000)::bigint AS created_at_ms,
    (extract(epoch FROM u.last_login_at) * 1000)::bigint AS last_login_at_ms,
    (extract(epoch FROM u.deleted_at) * 1000)::bigint AS deleted_at_ms";

/// Where a page of the user list continues: after this user id. Opaque and URL-safe on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminCursor(pub i64);

impl AdminCursor {
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("u:{}", self.0))
    }

    pub fn decode(raw: &str) -> Result<Self, AuthError> {
        let invalid = || AuthError::InvalidInput("nextCursor is not a cursor this API gave".into());
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        text.strip_prefix("u:")
            .and_then(|id| id.parse().ok())
            .map(Self)
            .ok_or_else(invalid)
    }
}

/// Up to `limit` users after the cursor, by id, and the cursor of the next page if there is one.
pub async fn list_users(
    client: &impl GenericClient,
    after: Option<AdminCursor>,
    limit: u32,
) -> Result<(Vec<AdminUser>, Option<AdminCursor>), AuthError> {
    let rows = client
        .query(
            &format!(
                "SELECT {ADMIN_USER_COLUMNS} FROM auth.users u JOIN auth.roles r USING (role_id)
                 WHERE u.user_id > $1 ORDER BY u.user_id LIMIT $2"
            ),
            &[&after.map_or(0, |c| c.0), &(i64::from(limit) + 1)],
        )
        .await?;
    let mut users: Vec<AdminUser> = rows.iter().map(admin_user).collect();
    let next = if users.len() > limit as usize {
        users.truncate(limit as usize);
        users.last().map(|u| AdminCursor(u.user_id))
    } else {
        None
    };
    Ok((users, next))
}

/// Gives a user the named role; `None` if there is no such user.
pub async fn set_role(
    client: &impl GenericClient,
    user_id: i64,
    role: &str,
) -> Result<Option<AdminUser>, AuthError> {
    let role_id: i16 = client
        .query_opt("SELECT role_id FROM auth.roles WHERE name = $1", &[&role])
        .await?
        .map(|row| row.get(0))
        .ok_or_else(|| {
            AuthError::InvalidInput(format!(
                "role must be \"superadmin\" or \"streamer\", not {role:?}"
            ))
        })?;
    let updated = client
        .execute(
            "UPDATE auth.users SET role_id = $2 WHERE user_id = $1",
            &[&user_id, &role_id],
        )
        .await?;
    if updated == 0 {
        return Ok(None);
    }
    let row = client
        .query_one(
            &format!(
                "SELECT {ADMIN_USER_COLUMNS} FROM auth.users u JOIN auth.roles r USING (role_id)
                 WHERE u.user_id = $1"
            ),
            &[&user_id],
        )
        .await?;
    Ok(Some(admin_user(&row)))
}

fn admin_user(row: &Row) -> AdminUser {
    AdminUser {
        user_id: row.get("user_id"),
        username: row.get("username"),
        email: row.get("email"),
        display_name: row.get("display_name"),
        role: row.get("role"),
        is_email_confirmed: row.get("is_email_confirmed"),
        is_deleted: row.get("is_deleted"),
        created_at_ms: row.get("created_at_ms"),
        last_login_at_ms: row.get("last_login_at_ms"),
        deleted_at_ms: row.get("deleted_at_ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let cursor = AdminCursor(42);
        let wire = cursor.encode();
        assert!(
            wire.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(AdminCursor::decode(&wire).unwrap(), cursor);
        for bad in ["", "%%%", "dTph", "eDo0Mg"] {
            assert!(AdminCursor::decode(bad).is_err(), "{bad}");
        }
    }
}
