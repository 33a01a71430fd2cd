//! The relay replication benchmark of issue 4 (BENCHMARKS.md): the frames a relay replica holding a
//! source sends to the other replicas, through Redis pub/sub (what `stream-relay`'s `replication`
//! module does) and through a RabbitMQ exchange, one after the other in the same run, side by side.
//!
//! `e2e/bench/replication.sh` finds the servers' pids and runs this against the "it" stack; by hand:
//!
//! ```text
//! replication_bench --redis redis://127.0.0.1:26579/ --amqp amqp://guest:guest@127.0.0.1:25872/%2f \
//!     --redis-pid 123 --rabbitmq-pid 456 [--broadcasts 1,10,50] [--replicas 1,3] [--seconds 20]
//! ```
//!
//! Each of B broadcasts sends 38 frames a second of 418 bytes (128 kbit/s MP3 at 44.1 kHz), each
//! encoded as the relay encodes it (`F`, the sequence number, the frame), the frame carrying the time
//! it was due and its broadcast; each of R replicas receives every broadcast. Per engine:
//! - `redis`: per frame the relay's pipeline (`RPUSH` to the burst list, `LTRIM` to 256 frames,
//!   `PUBLISH` on the broadcast's channel) on one multiplexed connection; each replica one pub/sub
//!   connection subscribed to every channel.
//! - `amqp`: a direct exchange, a routing key per broadcast, one exclusive auto-delete queue per
//!   replica bound to every key; transient messages published without confirms, consumed without
//!   acks: the at-most-once mode a frame path would use.
//! - `amqp-confirm`: the same with publisher confirms (each broadcast waits for the confirm of a frame
//!   before the next, as the event publisher does) and a manual ack per delivery (prefetch 1,000).
//!
//! Latency is arrival minus the time the frame was due, so a publisher falling behind counts. A frame
//! is lost when a replica has not received it 2 s after the last one was due; reordered when it
//! arrives after a higher number of its broadcast. CPU is utime + stime of /proc/PID/stat over the
//! sending window plus the drain, minus the server's idle rate measured before the run.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::bench::{Histogram, clock_ticks, cpu_us, now_us};
use futures_util::{Stream, StreamExt};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
        ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
    },
    types::FieldTable,
};
use redis::aio::MultiplexedConnection;
use tokio::{sync::watch, task::JoinHandle};

const USAGE: &str = "usage: replication_bench --redis URL --amqp URL --redis-pid PID --rabbitmq-pid PID \
[--broadcasts 1,10,50] [--replicas 1,3] [--seconds 20] [--engines redis,amqp,amqp-confirm]";

/// 128 kbit/s MP3 at 44.1 kHz: 1,152 samples a frame, 417.96 bytes.
const FRAME_BYTES: usize = 418;
const FRAME_US: u64 = 1_152 * 1_000_000 / 44_100;
/// The relay's burst list with its default 64 KiB burst (`replication::Outbox::start`).
const BURST_FRAMES: i64 = 256;
const DRAIN: Duration = Duration::from_secs(2);
const EXCHANGE: &str = "bench.replication";
const PREFIX: &str = "bench:replication:";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Redis,
    Amqp,
    AmqpConfirm,
}

impl Engine {
    fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "redis" => Self::Redis,
            "amqp" => Self::Amqp,
            "amqp-confirm" => Self::AmqpConfirm,
            _ => bail!("unknown engine {name:?}\n{USAGE}"),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Amqp => "amqp",
            Self::AmqpConfirm => "amqp-confirm",
        }
    }
}

struct Settings {
    redis_url: String,
    amqp_url: String,
    redis_pid: u32,
    rabbitmq_pid: u32,
    broadcasts: Vec<usize>,
    replicas: Vec<usize>,
    engines: Vec<Engine>,
    seconds: f64,
}

fn settings() -> anyhow::Result<Settings> {
    let mut args = std::collections::BTreeMap::new();
    let mut raw = std::env::args().skip(1);
    while let Some(key) = raw.next() {
        let name = key
            .strip_prefix("--")
            .with_context(|| format!("unexpected {key:?}\n{USAGE}"))?;
        let value = raw.next().with_context(|| format!("{key} needs a value"))?;
        args.insert(name.to_owned(), value);
    }
    let get = |name: &str, default: &str| args.get(name).cloned().unwrap_or(default.into());
    let need = |name: &str| args.get(name).cloned().with_context(|| USAGE.to_owned());
    let numbers = |name: &str, default: &str| -> anyhow::Result<Vec<usize>> {
        get(name, default)
            .split(',')
            .map(|n| n.parse().with_context(|| format!("--{name} {n:?}")))
            .collect()
    };
    Ok(Settings {
        redis_url: need("redis")?,
        amqp_url: need("amqp")?,
        redis_pid: need("redis-pid")?.parse()?,
        rabbitmq_pid: need("rabbitmq-pid")?.parse()?,
        broadcasts: numbers("broadcasts", "1,10,50")?,
        replicas: numbers("replicas", "1,3")?,
        engines: get("engines", "redis,amqp,amqp-confirm")
            .split(',')
            .map(Engine::parse)
            .collect::<anyhow::Result<_>>()?,
        seconds: get("seconds", "20").parse()?,
    })
}

fn main() -> anyhow::Result<()> {
    let settings = settings()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(settings))
}

// --- frames ------------------------------------------------------------------------------------------

/// A frame as the relay puts it on the channel (`replication::Message::Frame`): `F`, the sequence
/// number, then 418 bytes whose head carries the time it was due and its broadcast.
fn encode(broadcast: usize, seq: u64, due_us: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + FRAME_BYTES);
    out.push(b'F');
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&due_us.to_be_bytes());
    out.extend_from_slice(&(broadcast as u32).to_be_bytes());
    out.resize(9 + FRAME_BYTES, 0);
    out
}

/// `(broadcast, seq, due_us)`.
fn decode(bytes: &[u8]) -> Option<(usize, u64, u64)> {
    let (b'F', rest) = bytes.split_first()? else {
        return None;
    };
    let number = |at: usize| Some(u64::from_be_bytes(rest.get(at..at + 8)?.try_into().ok()?));
    let broadcast = u32::from_be_bytes(rest.get(16..20)?.try_into().ok()?);
    Some((broadcast as usize, number(0)?, number(8)?))
}

/// What one replica received.
struct Tally {
    latency: Histogram,
    /// Per broadcast, which sequence numbers arrived.
    seen: Vec<Vec<bool>>,
    highest: Vec<Option<u64>>,
    max_us: u64,
    duplicates: u64,
    reordered: u64,
}

impl Tally {
    fn new(broadcasts: usize) -> Self {
        Self {
            latency: Histogram::new(),
            seen: vec![Vec::new(); broadcasts],
            highest: vec![None; broadcasts],
            max_us: 0,
            duplicates: 0,
            reordered: 0,
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        let Some((broadcast, seq, due_us)) = decode(bytes) else {
            return;
        };
        let latency = now_us().saturating_sub(due_us);
        self.latency.record(latency);
        self.max_us = self.max_us.max(latency);
        let seen = &mut self.seen[broadcast];
        if seen.len() <= seq as usize {
            seen.resize(seq as usize + 1, false);
        }
        if std::mem::replace(&mut seen[seq as usize], true) {
            self.duplicates += 1;
        }
        let highest = &mut self.highest[broadcast];
        match *highest {
            Some(h) if seq < h => self.reordered += 1,
            _ => *highest = Some(seq),
        }
    }

    /// Frames sent but never received, given how many each broadcast sent.
    fn lost(&self, sent: &[u64]) -> u64 {
        sent.iter()
            .zip(&self.seen)
            .map(|(&n, seen)| n - seen.iter().take(n as usize).filter(|s| **s).count() as u64)
            .sum()
    }
}

/// Counts every message of `messages` until `stop` turns true.
async fn tally<S, B>(messages: S, broadcasts: usize, mut stop: watch::Receiver<bool>) -> Tally
where
    S: Stream<Item = B>,
    B: AsRef<[u8]>,
{
    let mut tally = Tally::new(broadcasts);
    let mut messages = std::pin::pin!(messages);
    loop {
        tokio::select! {
            message = messages.next() => match message {
                Some(bytes) => tally.receive(bytes.as_ref()),
                None => break,
            },
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    tally
}

// --- the engines -------------------------------------------------------------------------------------

fn channel_of(broadcast: usize) -> String {
    format!("{PREFIX}frames:{broadcast}")
}

fn burst_of(broadcast: usize) -> String {
    format!("{PREFIX}burst:{broadcast}")
}

fn key_of(broadcast: usize) -> String {
    format!("frames.{broadcast}")
}

/// The replica holding the sources: how it hands a frame on.
#[derive(Clone)]
enum Sender {
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

/// The receiving replicas, each counting what it gets until told to stop; and the connections to
/// close afterwards.
struct Receivers {
    tallies: Vec<JoinHandle<Tally>>,
    amqp: Vec<Connection>,
}

async fn redis_replicas(
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

async fn amqp_replicas(
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

/// The publishing side of `engine`, and the connection to close afterwards.
async fn sender(
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
async fn broadcast(
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

// --- a run -------------------------------------------------------------------------------------------

/// What one engine did with B broadcasts and R replicas.
struct Outcome {
    sent: u64,
    received: u64,
    lost: u64,
    reordered: u64,
    duplicates: u64,
    latency: Histogram,
    max_us: u64,
    window_s: f64,
    server_cpu_us: u64,
    own_cpu_us: u64,
}

/// CPU microseconds a second each process spends doing nothing of ours.
struct Idle {
    redis: f64,
    rabbitmq: f64,
}

async fn idle(s: &Settings, ticks: u64) -> Idle {
    let before = (cpu_us(s.redis_pid, ticks), cpu_us(s.rabbitmq_pid, ticks));
    tokio::time::sleep(Duration::from_secs(5)).await;
    Idle {
        redis: (cpu_us(s.redis_pid, ticks) - before.0) as f64 / 5.0,
        rabbitmq: (cpu_us(s.rabbitmq_pid, ticks) - before.1) as f64 / 5.0,
    }
}

async fn phase(
    engine: Engine,
    s: &Settings,
    idle: &Idle,
    (broadcasts, replicas): (usize, usize),
) -> anyhow::Result<Outcome> {
    let (ticks, own_pid) = (clock_ticks(), std::process::id());
    let redis = redis::Client::open(s.redis_url.as_str())?;
    let (stop, stopped) = watch::channel(false);
    let (sender, publishing) = sender(engine, s, &redis).await?;
    let receivers = match engine {
        Engine::Redis => redis_replicas(&redis, broadcasts, replicas, &stopped).await?,
        _ => {
            let ack = engine == Engine::AmqpConfirm;
            amqp_replicas(&s.amqp_url, broadcasts, replicas, ack, &stopped).await?
        }
    };
    let (server_pid, idle_rate) = match engine {
        Engine::Redis => (s.redis_pid, idle.redis),
        _ => (s.rabbitmq_pid, idle.rabbitmq),
    };
    let frames = (s.seconds * 1e6 / FRAME_US as f64) as u64;
    let started = Instant::now();
    let (server_before, own_before) = (cpu_us(server_pid, ticks), cpu_us(own_pid, ticks));
    // The sources are spread over a frame's time, as independent DJs are.
    let first_due_us = now_us() + 50_000;
    let sources: Vec<_> = (0..broadcasts)
        .map(|b| {
            let offset = FRAME_US * b as u64 / broadcasts as u64;
            tokio::spawn(broadcast(sender.clone(), b, first_due_us + offset, frames))
        })
        .collect();
    let mut sent = Vec::new();
    for source in sources {
        sent.push(source.await??);
    }
    tokio::time::sleep(DRAIN).await;
    stop.send_replace(true);
    let mut outcome = Outcome {
        sent: sent.iter().sum(),
        received: 0,
        lost: 0,
        reordered: 0,
        duplicates: 0,
        latency: Histogram::new(),
        max_us: 0,
        window_s: started.elapsed().as_secs_f64(),
        server_cpu_us: 0,
        own_cpu_us: cpu_us(own_pid, ticks) - own_before,
    };
    let idle_us = (idle_rate * outcome.window_s) as u64;
    outcome.server_cpu_us = (cpu_us(server_pid, ticks) - server_before).saturating_sub(idle_us);
    for receiver in receivers.tallies {
        let tally = receiver.await?;
        outcome.received += tally.latency.count();
        outcome.lost += tally.lost(&sent);
        outcome.reordered += tally.reordered;
        outcome.duplicates += tally.duplicates;
        outcome.max_us = outcome.max_us.max(tally.max_us);
        outcome.latency.merge(&tally.latency);
    }
    for connection in receivers.amqp.into_iter().chain(publishing) {
        let _ = connection.close(200, "done".into()).await;
    }
    if engine == Engine::Redis {
        let mut connection = redis.get_multiplexed_async_connection().await?;
        let bursts: Vec<String> = (0..broadcasts).map(burst_of).collect();
        redis::cmd("DEL")
            .arg(&bursts)
            .query_async::<()>(&mut connection)
            .await?;
    }
    Ok(outcome)
}

async fn run(s: Settings) -> anyhow::Result<()> {
    let ticks = clock_ticks();
    let idle = idle(&s, ticks).await;
    println!(
        "idle before the run: redis-server {:.1} ms/s, beam.smp {:.1} ms/s (subtracted below); load average {}",
        idle.redis / 1e3,
        idle.rabbitmq / 1e3,
        load_average()
    );
    for &broadcasts in &s.broadcasts {
        for &replicas in &s.replicas {
            let mut outcomes = Vec::new();
            for &engine in &s.engines {
                outcomes.push(phase(engine, &s, &idle, (broadcasts, replicas)).await?);
            }
            print_table(&s, (broadcasts, replicas), &outcomes);
        }
    }
    println!("load average after: {}", load_average());
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_default()
}

// --- the report --------------------------------------------------------------------------------------

fn print_table(s: &Settings, (broadcasts, replicas): (usize, usize), outcomes: &[Outcome]) {
    println!(
        "\n{broadcasts} broadcasts × {replicas} replicas, {} s, {:.1} frames/s a broadcast of {FRAME_BYTES} bytes",
        s.seconds,
        1e6 / FRAME_US as f64
    );
    let mut header = format!("{:<34}", "");
    for engine in &s.engines {
        header += &format!("{:>14}", engine.name());
    }
    println!("{header}");
    let ms = |us: Option<u64>| us.map_or("-".into(), |us| format!("{:.2}", us as f64 / 1e3));
    let per_1000 = |us: u64, n: u64| match n {
        0 => "-".to_owned(),
        n => format!("{:.2}", us as f64 / 1e3 / n as f64 * 1e3),
    };
    type Row<'a> = (&'a str, Box<dyn Fn(&Outcome) -> String + 'a>);
    let rows: Vec<Row> = vec![
        ("frames sent", Box::new(|o| o.sent.to_string())),
        ("deliveries received", Box::new(|o| o.received.to_string())),
        ("lost", Box::new(|o| o.lost.to_string())),
        (
            "reordered / duplicated",
            Box::new(|o| format!("{} / {}", o.reordered, o.duplicates)),
        ),
        (
            "latency p50 ms",
            Box::new(move |o| ms(o.latency.quantile(0.5))),
        ),
        (
            "latency p99 ms",
            Box::new(move |o| ms(o.latency.quantile(0.99))),
        ),
        ("latency max ms", Box::new(move |o| ms(Some(o.max_us)))),
        (
            "server CPU s (minus idle)",
            Box::new(|o| format!("{:.2}", o.server_cpu_us as f64 / 1e6)),
        ),
        (
            "server CPU ms / 1,000 frames sent",
            Box::new(move |o| per_1000(o.server_cpu_us, o.sent)),
        ),
        (
            "server CPU ms / 1,000 deliveries",
            Box::new(move |o| per_1000(o.server_cpu_us, o.received)),
        ),
        (
            "bench CPU s",
            Box::new(|o| format!("{:.2}", o.own_cpu_us as f64 / 1e6)),
        ),
        (
            "window s (sending + 2 s drain)",
            Box::new(|o| format!("{:.1}", o.window_s)),
        ),
    ];
    for (name, cell) in rows {
        let mut line = format!("{name:<34}");
        for outcome in outcomes {
            line += &format!("{:>14}", cell(outcome));
        }
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_their_broadcast_number_and_due_time() {
        let frame = encode(49, 760, 1_700_000_000_000_000);
        assert_eq!(frame.len(), 9 + FRAME_BYTES);
        assert_eq!(decode(&frame), Some((49, 760, 1_700_000_000_000_000)));
        assert_eq!(decode(b"E"), None);
    }

    #[test]
    fn a_tally_counts_losses_reorders_and_duplicates() {
        let mut tally = Tally::new(2);
        for seq in [0, 2, 1, 2, 4] {
            tally.receive(&encode(1, seq, now_us()));
        }
        tally.receive(&encode(0, 0, now_us()));
        assert_eq!(
            tally.lost(&[2, 6]),
            1 + 2,
            "frame 1 of broadcast 0; 3 and 5 of 1"
        );
        assert_eq!((tally.reordered, tally.duplicates), (1, 1));
    }
}
