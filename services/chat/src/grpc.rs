//! The Chat gRPC service.

use deadpool_postgres::Pool;
use livestreamer_proto::{
    broadcasts::{GetBroadcastRequest, broadcasts_client::BroadcastsClient},
    chat::{
        ChatMessage, ListMessagesRequest, ListMessagesResponse, PostMessageRequest,
        chat_server::Chat,
    },
    events::{ChatMessageCreated, routing},
};
use service_kit::{amqp::EventPublisher, internal_token::TokenVerifier};
use tonic::{Request, Response, Status, transport::Channel};

use crate::{
    domain::{Cursor, MessageText, page_size},
    error::ChatError,
    repo,
};

#[derive(Clone)]
pub struct ChatService {
    pub pool: Pool,
    pub verifier: TokenVerifier,
    pub broadcasts: BroadcastsClient<Channel>,
    pub publisher: EventPublisher,
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
}
