//! The Auth gRPC service: each method parses its input, does its work, and lets `AuthError` pick the
//! status.

use deadpool_postgres::Pool;
use livestreamer_proto::auth::{
    AuthenticateStreamKeyRequest, ConfirmEmailRequest, ConfirmEmailResponse, GetMeRequest,
    GetVerificationKeyRequest, ResolveSessionRequest, ResolveSessionResponse, SignInRequest,
    SignInResponse, SignOutRequest, SignOutResponse, SignUpRequest, SignUpResponse, User,
    VerificationKey, auth_server::Auth,
};
use service_kit::clock::now_ms;
use service_kit::internal_token::TokenVerifier;
use std::sync::Arc;
use tonic::{Request, Response, Status};

use crate::{
    domain::{Email, FieldErrors, Password, Username},
    error::AuthError,
    mail::MailJobs,
    passwords,
    repo::{self, TokenPurpose},
    secrets::{random_token, same_hash, token_hash},
    sessions::SessionStore,
    signer::TokenSigner,
};

const CONFIRMATION_VALID_SECS: i64 = 24 * 3600;
const MAX_DISPLAY_NAME: usize = 50;

#[derive(Clone)]
pub struct AuthService {
    pub pool: Pool,
    pub sessions: SessionStore,
    pub mail: MailJobs,
    pub signer: Arc<TokenSigner>,
    pub verifier: TokenVerifier,
}

impl AuthService {
    async fn sign_up(&self, request: SignUpRequest) -> Result<SignUpResponse, AuthError> {
        let mut errors = FieldErrors::default();
        let username = errors.take(Username::parse(&request.username));
        let email = errors.take(Email::parse(&request.email));
        let password = errors.take(Password::parse(&request.password));
        let display_name = request.display_name.unwrap_or_default().trim().to_owned();
        if display_name.chars().count() > MAX_DISPLAY_NAME {
            errors.take::<()>(Err(format!(
                "displayName must be at most {MAX_DISPLAY_NAME} characters"
            )));
        }
        errors.into_result().map_err(AuthError::InvalidInput)?;
        let (username, email, password) = (username.unwrap(), email.unwrap(), password.unwrap());
        let display_name = if display_name.is_empty() {
            username.as_str().to_owned()
        } else {
            display_name
        };

        let password_hash = passwords::hash(password).await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let user_id =
            repo::insert_user(&tx, &username, &email, &password_hash, &display_name).await?;
        let token = random_token();
        repo::insert_token(
            &tx,
            &token_hash(&token),
            user_id,
            TokenPurpose::ConfirmEmail,
            CONFIRMATION_VALID_SECS,
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

    async fn confirm_email(
        &self,
        request: ConfirmEmailRequest,
    ) -> Result<ConfirmEmailResponse, AuthError> {
        if request.token.is_empty() || request.token.len() > 128 {
            return Err(AuthError::InvalidInput(
                "token is missing or malformed".to_owned(),
            ));
        }
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let user_id =
            repo::consume_token(&tx, &token_hash(&request.token), TokenPurpose::ConfirmEmail)
                .await?;
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

    async fn sign_in(&self, request: SignInRequest) -> Result<SignInResponse, AuthError> {
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
        if let Some(previous) = request.previous_session_id.filter(|s| !s.is_empty()) {
            self.sessions.delete(&previous).await?;
        }
        let session_id = self.sessions.create(credentials.user_id).await?;
        repo::record_login(&self.pool, credentials.user_id).await?;
        let record = repo::user(&self.pool.get().await?, credentials.user_id)
            .await?
            .ok_or(AuthError::WrongCredentials)?;
        let expires = now_ms() + self.sessions.ttl_secs() as i64 * 1000;
        Ok(SignInResponse {
            session_id,
            user: Some(record.user),
            session_expires_at_ms: expires,
        })
    }

    async fn resolve_session(
        &self,
        request: ResolveSessionRequest,
    ) -> Result<ResolveSessionResponse, AuthError> {
        let user_id = self
            .sessions
            .resolve(&request.session_id)
            .await?
            .ok_or(AuthError::NoSession)?;
        let Some(record) = repo::user(&self.pool.get().await?, user_id).await? else {
            self.sessions.delete(&request.session_id).await?;
            return Err(AuthError::NoSession);
        };
        self.identified(record)
    }

    async fn authenticate_stream_key(
        &self,
        request: AuthenticateStreamKeyRequest,
    ) -> Result<ResolveSessionResponse, AuthError> {
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

#[tonic::async_trait]
impl Auth for AuthService {
    async fn sign_up(
        &self,
        request: Request<SignUpRequest>,
    ) -> Result<Response<SignUpResponse>, Status> {
        Ok(Response::new(
            AuthService::sign_up(self, request.into_inner()).await?,
        ))
    }

    async fn confirm_email(
        &self,
        request: Request<ConfirmEmailRequest>,
    ) -> Result<Response<ConfirmEmailResponse>, Status> {
        Ok(Response::new(
            AuthService::confirm_email(self, request.into_inner()).await?,
        ))
    }

    async fn sign_in(
        &self,
        request: Request<SignInRequest>,
    ) -> Result<Response<SignInResponse>, Status> {
        Ok(Response::new(
            AuthService::sign_in(self, request.into_inner()).await?,
        ))
    }

    async fn sign_out(
        &self,
        request: Request<SignOutRequest>,
    ) -> Result<Response<SignOutResponse>, Status> {
        self.sessions
            .delete(&request.into_inner().session_id)
            .await
            .map_err(Status::from)?;
        Ok(Response::new(SignOutResponse {}))
    }

    async fn resolve_session(
        &self,
        request: Request<ResolveSessionRequest>,
    ) -> Result<Response<ResolveSessionResponse>, Status> {
        Ok(Response::new(
            AuthService::resolve_session(self, request.into_inner()).await?,
        ))
    }

    async fn authenticate_stream_key(
        &self,
        request: Request<AuthenticateStreamKeyRequest>,
    ) -> Result<Response<ResolveSessionResponse>, Status> {
        Ok(Response::new(
            AuthService::authenticate_stream_key(self, request.into_inner()).await?,
        ))
    }

    async fn get_me(&self, request: Request<GetMeRequest>) -> Result<Response<User>, Status> {
        let caller = self.verifier.caller(&request).await?;
        let client = self.pool.get().await.map_err(AuthError::from)?;
        let record = repo::user(&client, caller.user_id)
            .await?
            .ok_or(AuthError::NoSession)?;
        Ok(Response::new(record.user))
    }

    async fn get_verification_key(
        &self,
        _request: Request<GetVerificationKeyRequest>,
    ) -> Result<Response<VerificationKey>, Status> {
        Ok(Response::new(VerificationKey {
            algorithm: "EdDSA".to_owned(),
            public_key: self.signer.public_key().to_vec(),
        }))
    }
}
