//! `relay-bench run …` measures one server; `relay-bench table OURS.json … THEIRS.json` prints runs
//! side by side; `relay-bench worker …` is one listener process (started by `run`).
//! e2e/bench/relay.sh starts the servers and calls these; see there.

use std::{
    net::SocketAddr,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use relay_bench::{
    RunResult, frames,
    listeners::{self, Plan, Reports},
    proc, source, table,
};
use tokio::io::AsyncReadExt;

#[derive(Parser)]
#[command(about = "Load generator of the stream relay benchmark (issue 4)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Streams a synthetic source into one server, then connects the listeners and measures.
    Run(RunArgs),
    /// One worker process's listeners (started by `run`); prints its report as JSON.
    Worker(WorkerArgs),
    /// Prints runs' results side by side: ours first, the comparison last (ratios are to it).
    Table {
        #[arg(num_args = 2.., required = true)]
        runs: Vec<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// A name for the server in the table.
    #[arg(long)]
    label: String,
    /// The server's process id, for CPU time and RSS; repeated for a server of several processes
    /// (two relay replicas), whose figures are added up.
    #[arg(long, required = true)]
    server_pid: Vec<u32>,
    /// Where the source connects, its mount path and `user:password`.
    #[arg(long)]
    source: SocketAddr,
    #[arg(long)]
    source_path: String,
    #[arg(long)]
    source_auth: String,
    /// Frames the source writes at once (1 as ffmpeg; about 10 as ezstream's 4 KiB blocks).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=source::MAX_BLOCK))]
    source_block: u64,
    /// Where listeners connect, and the path they GET.
    #[arg(long)]
    listen: SocketAddr,
    #[arg(long)]
    listen_path: String,
    #[arg(long)]
    listeners: u64,
    /// New listeners per second.
    #[arg(long, default_value_t = 500.0)]
    rate: f64,
    /// How long every listener stays connected once all have arrived (the hold window).
    #[arg(long)]
    seconds: u64,
    /// The share of listeners (0..1) that read at half the stream's rate, reported apart.
    #[arg(long, default_value_t = 0.0)]
    slow_share: f64,
    /// The half-speed listeners' SO_RCVBUF in bytes (0: the kernel's autotuning); see `pace`.
    #[arg(long, default_value_t = 0)]
    slow_rcvbuf: u32,
    /// Seconds of source audio before the first listener (fills the server's burst buffer).
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Listener processes (each holds at most 20,000 files here); default: one per 4,000.
    #[arg(long)]
    workers: Option<u64>,
    /// Loopback source addresses 127.0.0.2 .. (about 28,000 ports each).
    #[arg(long, default_value_t = 8)]
    addresses: u64,
    /// Where the JSON result goes.
    #[arg(long)]
    out: String,
}

#[derive(clap::Args)]
struct WorkerArgs {
    #[arg(long)]
    server: SocketAddr,
    #[arg(long)]
    path: String,
    #[arg(long)]
    first: u64,
    #[arg(long)]
    step: u64,
    #[arg(long)]
    listeners: u64,
    #[arg(long)]
    rate: f64,
    #[arg(long)]
    addresses: u64,
    #[arg(long)]
    start_ns: u64,
    #[arg(long)]
    end_ns: u64,
    #[arg(long, default_value_t = 0.0)]
    slow_share: f64,
    #[arg(long, default_value_t = 0)]
    slow_rcvbuf: u32,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Run(args) => runtime.block_on(run(args)),
        Command::Worker(args) => {
            let plan = Plan {
                server: args.server,
                path: args.path,
                first: args.first,
                step: args.step,
                listeners: args.listeners,
                rate: args.rate,
                addresses: args.addresses.max(1),
                start_ns: args.start_ns,
                end_ns: args.end_ns,
                slow_share: args.slow_share,
                slow_rcvbuf: args.slow_rcvbuf,
            };
            let report = runtime.block_on(listeners::run(plan));
            println!("{}", serde_json::to_string(&report)?);
            Ok(())
        }
        Command::Table { runs } => {
            let read = |path: &String| -> anyhow::Result<RunResult> {
                let text = std::fs::read_to_string(path).with_context(|| format!("read {path}"))?;
                Ok(serde_json::from_str(&text)?)
            };
            let runs = runs.iter().map(read).collect::<anyhow::Result<Vec<_>>>()?;
            print!("{}", table::render(&runs));
            Ok(())
        }
    }
}

async fn sleep_until_ns(at_ns: u64) {
    let now = frames::now_ns();
    if at_ns > now {
        tokio::time::sleep(Duration::from_nanos(at_ns - now)).await;
    }
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let ticks = proc::clock_ticks();
    let pids = &args.server_pid;
    let source = source::connect(args.source, &args.source_path, &args.source_auth).await?;
    let sent = Arc::new(AtomicU64::new(0));
    let mut source_task = tokio::spawn(source::stream(source, args.source_block, sent.clone()));
    eprintln!(
        "{}: source streaming; {} s of warm-up",
        args.label, args.warmup
    );
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;

    let rss_before = proc::rss_kib_of(pids)?;
    let cpu_start = proc::cpu_seconds_of(pids, ticks)?;
    let start_ns = frames::now_ns() + 500_000_000;
    let ramp_ns = (args.listeners as f64 * 1e9 / args.rate) as u64;
    // every listener has tried to connect one second after the last arrival; then the hold window
    let hold_ns = start_ns + ramp_ns + 1_000_000_000;
    let end_ns = hold_ns + args.seconds * 1_000_000_000;
    let workers = args
        .workers
        .unwrap_or_else(|| args.listeners.div_ceil(4_000))
        .clamp(1, args.listeners.max(1));
    let exe = std::env::current_exe()?;
    let mut children = Vec::new();
    for w in 0..workers {
        let count = (args.listeners + workers - 1 - w) / workers;
        let child = tokio::process::Command::new(&exe)
            .arg("worker")
            .args(["--server", &args.listen.to_string()])
            .args(["--path", &args.listen_path])
            .args(["--first", &w.to_string(), "--step", &workers.to_string()])
            .args(["--listeners", &count.to_string()])
            .args(["--rate", &args.rate.to_string()])
            .args(["--addresses", &args.addresses.to_string()])
            .args(["--start-ns", &start_ns.to_string()])
            .args(["--end-ns", &end_ns.to_string()])
            .args(["--slow-share", &args.slow_share.to_string()])
            .args(["--slow-rcvbuf", &args.slow_rcvbuf.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("start a worker")?;
        children.push(child);
    }
    eprintln!(
        "{}: {} listeners at {}/s over {workers} processes, then {} s held",
        args.label, args.listeners, args.rate, args.seconds
    );

    let mut rss_peak = rss_before;
    let mut cpu_hold_start = None;
    let mut rss_end = rss_before;
    let mut cpu_end = cpu_start;
    loop {
        let now = frames::now_ns();
        if now >= end_ns.saturating_sub(200_000_000) {
            cpu_end = proc::cpu_seconds_of(pids, ticks)?;
            rss_end = proc::rss_kib_of(pids)?;
            rss_peak = rss_peak.max(rss_end);
            break;
        }
        if cpu_hold_start.is_none() && now >= hold_ns {
            cpu_hold_start = Some(proc::cpu_seconds_of(pids, ticks)?);
            eprintln!("{}: hold window begins", args.label);
        }
        rss_peak = rss_peak.max(proc::rss_kib_of(pids).unwrap_or(0));
        if source_task.is_finished() {
            break;
        }
        let next = if cpu_hold_start.is_none() {
            hold_ns.min(now + 500_000_000)
        } else {
            now + 500_000_000
        };
        sleep_until_ns(next.min(end_ns.saturating_sub(200_000_000))).await;
    }
    let source_held = !source_task.is_finished();
    if let Ok(Ok(Err(error))) = tokio::time::timeout(Duration::ZERO, &mut source_task).await {
        eprintln!("{}: the source failed: {error:#}", args.label);
    }

    let mut total = Reports::default();
    for mut child in children {
        let mut stdout = child.stdout.take().context("worker stdout")?;
        let mut text = String::new();
        stdout.read_to_string(&mut text).await?;
        let status = child.wait().await?;
        if !status.success() {
            bail!("a worker failed: {status}");
        }
        let report: Reports = serde_json::from_str(text.trim())
            .with_context(|| format!("a worker's report: {text}"))?;
        total.merge(&report);
    }
    source_task.abort();
    let hold_start = cpu_hold_start.unwrap_or(cpu_end);
    let result = RunResult {
        label: args.label.clone(),
        listeners: args.listeners,
        rate: args.rate,
        seconds: args.seconds,
        listeners_report: total.steady,
        slow_share: args.slow_share,
        slow_report: total.slow,
        source_frames: sent.load(Ordering::Relaxed),
        source_held,
        cpu_hold_s: cpu_end - hold_start,
        cpu_run_s: cpu_end - cpu_start,
        rss_before_kib: rss_before,
        rss_end_kib: rss_end,
        rss_peak_kib: rss_peak,
    };
    std::fs::write(&args.out, serde_json::to_string_pretty(&result)?)?;
    let r = &result.listeners_report;
    eprintln!(
        "{}: connected {}/{}, disconnects {}, gaps {}, lag p99 {:.1} ms, ttfb p99 {:.1} ms, \
         CPU {:.1} µs/listener-s, {:.2} KiB/listener",
        args.label,
        r.connected,
        r.asked,
        r.disconnected,
        r.gaps,
        r.lag.quantile_us(0.99) as f64 / 1000.0,
        r.ttfb.quantile_us(0.99) as f64 / 1000.0,
        table::cpu_us_per_listener_second(&result),
        table::kib_per_listener(&result),
    );
    let slow = &result.slow_report;
    if slow.asked > 0 {
        eprintln!(
            "{}: half-speed listeners: connected {}/{}, dropped {}, still connected at the end {}",
            args.label, slow.connected, slow.asked, slow.disconnected, slow.behind_at_end.total,
        );
    }
    Ok(())
}
