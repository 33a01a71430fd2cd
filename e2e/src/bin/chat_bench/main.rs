//! The chat fan-out benchmark of issue 6 (BENCHMARKS.md): N WebSocket clients in one broadcast's room,
//! M chat messages a second posted over REST, against LiveStreamer (REST → gateway → chat →
//! PostgreSQL → RabbitMQ → gateway → sockets) and, in the same run with the same N, M and duration,
//! against the Node.js `ws` reference hub of `e2e/bench/node-hub`, and with `--floor` against the
//! floor hub (`floor_hub`: one write per socket and nothing else, what any hub's delivery costs at
//! the least). Prints them side by side.
//!
//! `e2e/bench/run-chat-bench.sh` starts everything and runs this; by hand:
//!
//! ```text
//! chat_bench run --clients 1000 --rate 10 --seconds 30 \
//!     --edge http://127.0.0.1:29480 --maildev http://127.0.0.1:1280 \
//!     --ws http://127.0.0.1:29400,http://127.0.0.1:29401 --gateway-pids 123,456 \
//!     --node http://127.0.0.1:29490 --node-pid 789 [--watch chat=321,nginx=654]
//! ```
//!
//! The sockets are held by `chat_bench worker` processes (at most `--per-process` each, 2,500 by
//! default: one process may hold 20,000 descriptors here) bound to several 127.0.0.x source addresses
//! (`--sources`, 4 by default: about 28,000 ephemeral ports per destination). Each message's text
//! carries its sequence number and the time just before its POST (`bench#SEQ#UNIX_MICROS`), so each
//! receipt gives one delivery time; a worker counts each client's distinct messages, so a client's
//! missed messages are the accepted ones it never got. The servers' CPU (utime + stime of
//! /proc/PID/stat) is taken over the posting window plus the drain; their RSS (/proc/PID/status)
//! before the clients connect and once the room is quiet again.
//!
//! `CHAT_BENCH_DUMP=1` makes each worker's first client print the head of every frame that is not a
//! benchmark message (presence, stream state) to stderr, to see what a room costs its sockets.
//!
//! The modules, in the order a run meets them: [`options`] (the command line), [`hubs`] (the two
//! servers under test and [`poster`], how each is sent a message), [`phase`] (one hub's run, driving
//! [`worker_pool`]), the worker processes ([`worker`], each holding many [`client`]s that read
//! [`mark`]s), [`procfs`] (CPU, RSS and quiet from /proc) and [`report`] (the printed table).

mod client;
mod hubs;
mod mark;
mod options;
mod phase;
mod poster;
mod procfs;
mod report;
mod worker;
mod worker_pool;

use options::{Opts, Settings};

const USAGE: &str = "usage: chat_bench run [--clients N] [--rate M] [--seconds S] --edge URL --maildev URL \
[--ws URL,URL] --gateway-pids PID|FILE,... [--baseline-name NAME --baseline-ws URL,URL --baseline-pids PID,...] \
[--node URL --node-pid PID] [--floor URL --floor-pid PID] \
[--watch NAME=PID,...] [--per-process 2500] [--sources 4] [--connect-rate 500] [--settle-max 300] [--drain 5] [--only ours|node]";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let opts = Opts::parse(args)?;
    match mode.as_str() {
        "worker" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(worker::worker(opts)),
        "run" => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(run(opts)),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2)
        }
    }
}

/// The coordinator: each hub in turn, then the table of both.
async fn run(opts: Opts) -> anyhow::Result<()> {
    let settings = Settings::from_opts(&opts)?;
    let hubs = hubs::hubs(&opts, &settings).await?;
    let mut results = Vec::new();
    for hub in &hubs {
        eprintln!(
            "==> {}: {} clients, {} msg/s for {} s",
            hub.name, settings.clients, settings.rate, settings.seconds
        );
        let result = phase::phase(hub, &settings).await?;
        report::print_phase(&hub.name, &result);
        results.push(result);
    }
    report::print_table(&hubs, &results, &settings);
    Ok(())
}
