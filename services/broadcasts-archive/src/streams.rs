//! Going live (asked by the relay) and liking a live broadcast.
//!
//! A broadcast that PostgreSQL still calls live but whose heartbeat expired lost its relay: it is
//! ended on the spot (figures saved) instead of refusing the new stream with 409.

use livestreamer_proto::{
    broadcasts::Broadcast,
    events::{StreamLiked, routing},
};
use service_kit::{clock::now_ms, internal_token::Caller};

use crate::{
    domain::{Description, Title},
    error::BroadcastError,
    grpc::BroadcastsService,
    lifecycle,
    live::Like,
    repo,
};

impl BroadcastsService {
    /// The broadcast the caller may see: hidden ones only for their owner (or a moderator).
    pub async fn visible_to(
        &self,
        caller: Option<&Caller>,
        broadcast_id: i64,
    ) -> Result<Broadcast, BroadcastError> {
        let client = self.pool.get().await?;
        let broadcast = repo::find(&client, broadcast_id)
            .await?
            .ok_or(BroadcastError::NotFound(broadcast_id))?;
        let is_owner = caller.is_some_and(|c| c.user_id == broadcast.user_id);
        let is_moderator = caller.is_some_and(|c| c.can("any_broadcast", "read"));
        if !broadcast.is_visible && !is_owner && !is_moderator {
            return Err(BroadcastError::NotFound(broadcast_id));
        }
        Ok(broadcast)
    }

    /// Fills in live figures (listeners, peak, likes so far) of the live ones among `broadcasts`;
    /// without Redis they show their saved figures.
    pub async fn with_live_figures(&self, broadcasts: &mut [Broadcast]) {
        let ids: Vec<i64> = broadcasts
            .iter()
            .filter(|b| b.is_live)
            .map(|b| b.broadcast_id)
            .collect();
        match self.live.figures(&ids).await {
            Ok(figures) => {
                let live = broadcasts.iter_mut().filter(|b| b.is_live);
                for (broadcast, figures) in live.zip(figures) {
                    broadcast.listener_count = figures.listeners;
                    broadcast.listener_peak_count = broadcast.listener_peak_count.max(figures.peak);
                    broadcast.like_count += figures.likes;
                }
            }
            Err(error) => tracing::warn!(%error, "live figures unavailable"),
        }
    }

    /// Runs a go-live attempt; if it fails because of a stale live broadcast, ends that one and
    /// tries once more. On success the live session starts in Redis.
    async fn going_live<F, Fut>(
        &self,
        stale_id: Option<i64>,
        attempt: F,
    ) -> Result<Broadcast, BroadcastError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Broadcast, BroadcastError>>,
    {
        let broadcast = match attempt().await {
            Err(BroadcastError::Conflict(message)) => {
                let Some(id) = stale_id else {
                    return Err(BroadcastError::Conflict(message));
                };
                if !lifecycle::reap_if_stale(&self.pool, &self.live, &self.cache, id).await? {
                    return Err(BroadcastError::Conflict(message));
                }
                attempt().await?
            }
            other => other?,
        };
        if let Err(error) = self.live.start(broadcast.broadcast_id, now_ms()).await {
            // The stream may go on: its relay's heartbeats start the live state once Redis is back.
            tracing::warn!(%error, broadcast_id = broadcast.broadcast_id, "no live state in Redis");
        }
        lifecycle::invalidate(&self.cache).await;
        Ok(broadcast)
    }

    pub async fn authorize(&self, caller: &Caller, id: i64) -> Result<Broadcast, BroadcastError> {
        let user_id = caller.user_id;
        let broadcast = self
            .going_live(Some(id), || async move {
                let client = self.pool.get().await?;
                lifecycle::go_live(&client, id, user_id).await
            })
            .await?;
        tracing::info!(broadcast_id = id, user_id, "went live");
        Ok(broadcast)
    }

    pub async fn live_now(
        &self,
        caller: &Caller,
        title: &Title,
        description: &Description,
    ) -> Result<Broadcast, BroadcastError> {
        let user_id = caller.user_id;
        let scheduled = {
            let client = self.pool.get().await?;
            lifecycle::scheduled_now(&client, user_id).await?
        };
        let stale = scheduled.filter(|(_, is_live)| *is_live).map(|(id, _)| id);
        let broadcast = self
            .going_live(stale, || async move {
                let client = self.pool.get().await?;
                lifecycle::go_live_now(&client, user_id, &caller.username, title, description).await
            })
            .await?;
        tracing::info!(
            broadcast_id = broadcast.broadcast_id,
            user_id,
            "went live now"
        );
        Ok(broadcast)
    }

    /// One like; the room hears of it through `stream.liked` (its sender's sockets excepted).
    pub async fn like(
        &self,
        caller: &Caller,
        broadcast_id: i64,
        origin: String,
    ) -> Result<i64, BroadcastError> {
        let saved = self
            .visible_to(Some(caller), broadcast_id)
            .await?
            .like_count;
        let like_count = match self.live.like(broadcast_id, caller.user_id).await? {
            Like::Counted(count) => saved + count,
            Like::NotLive => return Err(BroadcastError::NotLive(broadcast_id)),
            Like::CoolingDown { retry_after_ms } => {
                return Err(BroadcastError::TooManyLikes(
                    retry_after_ms.div_ceil(1000).max(1),
                ));
            }
        };
        let event = StreamLiked {
            broadcast_id,
            liked_by_user_id: caller.user_id,
            liked_by_username: caller.username.clone(),
            like_count,
            origin,
        };
        if let Err(error) = self.publisher.publish(routing::STREAM_LIKED, &event).await {
            // The like is counted; only the room's live notification is lost.
            tracing::warn!(%error, broadcast_id, "cannot publish a like");
        }
        Ok(like_count)
    }
}
