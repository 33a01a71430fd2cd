//! Administration: the list of every account, and roles.

use livestreamer_proto::auth::{AdminUser, ChangeRoleRequest, ListUsersRequest, ListUsersResponse};
use tonic::Request;

use super::AuthService;
use crate::{
    error::AuthError,
    repo::{self, AdminCursor},
};

const DEFAULT_PAGE: u32 = 20;
const MAX_PAGE: u32 = 50;

impl AuthService {
    pub(super) async fn list_users(
        &self,
        request: Request<ListUsersRequest>,
    ) -> Result<ListUsersResponse, AuthError> {
        self.permitted(&request, "any_user_account", "read").await?;
        let request = request.into_inner();
        let limit = match request.limit {
            0 => DEFAULT_PAGE,
            l if l <= MAX_PAGE => l,
            l => {
                return Err(AuthError::InvalidInput(format!(
                    "limit must be between 1 and {MAX_PAGE}, not {l}"
                )));
            }
        };
        let after = match request.cursor.as_str() {
            "" => None,
            raw => Some(AdminCursor::decode(raw)?),
        };
        let client = self.pool.get().await?;
        let (users, next) = repo::list_users(&client, after, limit).await?;
        Ok(ListUsersResponse {
            users,
            next_cursor: next.map(AdminCursor::encode).unwrap_or_default(),
        })
    }

    /// A new role takes effect at once: the user's sessions are revoked, so their next request
    /// carries the new permissions after signing in again.
    pub(super) async fn change_role(
        &self,
        request: Request<ChangeRoleRequest>,
    ) -> Result<AdminUser, AuthError> {
        let caller = self
            .permitted(&request, "any_user_account", "update")
            .await?;
        let request = request.into_inner();
        if request.user_id == caller.user_id {
            return Err(AuthError::Conflict(
                "You cannot change your own role".to_owned(),
            ));
        }
        let client = self.pool.get().await?;
        let user = repo::set_role(&client, request.user_id, &request.role)
            .await?
            .ok_or_else(|| {
                AuthError::NotFound(format!("There is no user with id {}", request.user_id))
            })?;
        self.sessions.revoke_all(user.user_id).await?;
        tracing::info!(user_id = user.user_id, role = %user.role, "role changed");
        Ok(user)
    }
}
