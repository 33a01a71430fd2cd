//! The Broadcasts gRPC service.

use deadpool_postgres::Pool;
use livestreamer_proto::broadcasts::{
    AuthorizeStreamRequest, Broadcast, CreateBroadcastRequest, GetBroadcastRequest,
    GoLiveNowRequest, broadcasts_server::Broadcasts,
};
use service_kit::clock::now_ms;
use service_kit::internal_token::TokenVerifier;
use tonic::{Request, Response, Status};

use crate::{
    domain::{Description, Schedule, Title},
    error::BroadcastError,
    repo,
};

#[derive(Clone)]
pub struct BroadcastsService {
    pub pool: Pool,
    pub verifier: TokenVerifier,
}

fn parse_new(
    request: &CreateBroadcastRequest,
) -> Result<(Title, Description, Schedule), BroadcastError> {
    let title = Title::parse(&request.title);
    let description = Description::parse(&request.description);
    let schedule = Schedule::parse(request.start_at_ms, request.end_at_ms, now_ms());
    match (title, description, schedule) {
        (Ok(t), Ok(d), Ok(s)) => Ok((t, d, s)),
        (t, d, s) => {
            let errors: Vec<String> = [t.err(), d.err(), s.err()].into_iter().flatten().collect();
            Err(BroadcastError::InvalidInput(errors.join("; ")))
        }
    }
}

#[tonic::async_trait]
impl Broadcasts for BroadcastsService {
    async fn create_broadcast(
        &self,
        request: Request<CreateBroadcastRequest>,
    ) -> Result<Response<Broadcast>, Status> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_broadcast", "create")?;
        let (title, description, schedule) = parse_new(request.get_ref())?;
        let client = self.pool.get().await.map_err(BroadcastError::from)?;
        let broadcast = repo::insert(
            &client,
            caller.user_id,
            &caller.username,
            &title,
            &description,
            schedule,
        )
        .await?;
        tracing::info!(
            broadcast_id = broadcast.broadcast_id,
            user_id = caller.user_id,
            "scheduled"
        );
        Ok(Response::new(broadcast))
    }

    async fn get_broadcast(
        &self,
        request: Request<GetBroadcastRequest>,
    ) -> Result<Response<Broadcast>, Status> {
        let caller = self.verifier.optional_caller(&request).await?;
        let id = request.get_ref().broadcast_id;
        let client = self.pool.get().await.map_err(BroadcastError::from)?;
        let broadcast = repo::find(&client, id)
            .await?
            .ok_or(BroadcastError::NotFound(id))?;
        let is_owner = caller
            .as_ref()
            .is_some_and(|c| c.user_id == broadcast.user_id);
        let is_moderator = caller
            .as_ref()
            .is_some_and(|c| c.can("any_broadcast", "read"));
        if !broadcast.is_visible && !is_owner && !is_moderator {
            return Err(BroadcastError::NotFound(id).into());
        }
        Ok(Response::new(broadcast))
    }

    async fn go_live_now(
        &self,
        request: Request<GoLiveNowRequest>,
    ) -> Result<Response<Broadcast>, Status> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_audio_stream", "create")?;
        let wanted = request.get_ref();
        // Source tools set their names casually: a name that is not a valid title gives the default.
        let title = Title::parse(&wanted.title).or_else(|_| {
            Title::parse(&format!(
                "Live {}",
                chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
            ))
        });
        let title = title.map_err(BroadcastError::InvalidInput)?;
        let description =
            Description::parse(&wanted.description).unwrap_or_else(|_| Description::default());
        let client = self.pool.get().await.map_err(BroadcastError::from)?;
        let broadcast = repo::go_live_now(
            &client,
            caller.user_id,
            &caller.username,
            &title,
            &description,
        )
        .await?;
        tracing::info!(
            broadcast_id = broadcast.broadcast_id,
            user_id = caller.user_id,
            "went live now"
        );
        Ok(Response::new(broadcast))
    }

    async fn authorize_stream(
        &self,
        request: Request<AuthorizeStreamRequest>,
    ) -> Result<Response<Broadcast>, Status> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_audio_stream", "create")?;
        let id = request.get_ref().broadcast_id;
        let client = self.pool.get().await.map_err(BroadcastError::from)?;
        let broadcast = repo::go_live(&client, id, caller.user_id).await?;
        tracing::info!(broadcast_id = id, user_id = caller.user_id, "went live");
        Ok(Response::new(broadcast))
    }
}
