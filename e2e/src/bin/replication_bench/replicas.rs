//! The receiving replicas: each with a connection of its own subscribed to every broadcast (a Redis
//! pub/sub connection, or an AMQP queue bound to every routing key), counting what arrives in a
//! [`Tally`] until told to stop.

use futures_util::StreamExt;
use lapin::{
    Connection, ConnectionProperties, Consumer,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions,
        QueueDeclareOptions,
    },
    types::FieldTable,
};
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    routing::{EXCHANGE, channel_of, key_of},
    tally::{Tally, tally},
};

/// The receiving replicas, each counting what it gets until told to stop; and the connections to
/// close afterwards.
pub struct Receivers {
    pub tallies: Vec<JoinHandle<Tally>>,
    pub amqp: Vec<Connection>,
}

pub async fn redis_replicas(
    client: &redis::Client,
    broadcasts: usize,
    replicas: usize,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Receivers> {
    let channels: Vec<String> = (0..broadcasts).map(channel_of).collect();
    let mut tallies = Vec::new();
    for _ in 0..replicas {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(&channels).await?;
        let messages = pubsub
            .into_on_message()
            .map(|message| message.get_payload_bytes().to_vec());
        tallies.push(tokio::spawn(tally(messages, broadcasts, stop.clone())));
    }
    Ok(Receivers {
        tallies,
        amqp: Vec::new(),
    })
}

pub async fn amqp_replicas(
    url: &str,
    broadcasts: usize,
    replicas: usize,
    ack: bool,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Receivers> {
    let mut receivers = Receivers {
        tallies: Vec::new(),
        amqp: Vec::new(),
    };
    for _ in 0..replicas {
        let (connection, consumer) = amqp_consumer(url, broadcasts, ack).await?;
        let messages = consumer.filter_map(move |delivery| async move {
            let delivery = delivery.ok()?;
            if ack {
                delivery.ack(BasicAckOptions::default()).await.ok()?;
            }
            Some(delivery.data)
        });
        receivers
            .tallies
            .push(tokio::spawn(tally(messages, broadcasts, stop.clone())));
        receivers.amqp.push(connection);
    }
    Ok(receivers)
}

/// One replica's connection, its exclusive auto-delete queue bound to every broadcast's key, and a
/// consumer of it: acking each delivery (prefetch 1,000) when `ack`, else without acks.
async fn amqp_consumer(
    url: &str,
    broadcasts: usize,
    ack: bool,
) -> anyhow::Result<(Connection, Consumer)> {
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    for broadcast in 0..broadcasts {
        channel
            .queue_bind(
                queue.name().clone(),
                EXCHANGE.into(),
                key_of(broadcast).as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    if ack {
        channel.basic_qos(1_000, BasicQosOptions::default()).await?;
    }
    let consumer = channel
        .basic_consume(
            queue.name().clone(),
            "".into(),
            BasicConsumeOptions {
                no_ack: !ack,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((connection, consumer))
}
