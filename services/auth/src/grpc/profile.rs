//! The caller's own account (profile fields, picture, deletion) and what anyone may see of a user.

use livestreamer_proto::auth::{
    DeleteMeRequest, DeleteMeResponse, DeleteProfilePictureRequest, GetProfilePictureRequest,
    GetPublicProfileRequest, ProfilePicture, PublicProfile, SetProfilePictureRequest,
    UpdateMeRequest, User,
};
use tonic::Request;

use super::AuthService;
use crate::{
    domain::{About, DisplayName, FieldErrors, Username, WebsiteUrl},
    error::AuthError,
    pictures,
    repo::{self, ProfileChanges, TokenPurpose},
};

impl AuthService {
    pub(super) async fn update_me(
        &self,
        request: Request<UpdateMeRequest>,
    ) -> Result<User, AuthError> {
        let caller = self
            .permitted(&request, "own_user_account", "update")
            .await?;
        let changes = profile_changes(request.into_inner())?;
        let client = self.pool.get().await?;
        repo::update_profile(&client, caller.user_id, &changes).await?;
        self.live_user(caller.user_id).await
    }

    pub(super) async fn delete_me(
        &self,
        request: Request<DeleteMeRequest>,
    ) -> Result<DeleteMeResponse, AuthError> {
        let caller = self
            .permitted(&request, "own_user_account", "delete")
            .await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !repo::soft_delete(&tx, caller.user_id).await? {
            return Err(AuthError::NoSession);
        }
        repo::replace_stream_key(&tx, caller.user_id, None).await?;
        repo::delete_picture(&tx, caller.user_id).await?;
        for purpose in [TokenPurpose::ConfirmEmail, TokenPurpose::ResetPassword] {
            repo::void_tokens(&tx, caller.user_id, purpose).await?;
        }
        tx.commit().await?;
        self.sessions.revoke_all(caller.user_id).await?;
        tracing::info!(user_id = caller.user_id, "account deleted");
        Ok(DeleteMeResponse {})
    }

    pub(super) async fn set_profile_picture(
        &self,
        request: Request<SetProfilePictureRequest>,
    ) -> Result<User, AuthError> {
        let caller = self
            .permitted(&request, "own_user_account", "update")
            .await?;
        let encoded = pictures::reencode(request.into_inner().image).await?;
        let client = self.pool.get().await?;
        repo::set_picture(&client, caller.user_id, encoded.content_type, &encoded.data).await?;
        self.live_user(caller.user_id).await
    }

    pub(super) async fn delete_profile_picture(
        &self,
        request: Request<DeleteProfilePictureRequest>,
    ) -> Result<User, AuthError> {
        let caller = self
            .permitted(&request, "own_user_account", "update")
            .await?;
        repo::delete_picture(&self.pool.get().await?, caller.user_id).await?;
        self.live_user(caller.user_id).await
    }

    pub(super) async fn get_profile_picture(
        &self,
        request: Request<GetProfilePictureRequest>,
    ) -> Result<ProfilePicture, AuthError> {
        let username = request.into_inner().username;
        let client = self.pool.get().await?;
        let picture = match Username::parse(&username) {
            Ok(name) => repo::picture_of(&client, name.as_str()).await?,
            Err(_) => None,
        };
        let picture = picture.ok_or_else(|| no_such_user(&username))?;
        Ok(
            picture.map_or_else(ProfilePicture::default, |p| ProfilePicture {
                content_type: p.content_type,
                data: p.data,
                updated_at_ms: p.updated_at_ms,
            }),
        )
    }

    pub(super) async fn get_public_profile(
        &self,
        request: Request<GetPublicProfileRequest>,
    ) -> Result<PublicProfile, AuthError> {
        let username = request.into_inner().username;
        let client = self.pool.get().await?;
        let profile = match Username::parse(&username) {
            Ok(name) => repo::public_profile(&client, name.as_str()).await?,
            Err(_) => None,
        };
        profile.ok_or_else(|| no_such_user(&username))
    }
}

fn no_such_user(username: &str) -> AuthError {
    let shown: String = username.chars().take(32).collect();
    AuthError::NotFound(format!("There is no user {shown:?}"))
}

/// Parses every given field, naming each invalid one.
fn profile_changes(request: UpdateMeRequest) -> Result<ProfileChanges, AuthError> {
    let mut errors = FieldErrors::default();
    let changes = ProfileChanges {
        username: request
            .username
            .and_then(|v| errors.take(Username::parse(&v))),
        display_name: request
            .display_name
            .and_then(|v| errors.take(DisplayName::parse(&v))),
        about: request.about.and_then(|v| errors.take(About::parse(&v))),
        website_url: request
            .website_url
            .and_then(|v| errors.take(WebsiteUrl::parse(&v))),
    };
    errors.into_result().map_err(AuthError::InvalidInput)?;
    Ok(changes)
}
