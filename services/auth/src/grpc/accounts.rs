//! Signing up, confirming, signing in and out, and turning a session or a stream key into an
//! internal token.

use livestreamer_proto::auth::{
    AuthenticateStreamKeyRequest, ConfirmEmailRequest, ConfirmEmailResponse, GetMeRequest,
    GetVerificationKeyRequest, ResolveSessionRequest, ResolveSessionResponse, SignInRequest,
    SignInResponse, SignOutRequest, SignOutResponse, SignUpRequest, SignUpResponse, User,
    VerificationKey,
};
use service_kit::clock::now_ms;
use tonic::Request;

use super::{AuthService, link_token};
use crate::{
    domain::{DisplayName, Email, FieldErrors, Password, Username},
    error::AuthError,
    passwords,
    repo::{self, TokenPurpose},
    secrets::{random_token, same_hash, token_hash},
};

impl AuthService {
    pub(super) async fn sign_up(
        &self,
        request: Request<SignUpRequest>,
    ) -> Result<SignUpResponse, AuthError> {
        let request = request.into_inner();
        let mut errors = FieldErrors::default();
        let username = errors.take(Username::parse(&request.username));
        let email = errors.take(Email::parse(&request.email));
        let password = errors.take(Password::parse(&request.password));
        let display_name = errors.take(DisplayName::parse(
            &request.display_name.unwrap_or_default(),
        ));
        errors.into_result().map_err(AuthError::InvalidInput)?;
        let (username, email, password, display_name) = (
            username.unwrap(),
            email.unwrap(),
            password.unwrap(),
            display_name.unwrap(),
        );
        let display_name = match display_name.as_str() {
            "" => username.as_str(),
            given => given,
        };

        let password_hash = passwords::hash(password).await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let user_id =
            repo::insert_user(&tx, &username, &email, &password_hash, display_name).await?;
        let token = random_token();
        repo::insert_token(
            &tx,
            &token_hash(&token),
            user_id,
            TokenPurpose::ConfirmEmail,
        )
        .await?;
        // Queued before the commit: an account is never created without its confirmation mail.
        self.mail
            .confirm_email(email.as_str(), username.as_str(), &token)
            .await?;
        tx.commit().await?;
        tracing::info!(user_id, "signed up");
        Ok(SignUpResponse { user_id })
    }

    pub(super) async fn confirm_email(
        &self,
        request: Request<ConfirmEmailRequest>,
    ) -> Result<ConfirmEmailResponse, AuthError> {
        let request = request.into_inner();
        let token = link_token(&request.token)?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let user_id =
            repo::consume_token(&tx, &token_hash(token), TokenPurpose::ConfirmEmail).await?;
        repo::confirm_email(&tx, user_id).await?;
        let record = repo::user(&tx, user_id)
            .await?
            .ok_or_else(|| AuthError::NotFound("This account no longer exists".to_owned()))?;
        self.mail
            .email_confirmed(user_id, &record.user.email, &record.user.username)
            .await?;
        tx.commit().await?;
        Ok(ConfirmEmailResponse { user_id })
    }

    pub(super) async fn sign_in(
        &self,
        request: Request<SignInRequest>,
    ) -> Result<SignInResponse, AuthError> {
        let request = request.into_inner();
        if request.login.trim().is_empty() || request.password.is_empty() {
            return Err(AuthError::InvalidInput(
                "username or email, and password, are required".to_owned(),
            ));
        }
        if request.login.len() > 320 || request.password.chars().count() > 128 {
            return Err(AuthError::WrongCredentials);
        }
        let found = repo::credentials(&self.pool, &request.login).await?;
        let stored = found
            .as_ref()
            .map_or_else(passwords::decoy_hash, |c| c.password_hash.clone());
        let matches = passwords::verify(request.password, stored).await?;
        let credentials = match found {
            Some(c) if matches && !c.is_deleted => c,
            _ => return Err(AuthError::WrongCredentials),
        };
        if !credentials.is_email_confirmed {
            return Err(AuthError::EmailNotConfirmed);
        }
        // Signing in while signed in replaces the browser's old session (the original failed).
        if let Some(previous) = request.previous_session_id.filter(|s| !s.is_empty()) {
            self.sessions.delete(&previous).await?;
        }
        let session_id = self.sessions.create(credentials.user_id).await?;
        repo::record_login(&self.pool, credentials.user_id).await?;
        let user = self.live_user(credentials.user_id).await?;
        let expires = now_ms() + self.sessions.ttl_secs() as i64 * 1000;
        Ok(SignInResponse {
            session_id,
            user: Some(user),
            session_expires_at_ms: expires,
        })
    }

    pub(super) async fn sign_out(
        &self,
        request: Request<SignOutRequest>,
    ) -> Result<SignOutResponse, AuthError> {
        self.sessions
            .delete(&request.into_inner().session_id)
            .await?;
        Ok(SignOutResponse {})
    }

    pub(super) async fn resolve_session(
        &self,
        request: Request<ResolveSessionRequest>,
    ) -> Result<ResolveSessionResponse, AuthError> {
        let session_id = request.into_inner().session_id;
        let user_id = self
            .sessions
            .resolve(&session_id)
            .await?
            .ok_or(AuthError::NoSession)?;
        let Some(record) = repo::user(&self.pool.get().await?, user_id).await? else {
            self.sessions.delete(&session_id).await?;
            return Err(AuthError::NoSession);
        };
        self.identified(record)
    }

    pub(super) async fn get_me(&self, request: Request<GetMeRequest>) -> Result<User, AuthError> {
        let caller = self.verifier.caller(&request).await?;
        self.live_user(caller.user_id).await
    }

    pub(super) async fn authenticate_stream_key(
        &self,
        request: Request<AuthenticateStreamKeyRequest>,
    ) -> Result<ResolveSessionResponse, AuthError> {
        let request = request.into_inner();
        let wrong = || AuthError::Unauthenticated("Wrong username or stream key".to_owned());
        if request.username.len() > 64
            || request.stream_key.is_empty()
            || request.stream_key.len() > 128
        {
            return Err(wrong());
        }
        let (user_id, stored) = repo::stream_key_of(&self.pool, &request.username)
            .await?
            .ok_or_else(wrong)?;
        if !same_hash(&token_hash(&request.stream_key), &stored) {
            return Err(wrong());
        }
        let record = repo::user(&self.pool.get().await?, user_id)
            .await?
            .ok_or_else(wrong)?;
        self.identified(record)
    }

    pub(super) async fn get_verification_key(
        &self,
        _request: Request<GetVerificationKeyRequest>,
    ) -> Result<VerificationKey, AuthError> {
        Ok(VerificationKey {
            algorithm: "EdDSA".to_owned(),
            public_key: self.signer.public_key().to_vec(),
        })
    }

    /// The user and a fresh internal token naming them.
    fn identified(&self, record: repo::UserRecord) -> Result<ResolveSessionResponse, AuthError> {
        let token = self
            .signer
            .sign(
                record.user.user_id,
                &record.user.username,
                &record.user.role,
                record.permissions,
            )
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok(ResolveSessionResponse {
            user: Some(record.user),
            internal_token: token,
        })
    }
}
