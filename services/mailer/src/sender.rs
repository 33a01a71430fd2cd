//! Sending one mail job: at most once per idempotency key, acked only after the SMTP server took it.
//!
//! Failures are told apart by whose fault they are. The SMTP server refusing this mail for good (5xx),
//! or a job that cannot be rendered, goes to the dead-letter queue with the reason at once. The server
//! refusing it for now (4xx) counts an attempt (in Redis, so restarts and replicas share the count);
//! after `max_attempts` the job is dead-lettered too. An unreachable server, a timeout or a broken
//! connection is an outage, not the job's fault: nothing is counted and the job waits, with backoff,
//! for as long as the outage lasts.
//!
//! The key of a sent job is written right after the server's 250. A crash between the two (a window
//! of a Redis round trip) would send that one job again on redelivery; its `Message-ID` is derived
//! from the key, so the copy is recognisably the same mail.

use std::{sync::Arc, time::Duration};

use deadpool_redis::{Pool, redis::AsyncCommands};
use lettre::{
    AsyncTransport, Message,
    message::{Mailbox, MultiPart},
};
use livestreamer_proto::events::MailJob;
use service_kit::{amqp::Outcome, backoff::Backoff};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use crate::{
    dead_letters::DeadLetters,
    metrics::{self, RetryCause},
    smtp::Transport,
    templates,
};

/// How long a sent key, or an attempt count, is remembered: far longer than any redelivery takes.
const MEMORY_SECS: u64 = 7 * 24 * 3600;

#[derive(Clone)]
pub struct MailSender {
    pub smtp: Transport,
    pub redis: Pool,
    pub redis_prefix: String,
    pub from: Mailbox,
    pub dead_letters: Arc<DeadLetters>,
    pub max_attempts: u32,
    /// The pause before the next try after a failure; shared, since jobs are handled one at a time.
    pub backoff: Arc<Mutex<Backoff>>,
    pub retry_first: Duration,
}

/// What went wrong with one job.
enum Failure {
    /// The job can never be sent: dead-letter it with this reason.
    Hopeless(String),
    /// The SMTP server refused it for now: count an attempt.
    Refused(String),
    /// The SMTP server or Redis could not be reached: wait and retry, counting nothing.
    Outage(String),
}

impl MailSender {
    pub async fn handle(&self, job: MailJob, payload: &[u8]) -> Outcome {
        let result = self.send_once(&job).await;
        let failure = match result {
            Ok(()) => {
                self.backoff.lock().await.reset(self.retry_first);
                return Outcome::Ack;
            }
            Err(failure) => failure,
        };
        let (reason, attempts) = match failure {
            Failure::Hopeless(reason) => (reason, self.count_attempt(&job).await.unwrap_or(1)),
            Failure::Refused(reason) => match self.count_attempt(&job).await {
                Ok(attempts) if attempts >= self.max_attempts => (
                    format!("refused {attempts} times, last: {reason}"),
                    attempts,
                ),
                _ => return self.retry_later(&job, &reason, RetryCause::Deferred).await,
            },
            Failure::Outage(reason) => {
                return self.retry_later(&job, &reason, RetryCause::Outage).await;
            }
        };
        match self.dead_letters.put(payload, &reason, attempts).await {
            Ok(()) => {
                tracing::warn!(key = %job.idempotency_key, %reason, "mail job dead-lettered");
                Outcome::Ack
            }
            Err(error) => {
                let reason = format!("dead-lettering failed: {error}");
                self.retry_later(&job, &reason, RetryCause::DeadLetterFailed)
                    .await
            }
        }
    }

    async fn retry_later(&self, job: &MailJob, reason: &str, cause: RetryCause) -> Outcome {
        metrics::retried(cause);
        let delay = self.backoff.lock().await.next_delay();
        tracing::warn!(key = %job.idempotency_key, %reason, retry_in_ms = delay.as_millis() as u64, "mail not sent, will retry");
        tokio::time::sleep(delay).await;
        Outcome::Retry
    }

    async fn send_once(&self, job: &MailJob) -> Result<(), Failure> {
        let sent_key = self.key("mail-sent", job);
        let mut redis = self
            .redis
            .get()
            .await
            .map_err(|e| Failure::Outage(format!("redis: {e}")))?;
        let already: bool = redis
            .exists(&sent_key)
            .await
            .map_err(|e| Failure::Outage(format!("redis: {e}")))?;
        if already {
            tracing::info!(key = %job.idempotency_key, "already sent, skipping a redelivery");
            metrics::duplicate_skipped();
            return Ok(());
        }
        let message = self.build(job)?;
        self.smtp.send(message).await.map_err(|e| {
            if e.is_permanent() {
                Failure::Hopeless(format!("the SMTP server refused the mail: {e}"))
            } else if e.is_transient() {
                Failure::Refused(format!("the SMTP server deferred the mail: {e}"))
            } else {
                Failure::Outage(format!("SMTP: {e}"))
            }
        })?;
        metrics::sent();
        let remembered: Result<(), _> = redis.set_ex(&sent_key, 1, MEMORY_SECS).await;
        if let Err(error) = remembered {
            tracing::warn!(%error, key = %job.idempotency_key, "mail sent but its key not remembered");
        }
        tracing::info!(key = %job.idempotency_key, "mail sent");
        Ok(())
    }

    /// Counts one more failed attempt of this job; returns the count so far.
    async fn count_attempt(&self, job: &MailJob) -> anyhow::Result<u32> {
        let key = self.key("mail-attempts", job);
        let mut redis = self.redis.get().await?;
        let (attempts,): (u32,) = deadpool_redis::redis::pipe()
            .incr(&key, 1)
            .expire(&key, MEMORY_SECS as i64)
            .ignore()
            .query_async(&mut redis)
            .await?;
        Ok(attempts)
    }

    fn key(&self, what: &str, job: &MailJob) -> String {
        format!("{}{what}:{}", self.redis_prefix, job.idempotency_key)
    }

    fn build(&self, job: &MailJob) -> Result<Message, Failure> {
        let mail = templates::render(job)
            .ok_or_else(|| Failure::Hopeless(format!("unknown mail kind {}", job.kind)))?;
        let to: Mailbox = job
            .to
            .parse()
            .map_err(|e| Failure::Hopeless(format!("invalid recipient {:?}: {e}", job.to)))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .message_id(Some(message_id(&job.idempotency_key)))
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| Failure::Hopeless(format!("cannot build the mail: {e}")))
    }
}

/// The same `Message-ID` for every send of one job.
pub fn message_id(idempotency_key: &str) -> String {
    let digest = Sha256::digest(idempotency_key.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("<{hex}@livestreamer.mailer>")
}
