//! The dead-letter queue `<queue>.dead`, written by the mailer itself so that each dead job carries
//! why it died: the `x-failure-reason` and `x-attempts` headers beside the job's own bytes. (A plain
//! reject would only say "rejected".) The queue is durable and declared by the consumer.

use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::{AMQPValue, FieldTable},
};
use tokio::sync::Mutex;

pub struct DeadLetters {
    url: String,
    queue: String,
    channel: Mutex<Option<(Connection, Channel)>>,
}

impl DeadLetters {
    /// Dead letters of `queue`, into `<queue>.dead`.
    pub fn new(url: impl Into<String>, queue: &str) -> Self {
        Self {
            url: url.into(),
            queue: format!("{queue}.dead"),
            channel: Mutex::new(None),
        }
    }

    /// Stores the job with its reason, and returns once the broker confirmed it.
    pub async fn put(&self, job: &[u8], reason: &str, attempts: u32) -> anyhow::Result<()> {
        let mut guard = self.channel.lock().await;
        if !guard.as_ref().is_some_and(|(c, _)| c.status().connected()) {
            let connection =
                Connection::connect(&self.url, ConnectionProperties::default()).await?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            *guard = Some((connection, channel));
        }
        let (_, channel) = guard.as_ref().expect("opened above");
        let mut headers = FieldTable::default();
        headers.insert(
            "x-failure-reason".into(),
            AMQPValue::LongString(reason.into()),
        );
        headers.insert("x-attempts".into(), AMQPValue::LongUInt(attempts));
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/x-protobuf".into())
            .with_headers(headers);
        let published = async {
            channel
                .basic_publish(
                    "".into(),
                    self.queue.as_str().into(),
                    BasicPublishOptions::default(),
                    job,
                    properties,
                )
                .await?
                .await
        }
        .await;
        match published {
            Ok(Confirmation::Nack(_)) => anyhow::bail!("RabbitMQ refused the dead letter"),
            Ok(_) => {
                crate::metrics::dead_lettered();
                Ok(())
            }
            Err(error) => {
                *guard = None;
                Err(error.into())
            }
        }
    }
}
