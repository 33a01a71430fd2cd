//! The replica holding the sources: how it hands each frame on with each engine, and one task per
//! broadcast sending its frames when they are due, as a DJ's stream arrives.

use std::time::Duration;

use anyhow::bail;
use e2e::bench::now_us;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::FieldTable,
};
use redis::aio::MultiplexedConnection;

use crate::{
    frame::{FRAME_US, encode},
    routing::{EXCHANGE, burst_of, channel_of, key_of},
    settings::{Engine, Settings},
};

/// The relay's burst list with its default 64 KiB burst (`replication::Outbox::start`).
const BURST_FRAMES: i64 = 256;

/// The replica holding the sources: how it hands a frame on.
#[derive(Clone)]
pub enum Sender {
    Redis(MultiplexedConnection),
    Amqp { channel: Channel, confirm: bool },
}

impl Sender {
    async fn send(&mut self, broadcast: usize, message: &[u8]) -> anyhow::Result<()> {
        match self {
            Self::Redis(connection) => {
                let burst = burst_of(broadcast);
                let mut pipe = redis::pipe();
                pipe.cmd("RPUSH").arg(&burst).arg(message).ignore();
                pipe.cmd("LTRIM")
                    .arg(&burst)
                    .arg(-BURST_FRAMES)
                    .arg(-1)
                    .ignore();
                pipe.cmd("PUBLISH")
                    .arg(channel_of(broadcast))
                    .arg(message)
                    .ignore();
                pipe.query_async::<()>(connection).await?;
            }
            Self::Amqp { channel, confirm } => {
                let confirmation = channel
                    .basic_publish(
                        EXCHANGE.into(),
                        key_of(broadcast).as_str().into(),
                        BasicPublishOptions::default(),
                        message,
                        BasicProperties::default(),
                    )
                    .await?;
                if *confirm && confirmation.await?.is_nack() {
                    bail!("RabbitMQ refused a frame");
                }
            }
        }
        Ok(())
    }
}

/// The publishing side of `engine`, and the connection to close afterwards.
pub async fn sender(
    engine: Engine,
    s: &Settings,
    redis: &redis::Client,
) -> anyhow::Result<(Sender, Option<Connection>)> {
    if engine == Engine::Redis {
        let connection = redis.get_multiplexed_async_connection().await?;
        return Ok((Sender::Redis(connection), None));
    }
    let connection = Connection::connect(&s.amqp_url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    channel
        .exchange_declare(
            EXCHANGE.into(),
            ExchangeKind::Direct,
            ExchangeDeclareOptions {
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let confirm = engine == Engine::AmqpConfirm;
    if confirm {
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
    }
    Ok((Sender::Amqp { channel, confirm }, Some(connection)))
}

/// One broadcast's source: `frames` frames, each sent when due (a late one is sent at once).
pub async fn broadcast(
    mut sender: Sender,
    broadcast: usize,
    first_due_us: u64,
    frames: u64,
) -> anyhow::Result<u64> {
    for seq in 0..frames {
        let due_us = first_due_us + seq * FRAME_US;
        tokio::time::sleep(Duration::from_micros(due_us.saturating_sub(now_us()))).await;
        sender
            .send(broadcast, &encode(broadcast, seq, due_us))
            .await?;
    }
    Ok(frames)
}
