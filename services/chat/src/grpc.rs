//! The Chat gRPC service.

use deadpool_postgres::Pool;
use livestreamer_proto::{
    broadcasts::{GetBroadcastRequest, broadcasts_client::BroadcastsClient},
    chat::{
        ChatMessage, DeleteMessageRequest, DeleteMessageResponse, LikeMessageRequest,
        ListMessagesRequest, ListMessagesResponse, PostMessageRequest, chat_server::Chat,
    },
    events::{ChatMessageCreated, ChatMessageDeleted, ChatMessageLiked, routing},
};
use service_kit::{
    amqp::EventPublisher,
    grpc_client::TracedChannel,
    internal_token::{Caller, TokenVerifier},
    rate_limit::{Decision, SlidingWindow, retry_after_secs},
};
use tonic::{Request, Response, Status};

use crate::{
    domain::{Cursor, MessageText, page_size},
    error::ChatError,
    repo,
};

#[derive(Clone)]
pub struct ChatService {
    pub pool: Pool,
    pub verifier: TokenVerifier,
    pub broadcasts: BroadcastsClient<TracedChannel>,
    pub publisher: EventPublisher,
    pub rate_limit: SlidingWindow,
}

impl ChatService {
    /// The broadcast must exist and be visible to the caller: asked of broadcasts-archive with the
    /// caller's own token, so its visibility rules are applied once, there.
    async fn check_broadcast<T>(
        &self,
        request: &Request<T>,
        broadcast_id: i64,
    ) -> Result<(), Status> {
        let mut ask = Request::new(GetBroadcastRequest { broadcast_id });
        if let Some(token) = request.metadata().get("authorization") {
            ask.metadata_mut().insert("authorization", token.clone());
        }
        self.broadcasts.clone().get_broadcast(ask).await.map(|_| ())
    }

    /// Refuses a user who posts faster than the limit, saying when to try again.
    async fn check_rate(&self, caller: &Caller) -> Result<(), ChatError> {
        match self
            .rate_limit
            .check(&caller.user_id.to_string())
            .await
            .map_err(ChatError::RateLimiter)?
        {
            Decision::Allowed => Ok(()),
            Decision::Limited { retry_after } => Err(ChatError::RateLimited {
                retry_after_secs: retry_after_secs(retry_after),
            }),
        }
    }

    /// Publishes a change once it is committed; a lost push is recovered from history by the clients.
    async fn publish(&self, routing_key: &str, event: &impl prost::Message) {
        if let Err(error) = self.publisher.publish(routing_key, event).await {
            tracing::warn!(%error, routing_key, "change saved but not pushed");
        }
    }

    /// Likes (`like = true`) or unlikes a message; the sockets of the room learn the new likers.
    async fn set_like(
        &self,
        request: Request<LikeMessageRequest>,
        like: bool,
    ) -> Result<ChatMessage, Status> {
        let caller = self.verifier.caller(&request).await?;
        let LikeMessageRequest {
            broadcast_id,
            message_id,
            origin,
        } = request.get_ref().clone();
        self.check_broadcast(&request, broadcast_id).await?;
        let client = self.pool.get().await.map_err(ChatError::from)?;
        // One statement changes the like only if the message is there, then one read says whether
        // it was (404) and returns it with its likes: two round trips, not three.
        let changed = if like {
            repo::like(&client, broadcast_id, message_id, caller.user_id).await?
        } else {
            repo::unlike(&client, broadcast_id, message_id, caller.user_id).await?
        };
        let message = repo::find(&client, broadcast_id, message_id)
            .await?
            .ok_or(ChatError::NotFound(message_id))?;
        if !changed {
            let what = if like {
                "You already like this message"
            } else {
                "You do not like this message"
            };
            return Err(ChatError::Conflict(what.to_owned()).into());
        }
        let event = ChatMessageLiked {
            broadcast_id,
            message_id,
            liked_by_user_id: message.liked_by_user_id.clone(),
            user_id: caller.user_id,
            origin,
        };
        let key = if like {
            routing::CHAT_MESSAGE_LIKED
        } else {
            routing::CHAT_MESSAGE_UNLIKED
        };
        self.publish(key, &event).await;
        Ok(message)
    }
}

#[tonic::async_trait]
impl Chat for ChatService {
    async fn post_message(
        &self,
        request: Request<PostMessageRequest>,
    ) -> Result<Response<ChatMessage>, Status> {
        let caller = self.verifier.caller(&request).await?;
        caller.require("own_chat_message", "create")?;
        let text =
            MessageText::parse(&request.get_ref().message).map_err(ChatError::InvalidInput)?;
        let broadcast_id = request.get_ref().broadcast_id;
        self.check_broadcast(&request, broadcast_id).await?;
        // Only messages that would be posted count against the flood limit.
        self.check_rate(&caller).await?;
        let client = self.pool.get().await.map_err(ChatError::from)?;
        let message = repo::insert(
            &client,
            broadcast_id,
            caller.user_id,
            &caller.username,
            &text,
        )
        .await?;
        let event = ChatMessageCreated {
            message: Some(message.clone()),
            origin: request.get_ref().origin.clone(),
        };
        // Saved is what counts: a lost push is recovered from history by the clients.
        if let Err(error) = self
            .publisher
            .publish(routing::CHAT_MESSAGE_CREATED, &event)
            .await
        {
            tracing::warn!(%error, message_id = message.message_id, "message saved but not pushed");
        }
        Ok(Response::new(message))
    }

    async fn list_messages(
        &self,
        request: Request<ListMessagesRequest>,
    ) -> Result<Response<ListMessagesResponse>, Status> {
        let query = request.get_ref();
        let limit = page_size(query.limit).map_err(ChatError::InvalidInput)?;
        let cursor = match query.cursor.as_str() {
            "" => None,
            raw => Some(Cursor::parse(raw).map_err(ChatError::InvalidInput)?),
        };
        self.check_broadcast(&request, query.broadcast_id).await?;
        let client = self.pool.get().await.map_err(ChatError::from)?;
        let (messages, next) = repo::page(&client, query.broadcast_id, limit, cursor).await?;
        Ok(Response::new(ListMessagesResponse {
            messages,
            next_cursor: next.map(|c| c.encode()).unwrap_or_default(),
        }))
    }

    async fn delete_message(
        &self,
        request: Request<DeleteMessageRequest>,
    ) -> Result<Response<DeleteMessageResponse>, Status> {
        let caller = self.verifier.caller(&request).await?;
        let DeleteMessageRequest {
            broadcast_id,
            message_id,
            as_moderator,
            origin,
        } = request.get_ref().clone();
        if as_moderator {
            caller.require("any_chat_message", "delete")?;
        } else {
            caller.require("own_chat_message", "delete")?;
        }
        let client = self.pool.get().await.map_err(ChatError::from)?;
        let message = repo::find(&client, broadcast_id, message_id)
            .await?
            .ok_or(ChatError::NotFound(message_id))?;
        if !as_moderator && message.user_id != caller.user_id {
            return Err(
                ChatError::Forbidden("You can only delete your own messages".to_owned()).into(),
            );
        }
        repo::delete(&client, message_id).await?;
        let event = ChatMessageDeleted {
            broadcast_id,
            message_id,
            user_id: caller.user_id,
            origin,
        };
        self.publish(routing::CHAT_MESSAGE_DELETED, &event).await;
        Ok(Response::new(DeleteMessageResponse {}))
    }

    async fn like_message(
        &self,
        request: Request<LikeMessageRequest>,
    ) -> Result<Response<ChatMessage>, Status> {
        Ok(Response::new(self.set_like(request, true).await?))
    }

    async fn unlike_message(
        &self,
        request: Request<LikeMessageRequest>,
    ) -> Result<Response<ChatMessage>, Status> {
        Ok(Response::new(self.set_like(request, false).await?))
    }
}
