//! Profile pictures, already re-encoded, one per user.

use deadpool_postgres::GenericClient;

use crate::error::AuthError;

pub struct Picture {
    pub content_type: String,
    pub data: Vec<u8>,
    pub updated_at_ms: i64,
}

pub async fn set_picture(
    client: &impl GenericClient,
    user_id: i64,
    content_type: &str,
    data: &[u8],
) -> Result<(), AuthError> {
    client
        .execute(
            "INSERT INTO auth.profile_pictures (user_id, content_type, data) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE
             SET content_type = excluded.content_type, data = excluded.data,
                 updated_at = greatest(now(), auth.profile_pictures.updated_at + interval '1 ms')",
            &[&user_id, &content_type, &data],
        )
        .await?;
    Ok(())
}

pub async fn delete_picture(client: &impl GenericClient, user_id: i64) -> Result<(), AuthError> {
    client
        .execute(
            "DELETE FROM auth.profile_pictures WHERE user_id = $1",
            &[&user_id],
        )
        .await?;
    Ok(())
}

/// The live user's picture: `None` for an unknown or deleted user, `Some(None)` for the default.
pub async fn picture_of(
    client: &impl GenericClient,
    username: &str,
) -> Result<Option<Option<Picture>>, AuthError> {
    let row = client
        .query_opt(
            "SELECT p.content_type, p.data,
                    (extract(epoch FROM p.updated_at) * 1000)::bigint AS updated_at_ms
             FROM auth.users u LEFT JOIN auth.profile_pictures p USING (user_id)
             WHERE lower(u.username) = lower($1) AND u.deleted_at IS NULL",
            &[&username],
        )
        .await?;
    Ok(row.map(|row| {
        row.get::<_, Option<String>>("content_type")
            .map(|content_type| Picture {
                content_type,
                data: row.get("data"),
                updated_at_ms: row.get("updated_at_ms"),
            })
    }))
}
