//! Sending one mail job: at most once per idempotency key, acked only after the SMTP server took it.

use deadpool_redis::{Pool, redis::AsyncCommands};
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use livestreamer_proto::events::MailJob;
use service_kit::amqp::Outcome;

use crate::templates;

/// How long a sent key is remembered: far longer than any redelivery takes.
const SENT_MEMORY_SECS: u64 = 7 * 24 * 3600;

#[derive(Clone)]
pub struct MailSender {
    pub smtp: AsyncSmtpTransport<Tokio1Executor>,
    pub redis: Pool,
    pub redis_prefix: String,
    pub from: Mailbox,
}

impl MailSender {
    fn sent_key(&self, job: &MailJob) -> String {
        format!("{}mail-sent:{}", self.redis_prefix, job.idempotency_key)
    }

    pub async fn handle(&self, job: MailJob) -> Outcome {
        let key = self.sent_key(&job);
        match self.already_sent(&key).await {
            Ok(true) => {
                tracing::info!(key = %job.idempotency_key, "already sent, skipping a redelivery");
                return Outcome::Ack;
            }
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, "cannot check the idempotency key, will retry");
                return Outcome::Retry;
            }
        }
        let Some(message) = self.build(&job) else {
            tracing::warn!(key = %job.idempotency_key, "unrenderable mail job, dead-lettering it");
            return Outcome::Reject;
        };
        match self.smtp.send(message).await {
            Ok(_) => {
                if let Err(error) = self.remember_sent(&key).await {
                    tracing::warn!(%error, "mail sent but its key not remembered");
                }
                tracing::info!(key = %job.idempotency_key, "mail sent");
                Outcome::Ack
            }
            Err(error) if error.is_permanent() => {
                tracing::warn!(%error, "the SMTP server refused the mail for good, dead-lettering it");
                Outcome::Reject
            }
            Err(error) => {
                tracing::warn!(%error, "SMTP failed, will retry");
                Outcome::Retry
            }
        }
    }

    async fn already_sent(&self, key: &str) -> anyhow::Result<bool> {
        let mut conn = self.redis.get().await?;
        Ok(conn.exists(key).await?)
    }

    async fn remember_sent(&self, key: &str) -> anyhow::Result<()> {
        let mut conn = self.redis.get().await?;
        let _: () = conn.set_ex(key, 1, SENT_MEMORY_SECS).await?;
        Ok(())
    }

    fn build(&self, job: &MailJob) -> Option<Message> {
        let mail = templates::render(job)?;
        let to: Mailbox = job.to.parse().ok()?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .ok()
    }
}
