//! Email tokens (confirmation and password reset): only their hash is stored; each is used once and
//! expires (the original's never did).

use deadpool_postgres::GenericClient;

use crate::error::AuthError;

#[derive(Debug, Clone, Copy)]
pub enum TokenPurpose {
    ConfirmEmail,
    ResetPassword,
}

impl TokenPurpose {
    fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::ConfirmEmail => "confirm_email",
            TokenPurpose::ResetPassword => "reset_password",
        }
    }

    /// How long a token of this purpose may be used.
    pub fn valid_for_secs(self) -> i64 {
        match self {
            TokenPurpose::ConfirmEmail => 24 * 3600,
            TokenPurpose::ResetPassword => 3600,
        }
    }
}

pub async fn insert_token(
    client: &impl GenericClient,
    token_hash: &[u8],
    user_id: i64,
    purpose: TokenPurpose,
) -> Result<(), AuthError> {
    client
        .execute(
            "INSERT INTO auth.email_tokens (token_hash, user_id, purpose, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
            &[
                &token_hash,
                &user_id,
                &purpose.as_str(),
                &(purpose.valid_for_secs() as f64),
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

/// Marks every unused token of this user and purpose used: one reset voids the other links.
pub async fn void_tokens(
    client: &impl GenericClient,
    user_id: i64,
    purpose: TokenPurpose,
) -> Result<(), AuthError> {
    client
        .execute(
            "UPDATE auth.email_tokens SET used_at = now()
             WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
            &[&user_id, &purpose.as_str()],
        )
        .await?;
    Ok(())
}
