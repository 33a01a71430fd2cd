//! The chat service started for real, with the real auth and broadcasts-archive beside it (all on
//! port 0, one fresh database, a unique Redis prefix and exchange per test), spoken to over gRPC as
//! the gateway does.

use std::time::Duration;

use livestreamer_proto::{
    chat::{DeleteMessageRequest, LikeMessageRequest, ListMessagesRequest, PostMessageRequest},
    events::{BroadcastDeleted, ChatMessageCreated, ChatMessageLiked, routing},
};
use prost::Message;
use service_harness::{Services, with_token};
use service_kit::amqp::EventPublisher;
use test_support::EventTap;
use tonic::Code;

/// The services, with helpers in chat's own terms.
struct Stack(Services);

impl std::ops::Deref for Stack {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl std::ops::DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut Services {
        &mut self.0
    }
}

async fn spawn_stack(rate_limit: u32) -> Stack {
    Stack(Services::start(rate_limit).await)
}

impl Stack {
    /// A signed-up, confirmed, signed-in user's internal token.
    async fn user(&mut self, username: &str) -> String {
        self.0.user(username).await.token
    }

    async fn broadcast(&mut self, token: &str) -> i64 {
        self.0.broadcast(token).await
    }

    async fn post(
        &mut self,
        token: &str,
        broadcast_id: i64,
        text: &str,
    ) -> Result<i64, tonic::Status> {
        let request = PostMessageRequest {
            broadcast_id,
            message: text.into(),
            origin: "tab-1".into(),
        };
        Ok(self
            .chat
            .post_message(with_token(token, request))
            .await?
            .into_inner()
            .message_id)
    }

    async fn page(&mut self, broadcast_id: i64, limit: u32, cursor: &str) -> (Vec<String>, String) {
        let request = ListMessagesRequest {
            broadcast_id,
            limit,
            cursor: cursor.into(),
        };
        let page = self.chat.list_messages(request).await.unwrap().into_inner();
        (
            page.messages.into_iter().map(|m| m.message).collect(),
            page.next_cursor,
        )
    }
}

#[tokio::test]
async fn history_is_newest_first_and_cursors_never_repeat_a_message() {
    let mut stack = spawn_stack(100).await;
    let dj = stack.user("history_dj").await;
    let broadcast = stack.broadcast(&dj).await;
    let mut events = EventTap::bind(&stack.exchange, routing::CHAT_MESSAGE_CREATED).await;
    for i in 1..=5 {
        stack
            .post(&dj, broadcast, &format!("message {i}"))
            .await
            .unwrap();
    }
    let (_, payload) = events.next().await;
    let created = ChatMessageCreated::decode(payload.as_slice()).unwrap();
    assert_eq!(
        (
            created.message.unwrap().message.as_str(),
            created.origin.as_str()
        ),
        ("message 1", "tab-1")
    );

    let (first, cursor) = stack.page(broadcast, 2, "").await;
    assert_eq!(first, ["message 5", "message 4"]);
    let (second, cursor) = stack.page(broadcast, 2, &cursor).await;
    assert_eq!(second, ["message 3", "message 2"]);
    let (last, cursor) = stack.page(broadcast, 2, &cursor).await;
    assert_eq!(
        (last.as_slice(), cursor.as_str()),
        (["message 1".to_owned()].as_slice(), "")
    );

    let bad = stack.chat.list_messages(ListMessagesRequest {
        broadcast_id: broadcast,
        limit: 51,
        cursor: String::new(),
    });
    assert_eq!(bad.await.unwrap_err().code(), Code::InvalidArgument);
    let forged = ListMessagesRequest {
        broadcast_id: broadcast,
        limit: 5,
        cursor: "not-a-cursor".into(),
    };
    assert_eq!(
        stack.chat.list_messages(forged).await.unwrap_err().code(),
        Code::InvalidArgument
    );
}

#[tokio::test]
async fn bad_messages_are_refused_and_markup_is_kept_as_text() {
    let mut stack = spawn_stack(100).await;
    let dj = stack.user("input_dj").await;
    let broadcast = stack.broadcast(&dj).await;
    for bad in ["", "   \n\t ", &"x".repeat(501), "bell\u{7}"] {
        let error = stack.post(&dj, broadcast, bad).await.unwrap_err();
        assert_eq!(error.code(), Code::InvalidArgument, "{bad:?}");
    }
    let script = "<script>alert('x')</script> ' OR 1=1; --";
    stack.post(&dj, broadcast, script).await.unwrap();
    assert_eq!(stack.page(broadcast, 1, "").await.0, [script]);

    let nowhere = stack.post(&dj, 987_654_321, "hello").await.unwrap_err();
    assert_eq!(nowhere.code(), Code::NotFound);
    let anonymous = PostMessageRequest {
        broadcast_id: broadcast,
        message: "hi".into(),
        origin: String::new(),
    };
    assert_eq!(
        stack.chat.post_message(anonymous).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let forged = with_token(
        "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
        PostMessageRequest::default(),
    );
    assert_eq!(
        stack.chat.post_message(forged).await.unwrap_err().code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn a_flood_from_one_user_is_refused_with_a_retry_time() {
    let mut stack = spawn_stack(3).await;
    let dj = stack.user("flood_dj").await;
    let listener = stack.user("flood_fan").await;
    let broadcast = stack.broadcast(&dj).await;
    for i in 0..3 {
        stack
            .post(&dj, broadcast, &format!("fast {i}"))
            .await
            .unwrap();
    }
    let refused = stack
        .post(&dj, broadcast, "one too many")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    let retry_after: u64 = refused
        .metadata()
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=2).contains(&retry_after),
        "retry after {retry_after} s"
    );
    // The limit is per user: someone else still talks.
    stack.post(&listener, broadcast, "me too").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    stack
        .post(&dj, broadcast, "after the window")
        .await
        .unwrap();
}

#[tokio::test]
async fn authors_delete_their_own_messages_only() {
    let mut stack = spawn_stack(100).await;
    let dj = stack.user("delete_dj").await;
    let fan = stack.user("delete_fan").await;
    let broadcast = stack.broadcast(&dj).await;
    let message = stack.post(&dj, broadcast, "mine").await.unwrap();
    let delete = |as_moderator| DeleteMessageRequest {
        broadcast_id: broadcast,
        message_id: message,
        as_moderator,
        origin: "tab".into(),
    };

    let not_yours = stack
        .chat
        .delete_message(with_token(&fan, delete(false)))
        .await
        .unwrap_err();
    assert_eq!(not_yours.code(), Code::PermissionDenied);
    let not_a_moderator = stack
        .chat
        .delete_message(with_token(&fan, delete(true)))
        .await
        .unwrap_err();
    assert_eq!(not_a_moderator.code(), Code::PermissionDenied);
    let wrong_broadcast = DeleteMessageRequest {
        broadcast_id: broadcast + 1,
        ..delete(false)
    };
    assert_eq!(
        stack
            .chat
            .delete_message(with_token(&dj, wrong_broadcast))
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );

    stack
        .chat
        .delete_message(with_token(&dj, delete(false)))
        .await
        .unwrap();
    assert!(stack.page(broadcast, 5, "").await.0.is_empty());
    let again = stack
        .chat
        .delete_message(with_token(&dj, delete(false)))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn likes_are_one_per_user_and_announced() {
    let mut stack = spawn_stack(100).await;
    let dj = stack.user("likes_dj").await;
    let fan = stack.user("likes_fan").await;
    let broadcast = stack.broadcast(&dj).await;
    let message = stack.post(&dj, broadcast, "like me").await.unwrap();
    let mut events = EventTap::bind(&stack.exchange, "chat.message.#").await;
    let like = LikeMessageRequest {
        broadcast_id: broadcast,
        message_id: message,
        origin: "fan-tab".into(),
    };

    let liked = stack
        .chat
        .like_message(with_token(&fan, like.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(liked.liked_by_user_id.len(), 1);
    let (key, payload) = events.next().await;
    let event = ChatMessageLiked::decode(payload.as_slice()).unwrap();
    assert_eq!(
        (key.as_str(), event.liked_by_user_id, event.origin.as_str()),
        ("chat.message.liked", liked.liked_by_user_id, "fan-tab")
    );

    let twice = stack
        .chat
        .like_message(with_token(&fan, like.clone()))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);
    let unknown = LikeMessageRequest {
        message_id: message + 1000,
        ..like.clone()
    };
    let other_dj = stack.user("likes_dj2").await;
    let elsewhere = LikeMessageRequest {
        broadcast_id: stack.broadcast(&other_dj).await,
        ..like.clone()
    };
    for missing in [unknown.clone(), elsewhere.clone()] {
        let liked = stack.chat.like_message(with_token(&fan, missing.clone()));
        assert_eq!(
            liked.await.unwrap_err().code(),
            Code::NotFound,
            "{missing:?}"
        );
        let unliked = stack.chat.unlike_message(with_token(&fan, missing.clone()));
        assert_eq!(
            unliked.await.unwrap_err().code(),
            Code::NotFound,
            "{missing:?}"
        );
    }

    let unliked = stack
        .chat
        .unlike_message(with_token(&fan, like.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(unliked.liked_by_user_id.is_empty());
    assert_eq!(events.next().await.0, "chat.message.unliked");
    let not_liked = stack
        .chat
        .unlike_message(with_token(&fan, like))
        .await
        .unwrap_err();
    assert_eq!(not_liked.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn a_deleted_broadcast_takes_its_chat_with_it() {
    let mut stack = spawn_stack(100).await;
    let dj = stack.user("gone_dj").await;
    let broadcast = stack.broadcast(&dj).await;
    stack.post(&dj, broadcast, "soon gone").await.unwrap();
    let bus = service_kit::amqp::EventBus::new(test_support::amqp_url(), stack.exchange.clone());
    let event = BroadcastDeleted {
        broadcast_id: broadcast,
        user_id: 1,
        recording_url: String::new(),
    };
    EventPublisher::new(bus)
        .publish(routing::BROADCAST_DELETED, &event)
        .await
        .unwrap();
    for _ in 0..50 {
        let request = ListMessagesRequest {
            broadcast_id: broadcast,
            limit: 5,
            cursor: String::new(),
        };
        match stack.chat.list_messages(with_token(&dj, request)).await {
            Ok(page) if page.get_ref().messages.is_empty() => return,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the chat of the deleted broadcast is still there after 5 s");
}
