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
//!
//! The modules: [`settings`] (the command line and the engines), [`frame`] (a frame on the wire),
//! [`routing`] (the Redis keys and channels, the AMQP exchange and keys), [`sources`] (the sending
//! replica), [`replicas`] (the receiving ones, each keeping a [`tally`]), [`phase`] (one engine at
//! one B × R) and [`report`] (its table).

mod frame;
mod phase;
mod replicas;
mod report;
mod routing;
mod settings;
mod sources;
mod tally;

use e2e::bench::clock_ticks;
use settings::Settings;

const USAGE: &str = "usage: replication_bench --redis URL --amqp URL --redis-pid PID --rabbitmq-pid PID \
[--broadcasts 1,10,50] [--replicas 1,3] [--seconds 20] [--engines redis,amqp,amqp-confirm]";

fn main() -> anyhow::Result<()> {
    let settings = settings::settings()?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(settings))
}

/// Every B × R, each engine in turn, a table each.
async fn run(s: Settings) -> anyhow::Result<()> {
    let ticks = clock_ticks();
    let idle = phase::idle(&s, ticks).await;
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
                outcomes.push(phase::phase(engine, &s, &idle, (broadcasts, replicas)).await?);
            }
            report::print_table(&s, (broadcasts, replicas), &outcomes);
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
