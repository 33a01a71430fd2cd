//! SQL of the `auth` schema. Raw statements, parameters always bound; one file per table family.

mod admin;
mod pictures;
mod stream_keys;
mod tokens;
mod users;

pub use admin::{AdminCursor, list_users, set_role};
pub use pictures::{Picture, delete_picture, picture_of, set_picture};
pub use stream_keys::{replace_stream_key, stream_key_created_at, stream_key_of};
pub use tokens::{TokenPurpose, consume_token, insert_token, void_tokens};
pub use users::{
    Credentials, ProfileChanges, UserRecord, confirm_email, credentials, insert_superadmin,
    insert_user, live_user_by_email, public_profile, record_login, set_password, soft_delete,
    update_profile, user,
};

use tokio_postgres::error::SqlState;

use crate::error::AuthError;

pub const SUPERADMIN_ROLE: i16 = 1;
pub const STREAMER_ROLE: i16 = 2;

/// A unique violation on the username or email index as the conflict users see; other errors as
/// they are.
fn taken(error: tokio_postgres::Error) -> AuthError {
    match error.as_db_error() {
        Some(db) if db.code() == &SqlState::UNIQUE_VIOLATION => {
            let field = if db.constraint() == Some("users_email_key") {
                "email"
            } else {
                "username"
            };
            AuthError::Conflict(format!("This {field} is already taken"))
        }
        _ => error.into(),
    }
}

/// The URL of a user's picture: the same path for the default and a custom one, with the custom
/// picture's version so that browsers fetch a replaced picture anew.
pub fn picture_url(username: &str, version: Option<i64>) -> String {
    match version {
        Some(v) => format!("/api/v1/users/{username}/picture?v={v}"),
        None => format!("/api/v1/users/{username}/picture"),
    }
}
