//! The wire types shared by every service: gRPC clients and servers, and the protobuf payloads of the
//! RabbitMQ events. Generated at build time from `proto/`; nothing here is written by hand.

/// The generated code, nested as the proto packages are (cross-package references rely on it).
pub mod livestreamer {
    pub mod auth {
        pub mod v1 {
            tonic::include_proto!("livestreamer.auth.v1");
        }
    }
    pub mod broadcasts {
        pub mod v1 {
            tonic::include_proto!("livestreamer.broadcasts.v1");
        }
    }
    pub mod chat {
        pub mod v1 {
            tonic::include_proto!("livestreamer.chat.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("livestreamer.events.v1");
        }
    }
}

pub use livestreamer::{auth::v1 as auth, broadcasts::v1 as broadcasts, chat::v1 as chat};

pub mod events {
    pub use crate::livestreamer::events::v1::*;

    /// Routing keys on the event exchange; each names the message type of its payload.
    pub mod routing {
        pub const MAIL_SEND: &str = "mail.send";
        pub const CHAT_MESSAGE_CREATED: &str = "chat.message.created";
        pub const CHAT_MESSAGE_DELETED: &str = "chat.message.deleted";
        pub const CHAT_MESSAGE_LIKED: &str = "chat.message.liked";
        pub const CHAT_MESSAGE_UNLIKED: &str = "chat.message.unliked";
        pub const PRESENCE_CHANGED: &str = "presence.changed";
        pub const STREAM_STARTED: &str = "stream.started";
        pub const STREAM_ENDED: &str = "stream.ended";
        pub const STREAM_STATS: &str = "stream.stats";
        pub const STREAM_LIKED: &str = "stream.liked";
        pub const BROADCAST_DELETED: &str = "broadcast.deleted";
    }
}
