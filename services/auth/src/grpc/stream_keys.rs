//! The caller's stream key: the password Icecast source clients send. Only its hash is stored, so the
//! key itself is shown once, when it is made; rotating replaces it at once for the relay.

use livestreamer_proto::auth::{GetStreamKeyRequest, RotateStreamKeyRequest, StreamKey};
use tonic::Request;

use super::AuthService;
use crate::{
    error::AuthError,
    repo,
    secrets::{random_token, token_hash},
};

impl AuthService {
    pub(super) async fn get_stream_key(
        &self,
        request: Request<GetStreamKeyRequest>,
    ) -> Result<StreamKey, AuthError> {
        let caller = self
            .permitted(&request, "own_audio_stream", "create")
            .await?;
        let client = self.pool.get().await?;
        Ok(StreamKey {
            stream_key: None,
            created_at_ms: repo::stream_key_created_at(&client, caller.user_id).await?,
        })
    }

    pub(super) async fn rotate_stream_key(
        &self,
        request: Request<RotateStreamKeyRequest>,
    ) -> Result<StreamKey, AuthError> {
        let caller = self
            .permitted(&request, "own_audio_stream", "create")
            .await?;
        let key = random_token();
        let client = self.pool.get().await?;
        let created_at_ms =
            repo::replace_stream_key(&client, caller.user_id, Some(&token_hash(&key))).await?;
        tracing::info!(user_id = caller.user_id, "stream key rotated");
        Ok(StreamKey {
            stream_key: Some(key),
            created_at_ms,
        })
    }
}
