//! One engine with B broadcasts and R replicas: the replicas subscribe, the sources send for the
//! duration, the replicas get 2 s more, then their tallies and the server's CPU (less its idle rate,
//! measured once before the run by [`idle`]) make an [`Outcome`]; what the engine left on the
//! server is removed.

use std::time::{Duration, Instant};

use e2e::bench::{Histogram, clock_ticks, cpu_us, now_us};
use lapin::Connection;
use tokio::sync::watch;

use crate::{
    frame::FRAME_US,
    replicas::{Receivers, amqp_replicas, redis_replicas},
    routing::burst_of,
    settings::{Engine, Settings},
    sources::{Sender, broadcast, sender},
};

const DRAIN: Duration = Duration::from_secs(2);

/// What one engine did with B broadcasts and R replicas.
pub struct Outcome {
    pub sent: u64,
    pub received: u64,
    pub lost: u64,
    pub reordered: u64,
    pub duplicates: u64,
    pub latency: Histogram,
    pub max_us: u64,
    pub window_s: f64,
    pub server_cpu_us: u64,
    pub own_cpu_us: u64,
}

/// CPU microseconds a second each process spends doing nothing of ours.
pub struct Idle {
    pub redis: f64,
    pub rabbitmq: f64,
}

pub async fn idle(s: &Settings, ticks: u64) -> Idle {
    let before = (cpu_us(s.redis_pid, ticks), cpu_us(s.rabbitmq_pid, ticks));
    tokio::time::sleep(Duration::from_secs(5)).await;
    Idle {
        redis: (cpu_us(s.redis_pid, ticks) - before.0) as f64 / 5.0,
        rabbitmq: (cpu_us(s.rabbitmq_pid, ticks) - before.1) as f64 / 5.0,
    }
}

pub async fn phase(
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
    let sent = send_all(&sender, broadcasts, frames).await?;
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
    let amqp = add_tallies(&mut outcome, receivers, &sent).await?;
    clean_up(
        engine,
        &redis,
        broadcasts,
        amqp.into_iter().chain(publishing),
    )
    .await?;
    Ok(outcome)
}

/// Every broadcast's source, spread over a frame's time as independent DJs are; returns how many
/// frames each sent.
async fn send_all(sender: &Sender, broadcasts: usize, frames: u64) -> anyhow::Result<Vec<u64>> {
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
    Ok(sent)
}

/// Adds each replica's tally into `outcome`; returns the AMQP connections to close.
async fn add_tallies(
    outcome: &mut Outcome,
    receivers: Receivers,
    sent: &[u64],
) -> anyhow::Result<Vec<Connection>> {
    for receiver in receivers.tallies {
        let tally = receiver.await?;
        outcome.received += tally.latency.count();
        outcome.lost += tally.lost(sent);
        outcome.reordered += tally.reordered;
        outcome.duplicates += tally.duplicates;
        outcome.max_us = outcome.max_us.max(tally.max_us);
        outcome.latency.merge(&tally.latency);
    }
    Ok(receivers.amqp)
}

/// Closes the AMQP connections (their queues and the exchange are auto-deleted) and deletes the
/// Redis burst lists.
async fn clean_up(
    engine: Engine,
    redis: &redis::Client,
    broadcasts: usize,
    amqp: impl Iterator<Item = Connection>,
) -> anyhow::Result<()> {
    for connection in amqp {
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
    Ok(())
}
