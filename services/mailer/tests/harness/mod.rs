//! What the fault tests drive: the mailer binary as a child process (so it can be SIGKILLed), a
//! maildev of the test's own on free ports (so it can be stopped), and the test's own exchange,
//! queue and Redis prefix on the test stack's servers.

mod processes;

pub use processes::{FakeSmtp, Mail, Maildev, MailerProcess};

use std::time::{Duration, Instant};

use lapin::{
    Connection, ConnectionProperties,
    options::{BasicAckOptions, BasicGetOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};
use livestreamer_proto::events::{MailJob, MailKind, routing};
use service_kit::amqp::{EventBus, EventPublisher};

/// The `i`-th job of a burst: its own recipient, so deliveries can be counted per job.
pub fn job(i: usize) -> MailJob {
    MailJob {
        idempotency_key: format!("fault-test:{i}"),
        kind: MailKind::ConfirmEmail as i32,
        to: format!("listener{i}@example.com"),
        username: format!("listener{i}"),
        link: format!("http://localhost:8080/verify?token=t{i}"),
    }
}

/// One test's names on the shared servers.
pub struct Scenario {
    pub name: String,
    publisher: EventPublisher,
}

impl Scenario {
    pub async fn new() -> Self {
        let name = test_support::unique_name();
        let publisher = EventPublisher::new(EventBus::new(test_support::amqp_url(), name.clone()));
        Self { name, publisher }
    }

    pub fn queue(&self) -> String {
        format!("{}.mail", self.name)
    }

    pub async fn publish(&self, job: &MailJob) {
        self.publisher
            .publish(routing::MAIL_SEND, job)
            .await
            .unwrap();
    }

    async fn channel(&self) -> (Connection, lapin::Channel) {
        let connection =
            Connection::connect(&test_support::amqp_url(), ConnectionProperties::default())
                .await
                .unwrap();
        let channel = connection.create_channel().await.unwrap();
        (connection, channel)
    }

    /// Waits until the mailer declared its queue (jobs published before would be unroutable).
    pub async fn wait_for_queue(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_connection, channel) = self.channel().await;
            let passive = QueueDeclareOptions {
                passive: true,
                ..Default::default()
            };
            let declared = channel
                .queue_declare(self.queue().as_str().into(), passive, FieldTable::default())
                .await;
            if declared.is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the mailer never declared its queue"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Takes what is on the dead-letter queue now: each job's reason and attempt count.
    pub async fn dead_letters(&self) -> Vec<(String, u32)> {
        let (_connection, channel) = self.channel().await;
        let dead = format!("{}.dead", self.queue());
        let mut letters = Vec::new();
        while let Some(message) = channel
            .basic_get(dead.as_str().into(), BasicGetOptions::default())
            .await
            .unwrap()
        {
            let headers = message.properties.headers().clone().unwrap_or_default();
            let reason = match headers.inner().get("x-failure-reason") {
                Some(AMQPValue::LongString(s)) => s.to_string(),
                other => panic!("a dead letter without a reason: {other:?}"),
            };
            let attempts = match headers.inner().get("x-attempts") {
                Some(AMQPValue::LongUInt(n)) => *n,
                other => panic!("a dead letter without attempts: {other:?}"),
            };
            message.ack(BasicAckOptions::default()).await.unwrap();
            letters.push((reason, attempts));
        }
        letters
    }

    pub async fn wait_for_dead_letters(
        &self,
        count: usize,
        within: Duration,
    ) -> Vec<(String, u32)> {
        let deadline = Instant::now() + within;
        let mut letters = Vec::new();
        while letters.len() < count {
            assert!(
                Instant::now() < deadline,
                "only {letters:?} dead-lettered in {within:?}"
            );
            letters.extend(self.dead_letters().await);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        letters
    }
}
