//! The RabbitMQ event exchange: publishing with confirms, and consuming with reconnection.
//!
//! Every event travels on one durable topic exchange as a persistent protobuf message whose routing key
//! names its type (see `livestreamer_proto::events::routing`). Publishers wait for the broker's confirm,
//! so "published" means "stored". Consumers ack only after their work is done, and reconnect and
//! re-subscribe with backoff when the broker goes away, so a restarted RabbitMQ costs a pause, not a
//! silent, deaf service. A message's headers carry the publisher's trace context, and its handler
//! runs in a consumer span of that trace (see `trace_context`).

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use futures_util::StreamExt;
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ExchangeKind,
    message::Delivery,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions,
        BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::{AMQPValue, FieldTable},
};
use tokio::sync::Mutex;
use tracing::Instrument;

use crate::{backoff::Backoff, shutdown::Shutdown, trace_context};

/// Where the events go: the broker and the exchange's name (tests use a unique one).
#[derive(Debug, Clone)]
pub struct EventBus {
    pub url: String,
    pub exchange: String,
}

impl EventBus {
    pub fn new(url: impl Into<String>, exchange: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            exchange: exchange.into(),
        }
    }

    async fn open_channel(&self) -> lapin::Result<(Connection, Channel)> {
        let connection = Connection::connect(&self.url, ConnectionProperties::default()).await?;
        let channel = connection.create_channel().await?;
        channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        Ok((connection, channel))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("RabbitMQ: {0}")]
    Broker(#[from] lapin::Error),
    #[error("RabbitMQ refused the message")]
    Nacked,
    #[error("RabbitMQ did not confirm within {0:?}")]
    TimedOut(std::time::Duration),
}

/// How long a publish may take, connecting included, before the caller is told it failed: a hung
/// broker must not hang every request that publishes.
pub const PUBLISH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Publishes events, opening (and re-opening) its connection on demand.
#[derive(Clone)]
pub struct EventPublisher {
    bus: EventBus,
    channel: Arc<Mutex<Option<OpenChannel>>>,
}

/// The publisher's channel in confirm mode, numbered so a failed publish drops only the channel it
/// used, not one another publisher opened since.
struct OpenChannel {
    connection: Connection,
    channel: Channel,
    number: u64,
}

impl OpenChannel {
    async fn open(bus: &EventBus) -> Result<Self, lapin::Error> {
        /// Numbers channels across every publisher of the process: unique is all that matters.
        static OPENED: AtomicU64 = AtomicU64::new(0);
        let (connection, channel) = bus.open_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let number = OPENED.fetch_add(1, Ordering::Relaxed);
        Ok(Self {
            connection,
            channel,
            number,
        })
    }
}

impl EventPublisher {
    pub fn new(bus: EventBus) -> Self {
        Self {
            bus,
            channel: Arc::new(Mutex::new(None)),
        }
    }

    /// Publishes `message` under `routing_key` and waits until the broker has stored it. A broken
    /// connection is re-opened once before giving up.
    pub async fn publish(
        &self,
        routing_key: &str,
        message: &impl prost::Message,
    ) -> Result<(), PublishError> {
        let payload = message.encode_to_vec();
        let (span, headers) = trace_context::producer_span(&self.bus.exchange, routing_key);
        let attempts = async {
            match self.try_publish(routing_key, &payload, &headers).await {
                Err(PublishError::Broker(error)) => {
                    tracing::warn!(%error, "publish failed, reconnecting once");
                    self.try_publish(routing_key, &payload, &headers).await
                }
                other => other,
            }
        };
        match tokio::time::timeout(PUBLISH_TIMEOUT, attempts.instrument(span)).await {
            Ok(result) => result,
            Err(_) => {
                // The connection may be wedged: the next publish opens a fresh one.
                *self.channel.lock().await = None;
                Err(PublishError::TimedOut(PUBLISH_TIMEOUT))
            }
        }
    }

    /// `headers` carry the trace context, when traces are exported.
    async fn try_publish(
        &self,
        routing_key: &str,
        payload: &[u8],
        headers: &Option<FieldTable>,
    ) -> Result<(), PublishError> {
        let mut properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/x-protobuf".into());
        if let Some(headers) = headers {
            properties = properties.with_headers(headers.clone());
        }
        // The lock covers only handing the message to the channel, which keeps publishes in order;
        // the confirms are awaited outside it, so concurrent publishers share one broker round trip
        // instead of queueing for one each (a storm of presence changes made that the bottleneck).
        let (number, sent) = {
            let mut guard = self.channel.lock().await;
            if !guard
                .as_ref()
                .is_some_and(|open| open.connection.status().connected())
            {
                *guard = Some(OpenChannel::open(&self.bus).await?);
            }
            let open = guard.as_ref().expect("channel opened above");
            let sent = open
                .channel
                .basic_publish(
                    self.bus.exchange.as_str().into(),
                    routing_key.into(),
                    BasicPublishOptions::default(),
                    payload,
                    properties,
                )
                .await;
            let number = open.number;
            if sent.is_err() {
                *guard = None;
            }
            (number, sent?)
        };
        let result = match sent.await {
            Ok(Confirmation::Nack(_)) => Err(PublishError::Nacked),
            Ok(_) => Ok(()),
            Err(error) => Err(PublishError::from(error)),
        };
        if matches!(result, Err(PublishError::Broker(_))) {
            self.forget(number).await;
        }
        result
    }

    /// Drops the cached channel after a broker error, unless another publisher already replaced it.
    async fn forget(&self, failed: u64) {
        let mut guard = self.channel.lock().await;
        if guard.as_ref().is_some_and(|open| open.number == failed) {
            *guard = None;
        }
    }

    /// A readiness check: the broker answers (connecting if needed).
    pub async fn ping(&self) -> Result<(), String> {
        let mut guard = self.channel.lock().await;
        if guard
            .as_ref()
            .is_some_and(|open| open.connection.status().connected())
        {
            return Ok(());
        }
        let open = OpenChannel::open(&self.bus)
            .await
            .map_err(|e| e.to_string())?;
        *guard = Some(open);
        Ok(())
    }
}

/// The queue a consumer reads.
#[derive(Debug, Clone)]
pub struct QueueSpec {
    /// The queue's name; empty for a server-named, exclusive queue of this process alone (one per
    /// gateway replica, say).
    pub name: String,
    /// Routing-key patterns bound to the exchange.
    pub bindings: Vec<String>,
    /// Unacked messages in flight at once.
    pub prefetch: u16,
    /// Messages rejected by the handler go to `<name>.dead` (a durable queue) instead of vanishing.
    pub dead_letter: bool,
}

/// What a handler decided about a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done: remove it from the queue.
    Ack,
    /// Failed for a passing reason: deliver it again later.
    Retry,
    /// Can never succeed (a poison message): dead-letter it.
    Reject,
}

/// Whether a consumer is subscribed right now (for readiness).
#[derive(Debug, Clone, Default)]
pub struct ConsumerState(Arc<AtomicBool>);

impl ConsumerState {
    pub fn is_subscribed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    pub fn check(&self) -> Result<(), String> {
        if self.is_subscribed() {
            Ok(())
        } else {
            Err("not subscribed".to_owned())
        }
    }

    fn set(&self, subscribed: bool) {
        self.0.store(subscribed, Ordering::Release);
    }
}

/// Consumes `queue` until shutdown, reconnecting with backoff whenever the broker goes away.
pub async fn consume<H, Fut>(
    bus: EventBus,
    queue: QueueSpec,
    state: ConsumerState,
    shutdown: Shutdown,
    handler: H,
) where
    H: Fn(Delivery) -> Fut,
    Fut: Future<Output = Outcome>,
{
    let mut backoff = Backoff::default();
    while !shutdown.is_requested() {
        match subscribe(&bus, &queue).await {
            Ok((connection, channel, mut consumer)) => {
                tracing::info!(queue = %queue.name, "subscribed");
                state.set(true);
                backoff = Backoff::default();
                loop {
                    let delivery = tokio::select! {
                        next = consumer.next() => next,
                        _ = shutdown.requested() => None,
                    };
                    let Some(Ok(delivery)) = delivery else { break };
                    let tag = delivery.delivery_tag;
                    let span = trace_context::consumer_span(
                        &queue.name,
                        delivery.routing_key.as_str(),
                        delivery.properties.headers().as_ref(),
                    );
                    let settled = match handler(delivery).instrument(span).await {
                        Outcome::Ack => channel.basic_ack(tag, BasicAckOptions::default()).await,
                        Outcome::Retry => {
                            channel
                                .basic_nack(
                                    tag,
                                    BasicNackOptions {
                                        requeue: true,
                                        multiple: false,
                                    },
                                )
                                .await
                        }
                        Outcome::Reject => {
                            channel
                                .basic_nack(
                                    tag,
                                    BasicNackOptions {
                                        requeue: false,
                                        multiple: false,
                                    },
                                )
                                .await
                        }
                    };
                    if let Err(error) = settled {
                        tracing::warn!(%error, "could not settle a delivery");
                        break;
                    }
                }
                state.set(false);
                let _ = connection.close(200, "bye".into()).await;
            }
            Err(error) => tracing::warn!(%error, queue = %queue.name, "cannot subscribe"),
        }
        if shutdown.is_requested() {
            break;
        }
        let delay = backoff.next_delay();
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.requested() => {}
        }
    }
}

async fn subscribe(
    bus: &EventBus,
    queue: &QueueSpec,
) -> lapin::Result<(Connection, Channel, lapin::Consumer)> {
    let (connection, channel) = bus.open_channel().await?;
    let durable = !queue.name.is_empty();
    let mut arguments = FieldTable::default();
    if queue.dead_letter && durable {
        let dead = format!("{}.dead", queue.name);
        channel
            .queue_declare(
                dead.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await?;
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        arguments.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(dead.as_str().into()),
        );
    }
    let declared = channel
        .queue_declare(
            queue.name.as_str().into(),
            QueueDeclareOptions {
                durable,
                exclusive: !durable,
                auto_delete: !durable,
                ..Default::default()
            },
            arguments,
        )
        .await?;
    let name = declared.name().clone();
    for binding in &queue.bindings {
        channel
            .queue_bind(
                name.clone(),
                bus.exchange.as_str().into(),
                binding.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    channel
        .basic_qos(queue.prefetch, BasicQosOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            name,
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((connection, channel, consumer))
}
