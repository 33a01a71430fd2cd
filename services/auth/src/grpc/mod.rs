//! The Auth gRPC service. Each method parses its input, checks the caller where it must, does its
//! work, and lets `AuthError` pick the status; the tonic trait is only a table of those methods.

mod accounts;
mod admin;
mod passwords;
mod profile;
mod stream_keys;

use deadpool_postgres::Pool;
use livestreamer_proto::auth::{
    AdminUser, AuthenticateStreamKeyRequest, ChangeRoleRequest, ConfirmEmailRequest,
    ConfirmEmailResponse, DeleteMeRequest, DeleteMeResponse, DeleteProfilePictureRequest,
    GetMeRequest, GetProfilePictureRequest, GetPublicProfileRequest, GetStreamKeyRequest,
    GetVerificationKeyRequest, ListUsersRequest, ListUsersResponse, ProfilePicture, PublicProfile,
    RequestPasswordResetRequest, RequestPasswordResetResponse, ResetPasswordRequest,
    ResetPasswordResponse, ResolveSessionRequest, ResolveSessionResponse, RotateStreamKeyRequest,
    SetProfilePictureRequest, SignInRequest, SignInResponse, SignOutRequest, SignOutResponse,
    SignUpRequest, SignUpResponse, StreamKey, UpdateMeRequest, User, VerificationKey,
    auth_server::Auth,
};
use service_kit::internal_token::{Caller, TokenVerifier};
use std::sync::Arc;
use tonic::{Request, Response, Status};

use crate::{error::AuthError, mail::MailJobs, repo, sessions::SessionStore, signer::TokenSigner};

#[derive(Clone)]
pub struct AuthService {
    pub pool: Pool,
    pub sessions: SessionStore,
    pub mail: MailJobs,
    pub signer: Arc<TokenSigner>,
    pub verifier: TokenVerifier,
}

impl AuthService {
    /// The caller named by the request's internal token, if they hold `resource:action`.
    async fn permitted<T>(
        &self,
        request: &Request<T>,
        resource: &str,
        action: &str,
    ) -> Result<Caller, AuthError> {
        let caller = self.verifier.caller(request).await?;
        caller.require(resource, action)?;
        Ok(caller)
    }

    /// The caller's account, read fresh; a deleted account is no session at all.
    async fn live_user(&self, user_id: i64) -> Result<User, AuthError> {
        let client = self.pool.get().await?;
        let record = repo::user(&client, user_id)
            .await?
            .ok_or(AuthError::NoSession)?;
        Ok(record.user)
    }
}

/// A token from a link as typed or pasted: present and of a sane length, or a 400.
fn link_token(raw: &str) -> Result<&str, AuthError> {
    if raw.is_empty() || raw.len() > 128 {
        Err(AuthError::InvalidInput(
            "token is missing or malformed".to_owned(),
        ))
    } else {
        Ok(raw)
    }
}

/// Implements the tonic trait by calling the inherent method of the same name.
macro_rules! rpcs {
    ($($name:ident($request:ty) -> $response:ty;)*) => {
        #[tonic::async_trait]
        impl Auth for AuthService {
            $(
                async fn $name(
                    &self,
                    request: Request<$request>,
                ) -> Result<Response<$response>, Status> {
                    Ok(Response::new(AuthService::$name(self, request).await?))
                }
            )*
        }
    };
}

rpcs! {
    sign_up(SignUpRequest) -> SignUpResponse;
    confirm_email(ConfirmEmailRequest) -> ConfirmEmailResponse;
    sign_in(SignInRequest) -> SignInResponse;
    sign_out(SignOutRequest) -> SignOutResponse;
    resolve_session(ResolveSessionRequest) -> ResolveSessionResponse;
    get_me(GetMeRequest) -> User;
    authenticate_stream_key(AuthenticateStreamKeyRequest) -> ResolveSessionResponse;
    get_verification_key(GetVerificationKeyRequest) -> VerificationKey;
    update_me(UpdateMeRequest) -> User;
    delete_me(DeleteMeRequest) -> DeleteMeResponse;
    request_password_reset(RequestPasswordResetRequest) -> RequestPasswordResetResponse;
    reset_password(ResetPasswordRequest) -> ResetPasswordResponse;
    set_profile_picture(SetProfilePictureRequest) -> User;
    delete_profile_picture(DeleteProfilePictureRequest) -> User;
    get_profile_picture(GetProfilePictureRequest) -> ProfilePicture;
    get_stream_key(GetStreamKeyRequest) -> StreamKey;
    rotate_stream_key(RotateStreamKeyRequest) -> StreamKey;
    get_public_profile(GetPublicProfileRequest) -> PublicProfile;
    list_users(ListUsersRequest) -> ListUsersResponse;
    change_role(ChangeRoleRequest) -> AdminUser;
}
