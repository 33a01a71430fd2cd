//! The mail jobs auth queues for the mailer.

use livestreamer_proto::events::{MailJob, MailKind, routing};
use service_kit::amqp::EventPublisher;

use crate::error::AuthError;

#[derive(Clone)]
pub struct MailJobs {
    publisher: EventPublisher,
    public_url: String,
}

impl MailJobs {
    pub fn new(publisher: EventPublisher, public_url: String) -> Self {
        Self {
            publisher,
            public_url,
        }
    }

    /// "Confirm your email", with a link to the web app's confirmation page.
    pub async fn confirm_email(
        &self,
        to: &str,
        username: &str,
        token: &str,
    ) -> Result<(), AuthError> {
        let job = MailJob {
            idempotency_key: format!("confirm-email:{}", hex(&crate::secrets::token_hash(token))),
            kind: MailKind::ConfirmEmail as i32,
            to: to.to_owned(),
            username: username.to_owned(),
            link: format!("{}/verify?token={token}", self.public_url),
        };
        Ok(self.publisher.publish(routing::MAIL_SEND, &job).await?)
    }

    /// "Email confirmed": the welcome mail.
    pub async fn email_confirmed(
        &self,
        user_id: i64,
        to: &str,
        username: &str,
    ) -> Result<(), AuthError> {
        let job = MailJob {
            idempotency_key: format!("email-confirmed:{user_id}"),
            kind: MailKind::EmailConfirmed as i32,
            to: to.to_owned(),
            username: username.to_owned(),
            link: format!("{}/signin", self.public_url),
        };
        Ok(self.publisher.publish(routing::MAIL_SEND, &job).await?)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
