//! The mail jobs auth queues for the mailer. Each carries an idempotency key that is the same for
//! every redelivery of one job, so the mailer sends it once.

use livestreamer_proto::events::{MailJob, MailKind, routing};
use service_kit::amqp::EventPublisher;

use crate::{error::AuthError, secrets::token_hash};

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
        let key = format!("confirm-email:{}", hex(&token_hash(token)));
        let link = format!("{}/verify?token={token}", self.public_url);
        self.queue(MailKind::ConfirmEmail, key, to, username, link)
            .await
    }

    /// "Email confirmed": the welcome mail.
    pub async fn email_confirmed(
        &self,
        user_id: i64,
        to: &str,
        username: &str,
    ) -> Result<(), AuthError> {
        let link = format!("{}/signin", self.public_url);
        let key = format!("email-confirmed:{user_id}");
        self.queue(MailKind::EmailConfirmed, key, to, username, link)
            .await
    }

    /// "Reset your password", with a link to the web app's reset page.
    pub async fn reset_password(
        &self,
        to: &str,
        username: &str,
        token: &str,
    ) -> Result<(), AuthError> {
        let key = format!("reset-password:{}", hex(&token_hash(token)));
        let link = format!("{}/reset-password?token={token}", self.public_url);
        self.queue(MailKind::ResetPassword, key, to, username, link)
            .await
    }

    async fn queue(
        &self,
        kind: MailKind,
        idempotency_key: String,
        to: &str,
        username: &str,
        link: String,
    ) -> Result<(), AuthError> {
        let job = MailJob {
            idempotency_key,
            kind: kind as i32,
            to: to.to_owned(),
            username: username.to_owned(),
            link,
        };
        Ok(self.publisher.publish(routing::MAIL_SEND, &job).await?)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
