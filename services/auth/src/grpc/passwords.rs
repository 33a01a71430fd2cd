//! Forgotten passwords: asking for a reset mail, and setting a new password with its link.

use livestreamer_proto::auth::{
    RequestPasswordResetRequest, RequestPasswordResetResponse, ResetPasswordRequest,
    ResetPasswordResponse,
};
use tonic::Request;

use super::{AuthService, link_token};
use crate::{
    domain::{Email, Password},
    error::AuthError,
    passwords,
    repo::{self, TokenPurpose},
    secrets::{random_token, token_hash},
};

impl AuthService {
    /// Answers at once, the same for every well-formed address: the lookup and the mail happen
    /// afterwards, so neither the answer nor its timing tells whether an account exists.
    pub(super) async fn request_password_reset(
        &self,
        request: Request<RequestPasswordResetRequest>,
    ) -> Result<RequestPasswordResetResponse, AuthError> {
        let email = Email::parse(&request.into_inner().email).map_err(AuthError::InvalidInput)?;
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.queue_reset_mail(&email).await {
                tracing::error!(%error, "could not queue a password reset mail");
            }
        });
        Ok(RequestPasswordResetResponse {})
    }

    async fn queue_reset_mail(&self, email: &Email) -> Result<(), AuthError> {
        let client = self.pool.get().await?;
        let Some((user_id, username, stored_email)) =
            repo::live_user_by_email(&client, email).await?
        else {
            tracing::info!("password reset asked for an address with no live account");
            return Ok(());
        };
        let token = random_token();
        repo::insert_token(
            &client,
            &token_hash(&token),
            user_id,
            TokenPurpose::ResetPassword,
        )
        .await?;
        self.mail
            .reset_password(&stored_email, &username, &token)
            .await
    }

    /// Changes the password of the one account the token belongs to, voids its other reset links
    /// and revokes its sessions.
    pub(super) async fn reset_password(
        &self,
        request: Request<ResetPasswordRequest>,
    ) -> Result<ResetPasswordResponse, AuthError> {
        let request = request.into_inner();
        let token = link_token(&request.token)?;
        let password = Password::parse(&request.new_password)
            .map_err(|reason| AuthError::InvalidInput(format!("new{}", capitalized(&reason))))?;
        let password_hash = passwords::hash(password).await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let user_id =
            repo::consume_token(&tx, &token_hash(token), TokenPurpose::ResetPassword).await?;
        if !repo::set_password(&tx, user_id, &password_hash).await? {
            return Err(AuthError::NotFound(
                "This account no longer exists".to_owned(),
            ));
        }
        repo::void_tokens(&tx, user_id, TokenPurpose::ResetPassword).await?;
        tx.commit().await?;
        self.sessions.revoke_all(user_id).await?;
        tracing::info!(user_id, "password reset");
        Ok(ResetPasswordResponse {})
    }
}

/// "password must ..." → "Password must ...", to name the field `newPassword`.
fn capitalized(reason: &str) -> String {
    let mut chars = reason.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
