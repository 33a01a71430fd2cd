//! The Broadcasts gRPC service: each method checks who calls and what they may do, then hands over
//! to the module that owns the rule (schedule, streams, listings).

use deadpool_postgres::Pool;
use livestreamer_proto::broadcasts::{
    Artwork, AuthorizeStreamRequest, Broadcast, BroadcastPage, CreateBroadcastRequest,
    DeleteBroadcastRequest, DeleteBroadcastResponse, GetArtworkRequest, GetBroadcastRequest,
    GoLiveNowRequest, GroupedBroadcasts, LikeStreamRequest, LikeStreamResponse,
    ListBroadcastsRequest, ListLiveRequest, ListMyBroadcastsRequest, ListUserBroadcastsRequest,
    LiveBroadcasts, TimeGroup, UpdateBroadcastRequest, broadcasts_server::Broadcasts,
};
use service_kit::{amqp::EventPublisher, cache::VersionedCache, internal_token::TokenVerifier};
use tonic::{Request, Response, Status};

use crate::{
    cursor::Cursor,
    domain::{Description, PageLimit, Title},
    error::BroadcastError,
    listings::{self, Owner},
    live::LiveState,
    repo,
};

#[derive(Clone)]
pub struct BroadcastsService {
    pub pool: Pool,
    pub verifier: TokenVerifier,
    pub live: LiveState,
    /// Only invalidated here; the gateway reads and fills it.
    pub cache: VersionedCache,
    pub publisher: EventPublisher,
}

type Answer<T> = Result<Response<T>, Status>;

fn answer<T>(result: Result<T, BroadcastError>) -> Answer<T> {
    result.map(Response::new).map_err(Status::from)
}

fn group(raw: i32, required: bool) -> Result<TimeGroup, BroadcastError> {
    match TimeGroup::try_from(raw) {
        Ok(TimeGroup::Unspecified) if required => Err(BroadcastError::InvalidInput(
            "time must be past, current or future".to_owned(),
        )),
        Ok(group) => Ok(group),
        Err(_) => Err(BroadcastError::InvalidInput(
            "time must be past, current or future".to_owned(),
        )),
    }
}

impl BroadcastsService {
    async fn page(&self, request: &ListBroadcastsRequest) -> Result<BroadcastPage, BroadcastError> {
        let group = group(request.time, true)?;
        let limit = PageLimit::parse(request.limit).map_err(BroadcastError::InvalidInput)?;
        let after = Cursor::parse(&request.cursor, group).map_err(BroadcastError::InvalidInput)?;
        let client = self.pool.get().await?;
        let (page, ttl) = tokio::try_join!(
            listings::page(&client, group, limit, after),
            listings::cache_ttl_ms(&client)
        )?;
        let (broadcasts, next) = page;
        Ok(BroadcastPage {
            broadcasts,
            next_cursor: next.map(|c| c.encode()).unwrap_or_default(),
            cache_ttl_ms: ttl,
        })
    }

    async fn grouped(
        &self,
        owner: Owner<'_>,
        time: i32,
    ) -> Result<GroupedBroadcasts, BroadcastError> {
        let only = group(time, false)?;
        let client = self.pool.get().await?;
        let (mut groups, ttl) = tokio::try_join!(
            listings::grouped(&client, owner, only),
            listings::cache_ttl_ms(&client)
        )?;
        groups.cache_ttl_ms = ttl;
        Ok(groups)
    }
}

#[tonic::async_trait]
impl Broadcasts for BroadcastsService {
    async fn create_broadcast(
        &self,
        request: Request<CreateBroadcastRequest>,
    ) -> Answer<Broadcast> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_broadcast", "create")?;
        answer(self.create(&caller, request.into_inner()).await)
    }

    async fn get_broadcast(&self, request: Request<GetBroadcastRequest>) -> Answer<Broadcast> {
        let caller = self.verifier.optional_caller(&request).await?;
        let id = request.get_ref().broadcast_id;
        let mut broadcast = self.visible_to(caller.as_ref(), id).await?;
        self.with_live_figures(std::slice::from_mut(&mut broadcast))
            .await;
        Ok(Response::new(broadcast))
    }

    async fn update_broadcast(
        &self,
        request: Request<UpdateBroadcastRequest>,
    ) -> Answer<Broadcast> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_broadcast", "update")?;
        answer(self.update(&caller, request.into_inner()).await)
    }

    async fn delete_broadcast(
        &self,
        request: Request<DeleteBroadcastRequest>,
    ) -> Answer<DeleteBroadcastResponse> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_broadcast", "delete")?;
        let id = request.get_ref().broadcast_id;
        answer(
            self.delete(&caller, id)
                .await
                .map(|()| DeleteBroadcastResponse {}),
        )
    }

    async fn list_live(&self, _request: Request<ListLiveRequest>) -> Answer<LiveBroadcasts> {
        let client = self.pool.get().await.map_err(BroadcastError::from)?;
        let mut broadcasts = listings::live(&client).await?;
        self.with_live_figures(&mut broadcasts).await;
        Ok(Response::new(LiveBroadcasts { broadcasts }))
    }

    async fn list_broadcasts(
        &self,
        request: Request<ListBroadcastsRequest>,
    ) -> Answer<BroadcastPage> {
        answer(self.page(request.get_ref()).await)
    }

    async fn list_user_broadcasts(
        &self,
        request: Request<ListUserBroadcastsRequest>,
    ) -> Answer<GroupedBroadcasts> {
        let request = request.into_inner();
        let owner = Owner::Public {
            username: &request.username,
        };
        answer(self.grouped(owner, request.time).await)
    }

    async fn list_my_broadcasts(
        &self,
        request: Request<ListMyBroadcastsRequest>,
    ) -> Answer<GroupedBroadcasts> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_broadcast", "read")?;
        let owner = Owner::Own {
            user_id: caller.user_id,
            is_visible: request.get_ref().is_visible,
        };
        answer(self.grouped(owner, request.get_ref().time).await)
    }

    async fn like_stream(&self, request: Request<LikeStreamRequest>) -> Answer<LikeStreamResponse> {
        let caller = self.verifier.caller(&request).await?;
        let LikeStreamRequest {
            broadcast_id,
            origin,
        } = request.into_inner();
        let like_count = self.like(&caller, broadcast_id, origin).await?;
        Ok(Response::new(LikeStreamResponse { like_count }))
    }

    async fn get_artwork(&self, request: Request<GetArtworkRequest>) -> Answer<Artwork> {
        let GetArtworkRequest {
            broadcast_id,
            artwork_id,
        } = request.into_inner();
        let client = self.pool.get().await.map_err(BroadcastError::from)?;
        let (content_type, data) = repo::artwork(&client, broadcast_id, &artwork_id)
            .await?
            .ok_or(BroadcastError::NotFound(broadcast_id))?;
        Ok(Response::new(Artwork { content_type, data }))
    }

    async fn go_live_now(&self, request: Request<GoLiveNowRequest>) -> Answer<Broadcast> {
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
        answer(self.live_now(&caller, &title, &description).await)
    }

    async fn authorize_stream(
        &self,
        request: Request<AuthorizeStreamRequest>,
    ) -> Answer<Broadcast> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_audio_stream", "create")?;
        answer(
            self.authorize(&caller, request.get_ref().broadcast_id)
                .await,
        )
    }
}
