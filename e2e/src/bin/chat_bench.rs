//! The chat fan-out benchmark of issue 6 (BENCHMARKS.md): N WebSocket clients in one broadcast's room,
//! M chat messages a second posted over REST, against LiveStreamer (REST → gateway → chat →
//! PostgreSQL → RabbitMQ → gateway → sockets) and, in the same run with the same N, M and duration,
//! against the Node.js `ws` reference hub of `e2e/bench/node-hub`. Prints both side by side.
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

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    net::{IpAddr, Ipv4Addr, SocketAddr},
    process::{Child, ChildStdin, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use e2e::{
    Platform, SignedInUser,
    bench::{Histogram, clock_ticks, cpu_us, now_us},
};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::{net::TcpSocket, sync::mpsc};
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};

const USAGE: &str = "usage: chat_bench run [--clients N] [--rate M] [--seconds S] --edge URL --maildev URL \
[--ws URL,URL] --gateway-pids PID|FILE,... [--node URL --node-pid PID] [--watch NAME=PID,...] \
[--per-process 2500] [--sources 4] [--connect-rate 500] [--settle-max 300] [--drain 5] [--only ours|node]";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let opts = Opts::parse(args)?;
    match mode.as_str() {
        "worker" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(worker(opts)),
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

// --- options ---------------------------------------------------------------------------------------

struct Opts(BTreeMap<String, String>);

impl Opts {
    fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut map = BTreeMap::new();
        while let Some(key) = args.next() {
            let Some(name) = key.strip_prefix("--") else {
                bail!("unexpected argument {key:?}\n{USAGE}");
            };
            let value = args
                .next()
                .with_context(|| format!("{key} needs a value"))?;
            map.insert(name.to_owned(), value);
        }
        Ok(Self(map))
    }

    fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.str(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| anyhow::anyhow!("--{name} {raw:?} is not a number")),
        }
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.str(name)
            .map(|s| {
                s.split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

// --- delivery times --------------------------------------------------------------------------------

/// `(seq, sent_us)` from a frame whose text holds `bench#SEQ#MICROS`; other frames (presence, state)
/// are skipped without parsing.
fn bench_mark(frame: &str) -> Option<(u64, u64)> {
    let start = frame.find("bench#")? + "bench#".len();
    let mut parts = frame[start..].splitn(3, '#');
    let seq = parts.next()?.parse().ok()?;
    let sent: String = parts
        .next()?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((seq, sent.parse().ok()?))
}

// --- worker: a process holding sockets ---------------------------------------------------------------

#[derive(Default)]
struct WorkerStats {
    hist: Option<Histogram>,
    /// Distinct bench messages each client received.
    received: Vec<u32>,
    other_frames: u64,
    other_bytes: u64,
    duplicates: u64,
    connected: u32,
    failed: u32,
    /// Sockets the server closed (close frame), by code.
    closed: BTreeMap<u16, u32>,
    /// Sockets that ended without a close frame, or with a read error.
    broken: u32,
    first_error: Option<String>,
}

async fn worker(opts: Opts) -> anyhow::Result<()> {
    let urls = opts.list("urls");
    let sources: Vec<Ipv4Addr> = opts
        .list("sources")
        .iter()
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(
        !urls.is_empty() && !sources.is_empty(),
        "--urls and --sources"
    );
    let count: usize = opts.num("count", 0)?;
    let offset: usize = opts.num("offset", 0)?;
    let rate: f64 = opts.num("rate", 250.0)?;
    let stats = Arc::new(Mutex::new(WorkerStats {
        hist: Some(Histogram::new()),
        received: vec![0; count],
        ..Default::default()
    }));

    // The coordinator writes "report" on stdin when the run is over.
    let (report_tx, mut report_rx) = mpsc::unbounded_channel::<()>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            match line {
                Ok(l) if l.trim() == "report" => {
                    let _ = report_tx.send(());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = report_tx.send(());
    });

    let start = tokio::time::Instant::now();
    for i in 0..count {
        let global = offset + i;
        let url = urls[global % urls.len()].clone();
        let source = sources[global % sources.len()];
        tokio::spawn(client(i, url, source, stats.clone()));
        tokio::time::sleep_until(start + Duration::from_secs_f64((i + 1) as f64 / rate)).await;
    }
    loop {
        let (ok, failed) = {
            let s = stats.lock().expect("stats");
            (s.connected, s.failed)
        };
        if ok as usize + failed as usize >= count {
            println!("connected {ok} {failed}");
            std::io::stdout().flush()?;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report_rx.recv().await;
    let s = stats.lock().expect("stats");
    let report = json!({
        "hist": s.hist.as_ref().map(Histogram::to_sparse),
        "received": s.received,
        "otherFrames": s.other_frames,
        "otherBytes": s.other_bytes,
        "duplicates": s.duplicates,
        "connected": s.connected,
        "failed": s.failed,
        "closed": s.closed.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
        "broken": s.broken,
        "firstError": s.first_error,
    });
    println!("{report}");
    std::io::stdout().flush()?;
    std::process::exit(0)
}

/// One client: connects from `source`, then reads until the socket ends.
async fn client(index: usize, url: String, source: Ipv4Addr, stats: Arc<Mutex<WorkerStats>>) {
    let connected = tokio::time::timeout(Duration::from_secs(60), connect(&url, source)).await;
    let mut socket = match connected {
        Ok(Ok(socket)) => {
            stats.lock().expect("stats").connected += 1;
            socket
        }
        Ok(Err(error)) => return fail(&stats, format!("{error:#}")),
        Err(_) => return fail(&stats, "connect timed out after 60 s".into()),
    };
    let mut seen: Vec<u64> = Vec::new();
    while let Some(frame) = socket.next().await {
        match frame {
            Ok(Message::Text(text)) => {
                let mark = bench_mark(text.as_str());
                let now = now_us();
                let mut s = stats.lock().expect("stats");
                match mark {
                    Some((seq, sent)) => {
                        let (word, bit) = ((seq / 64) as usize, seq % 64);
                        if seen.len() <= word {
                            seen.resize(word + 1, 0);
                        }
                        if seen[word] & (1 << bit) != 0 {
                            s.duplicates += 1;
                        } else {
                            seen[word] |= 1 << bit;
                            s.received[index] += 1;
                            if let Some(h) = s.hist.as_mut() {
                                h.record(now.saturating_sub(sent));
                            }
                        }
                    }
                    None => {
                        if index == 0 && std::env::var_os("CHAT_BENCH_DUMP").is_some() {
                            let t = text.as_str();
                            eprintln!("frame {} B: {}", t.len(), &t[..t.len().min(200)]);
                        }
                        s.other_frames += 1;
                        s.other_bytes += text.len() as u64;
                    }
                }
            }
            Ok(Message::Close(close)) => {
                let code = close.map_or(1005, |c| u16::from(c.code));
                *stats.lock().expect("stats").closed.entry(code).or_default() += 1;
                return;
            }
            Ok(_) => {}
            Err(error) => {
                let mut s = stats.lock().expect("stats");
                s.broken += 1;
                s.first_error.get_or_insert_with(|| error.to_string());
                return;
            }
        }
    }
    stats.lock().expect("stats").broken += 1;
}

fn fail(stats: &Mutex<WorkerStats>, error: String) {
    let mut s = stats.lock().expect("stats");
    s.failed += 1;
    s.first_error.get_or_insert(error);
}

async fn connect(
    url: &str,
    source: Ipv4Addr,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let authority = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .context("a ws:// URL")?;
    let target: SocketAddr = authority
        .parse()
        .context("the URL's host must be an IP:port")?;
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let stream = socket.connect(target).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20));
    let (socket, _) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(socket)
}

// --- /proc -------------------------------------------------------------------------------------------

/// VmRSS in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// A pid, or the first line of a pid file (the task runner's `.data/<stack>/pids/NAME.pid`).
fn pid_of(spec: &str) -> anyhow::Result<u32> {
    if let Ok(pid) = spec.parse() {
        return Ok(pid);
    }
    let text = std::fs::read_to_string(spec).with_context(|| format!("pid file {spec}"))?;
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("no pid in {spec}"))
}

// --- the coordinator ---------------------------------------------------------------------------------

struct Settings {
    clients: usize,
    rate: f64,
    seconds: f64,
    per_process: usize,
    sources: usize,
    connect_rate: f64,
    settle_max: f64,
    drain: f64,
    ticks: u64,
    watch: Vec<(String, u32)>,
}

/// How messages are posted to a hub.
enum Poster {
    Ours {
        platform: Arc<Platform>,
        users: Vec<Arc<SignedInUser>>,
        room: i64,
    },
    Node {
        http: reqwest::Client,
        url: String,
        room: i64,
    },
}

impl Poster {
    async fn post(&self, seq: u64) -> (u16, u64) {
        let text = |sent: u64| json!({ "message": format!("bench#{seq}#{sent}#") });
        let sent = now_us();
        let request = match self {
            Poster::Ours {
                platform,
                users,
                room,
            } => users[seq as usize % users.len()]
                .request(
                    platform,
                    reqwest::Method::POST,
                    &format!("/api/v1/broadcasts/{room}/messages"),
                )
                .json(&text(sent)),
            Poster::Node { http, url, room } => http
                .post(format!("{url}/api/v1/broadcasts/{room}/messages"))
                .json(&text(sent)),
        };
        let status = match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        (status, now_us().saturating_sub(sent))
    }
}

struct Hub {
    name: &'static str,
    ws_urls: Vec<String>,
    pids: Vec<u32>,
    poster: Arc<Poster>,
}

#[derive(Default)]
struct PhaseResult {
    connected: u64,
    connect_failed: u64,
    connect_secs: f64,
    settle_secs: f64,
    admission_cpu_us: u64,
    idle_rss_delta_kib: i64,
    rss_before_kib: u64,
    rss_idle_kib: u64,
    posted: u64,
    accepted: u64,
    statuses: BTreeMap<u16, u64>,
    post_hist: Option<Histogram>,
    post_window_secs: f64,
    hist: Option<Histogram>,
    deliveries: u64,
    missed: u64,
    clients_missing: u64,
    max_missed: u64,
    duplicates: u64,
    other_frames: u64,
    other_bytes: u64,
    closed: BTreeMap<String, u64>,
    broken: u64,
    first_error: Option<String>,
    server_cpu_us: u64,
    generator_cpu_us: u64,
    watch_cpu_us: Vec<(String, u64)>,
}

async fn run(opts: Opts) -> anyhow::Result<()> {
    let settings = Settings {
        clients: opts.num("clients", 1000)?,
        rate: opts.num("rate", 10.0)?,
        seconds: opts.num("seconds", 30.0)?,
        per_process: opts.num("per-process", 2500)?,
        sources: opts.num("sources", 4)?,
        connect_rate: opts.num("connect-rate", 500.0)?,
        settle_max: opts.num("settle-max", 300.0)?,
        drain: opts.num("drain", 5.0)?,
        ticks: clock_ticks(),
        watch: opts
            .list("watch")
            .iter()
            .map(|w| {
                let (name, pid) = w.split_once('=').context("--watch NAME=PID")?;
                Ok((name.to_owned(), pid_of(pid)?))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    anyhow::ensure!(
        (1..=25).contains(&settings.sources),
        "--sources between 1 and 25"
    );
    let only = opts.str("only").unwrap_or("both");
    let mut hubs = Vec::new();

    if only != "node" {
        let edge = opts
            .str("edge")
            .context("--edge URL")?
            .trim_end_matches('/');
        let platform = Arc::new(Platform {
            base: edge.to_owned(),
            maildev: opts
                .str("maildev")
                .context("--maildev URL")?
                .trim_end_matches('/')
                .to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(64)
                .build()?,
        });
        let pids = opts
            .list("gateway-pids")
            .iter()
            .map(|p| pid_of(p))
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(!pids.is_empty(), "--gateway-pids");
        // One poster per message a second: each posts once a second, under the 3-per-2-s limit.
        let posters = settings.rate.ceil().max(1.0) as usize;
        eprintln!("==> signing up a DJ and {posters} posters through {edge}");
        let dj = platform.signed_in_user("bdj").await?;
        let room = dj
            .broadcast_now(&platform, "Chat fan-out benchmark")
            .await?;
        let mut users = Vec::new();
        for _ in 0..posters {
            users.push(Arc::new(platform.signed_in_user("bpost").await?));
        }
        let ws_bases = if opts.str("ws").is_some() {
            opts.list("ws")
        } else {
            vec![edge.to_owned()]
        };
        hubs.push(Hub {
            name: "LiveStreamer",
            ws_urls: ws_bases
                .iter()
                .map(|b| {
                    format!(
                        "{}/ws/{room}",
                        b.trim_end_matches('/').replacen("http", "ws", 1)
                    )
                })
                .collect(),
            pids,
            poster: Arc::new(Poster::Ours {
                platform,
                users,
                room,
            }),
        });
    }
    if only != "ours" {
        let url = opts
            .str("node")
            .context("--node URL")?
            .trim_end_matches('/')
            .to_owned();
        let pid = pid_of(opts.str("node-pid").context("--node-pid")?)?;
        let room = 1;
        hubs.push(Hub {
            name: "Node ws",
            ws_urls: vec![format!("{}/ws/{room}", url.replacen("http", "ws", 1))],
            pids: vec![pid],
            poster: Arc::new(Poster::Node {
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()?,
                url,
                room,
            }),
        });
    }

    let mut results = Vec::new();
    for hub in &hubs {
        eprintln!(
            "==> {}: {} clients, {} msg/s for {} s",
            hub.name, settings.clients, settings.rate, settings.seconds
        );
        let result = phase(hub, &settings).await?;
        print_phase(hub.name, &result);
        results.push(result);
    }
    print_table(&hubs, &results, &settings);
    Ok(())
}

struct WorkerProc {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<String>,
}

fn spawn_worker(args: &[String]) -> anyhow::Result<WorkerProc> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("worker")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdin = child.stdin.take().context("worker stdin")?;
    let stdout = child.stdout.take().context("worker stdout")?;
    let (tx, lines) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(WorkerProc {
        child,
        stdin,
        lines,
    })
}

fn sum_cpu(pids: &[u32], ticks: u64) -> u64 {
    pids.iter().map(|p| cpu_us(*p, ticks)).sum()
}

/// Waits until the processes use less than 5 % of a core over a second (the room is quiet: joins
/// and their presence frames are done), at most `max` seconds; returns how long it took.
async fn settle(pids: &[u32], ticks: u64, max: f64) -> f64 {
    let start = Instant::now();
    let mut last = sum_cpu(pids, ticks);
    let mut quiet = 0;
    while start.elapsed().as_secs_f64() < max {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = sum_cpu(pids, ticks);
        if now.saturating_sub(last) < 50_000 {
            quiet += 1;
            if quiet >= 2 {
                break;
            }
        } else {
            quiet = 0;
        }
        last = now;
    }
    start.elapsed().as_secs_f64()
}

async fn phase(hub: &Hub, s: &Settings) -> anyhow::Result<PhaseResult> {
    let mut r = PhaseResult {
        post_hist: Some(Histogram::new()),
        hist: Some(Histogram::new()),
        ..Default::default()
    };
    settle(&hub.pids, s.ticks, 60.0).await;
    r.rss_before_kib = hub.pids.iter().map(|p| rss_kib(*p)).sum();
    let admission_cpu_start = sum_cpu(&hub.pids, s.ticks);

    let processes = s.clients.div_ceil(s.per_process).max(2);
    let sources: Vec<String> = (0..s.sources)
        .map(|i| format!("127.0.0.{}", i + 2))
        .collect();
    let mut workers = Vec::new();
    let mut offset = 0;
    for w in 0..processes {
        let count = s.clients / processes + usize::from(w < s.clients % processes);
        workers.push(spawn_worker(&[
            "--urls".into(),
            hub.ws_urls.join(","),
            "--sources".into(),
            sources.join(","),
            "--count".into(),
            count.to_string(),
            "--offset".into(),
            offset.to_string(),
            "--rate".into(),
            (s.connect_rate / processes as f64).to_string(),
        ])?);
        offset += count;
    }
    let connect_start = Instant::now();
    let connect_deadline = s.clients as f64 / s.connect_rate + 120.0;
    for worker in &mut workers {
        let line = tokio::time::timeout(
            Duration::from_secs_f64(connect_deadline),
            worker.lines.recv(),
        )
        .await
        .context("workers did not finish connecting in time")?
        .context("a worker exited")?;
        let mut words = line.split_whitespace().skip(1);
        r.connected += words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        r.connect_failed += words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    }
    r.connect_secs = connect_start.elapsed().as_secs_f64();
    eprintln!(
        "    {} connected, {} failed in {:.1} s; waiting for the room to be quiet",
        r.connected, r.connect_failed, r.connect_secs
    );
    r.settle_secs = settle(&hub.pids, s.ticks, s.settle_max).await;
    r.admission_cpu_us = sum_cpu(&hub.pids, s.ticks) - admission_cpu_start;
    r.rss_idle_kib = hub.pids.iter().map(|p| rss_kib(*p)).sum();
    r.idle_rss_delta_kib = r.rss_idle_kib as i64 - r.rss_before_kib as i64;
    eprintln!(
        "    quiet after {:.1} s more; posting {} msg/s for {} s",
        r.settle_secs, s.rate, s.seconds
    );

    let worker_pids: Vec<u32> = workers.iter().map(|w| w.child.id()).collect();
    let cpu0 = sum_cpu(&hub.pids, s.ticks);
    let gen0 = sum_cpu(&worker_pids, s.ticks) + cpu_us(std::process::id(), s.ticks);
    let watch0: Vec<u64> = s.watch.iter().map(|(_, p)| cpu_us(*p, s.ticks)).collect();

    let total = (s.rate * s.seconds).round() as u64;
    let start = tokio::time::Instant::now();
    // Each POST is a task of its own, so a slow answer never delays the next message.
    let mut posts = Vec::with_capacity(total as usize);
    for seq in 0..total {
        tokio::time::sleep_until(start + Duration::from_secs_f64(seq as f64 / s.rate)).await;
        let poster = hub.poster.clone();
        posts.push(tokio::spawn(async move { poster.post(seq).await }));
    }
    for post in posts {
        let (status, took) = post.await.unwrap_or((0, 0));
        record_post(&mut r, status, took);
    }
    r.post_window_secs = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs_f64(s.drain)).await;
    r.server_cpu_us = sum_cpu(&hub.pids, s.ticks) - cpu0;
    r.generator_cpu_us =
        (sum_cpu(&worker_pids, s.ticks) + cpu_us(std::process::id(), s.ticks)).saturating_sub(gen0);
    r.watch_cpu_us = s
        .watch
        .iter()
        .zip(watch0)
        .map(|((name, pid), before)| (name.clone(), cpu_us(*pid, s.ticks).saturating_sub(before)))
        .collect();

    for worker in &mut workers {
        writeln!(worker.stdin, "report")?;
        worker.stdin.flush()?;
    }
    for worker in &mut workers {
        let line = tokio::time::timeout(Duration::from_secs(60), worker.lines.recv())
            .await
            .context("a worker did not report")?
            .context("a worker exited before reporting")?;
        let report: Value = serde_json::from_str(&line).context("a worker's report")?;
        if let Some(h) = r.hist.as_mut() {
            h.add_sparse(&report["hist"]);
        }
        for received in report["received"].as_array().into_iter().flatten() {
            let got = received.as_u64().unwrap_or(0);
            r.deliveries += got;
            let missed = r.accepted.saturating_sub(got);
            r.missed += missed;
            r.max_missed = r.max_missed.max(missed);
            r.clients_missing += u64::from(missed > 0);
        }
        r.duplicates += report["duplicates"].as_u64().unwrap_or(0);
        r.other_frames += report["otherFrames"].as_u64().unwrap_or(0);
        r.other_bytes += report["otherBytes"].as_u64().unwrap_or(0);
        r.broken += report["broken"].as_u64().unwrap_or(0);
        for (code, n) in report["closed"].as_object().into_iter().flatten() {
            *r.closed.entry(code.clone()).or_default() += n.as_u64().unwrap_or(0);
        }
        if r.first_error.is_none() {
            r.first_error = report["firstError"].as_str().map(str::to_owned);
        }
    }
    for mut worker in workers {
        let _ = worker.child.wait();
    }
    // Let the hub see every socket go before the next phase measures anything.
    settle(&hub.pids, s.ticks, s.settle_max).await;
    Ok(r)
}

fn record_post(r: &mut PhaseResult, status: u16, took_us: u64) {
    r.posted += 1;
    *r.statuses.entry(status).or_default() += 1;
    if status == 201 {
        r.accepted += 1;
        if let Some(h) = r.post_hist.as_mut() {
            h.record(took_us);
        }
    }
}

// --- output --------------------------------------------------------------------------------------------

fn ms(h: &Option<Histogram>, q: f64) -> Option<f64> {
    h.as_ref()?.quantile(q).map(|us| us as f64 / 1000.0)
}

fn cpu_per_delivery(r: &PhaseResult) -> Option<f64> {
    (r.deliveries > 0).then(|| r.server_cpu_us as f64 / r.deliveries as f64)
}

fn kib_per_conn(r: &PhaseResult) -> Option<f64> {
    (r.connected > 0).then(|| r.idle_rss_delta_kib as f64 / r.connected as f64)
}

fn print_phase(name: &str, r: &PhaseResult) {
    eprintln!(
        "    {name}: accepted {}/{} (statuses {:?}), deliveries {}, missed {} ({} clients, max {}), \
         closed {:?}, broken {}, other frames {} ({} MiB){}",
        r.accepted,
        r.posted,
        r.statuses,
        r.deliveries,
        r.missed,
        r.clients_missing,
        r.max_missed,
        r.closed,
        r.broken,
        r.other_frames,
        r.other_bytes >> 20,
        r.first_error
            .as_deref()
            .map(|e| format!(", first error: {e}"))
            .unwrap_or_default()
    );
}

fn print_table(hubs: &[Hub], results: &[PhaseResult], s: &Settings) {
    let f = |v: Option<f64>, digits: usize| v.map_or("–".to_owned(), |v| format!("{v:.digits$}"));
    let ratio = |get: &dyn Fn(&PhaseResult) -> Option<f64>| -> String {
        match results {
            [ours, node] => match (get(ours), get(node)) {
                (Some(a), Some(b)) if b != 0.0 => format!("{:.2}×", a / b),
                _ => "–".into(),
            },
            _ => "–".into(),
        }
    };
    type Row<'a> = (
        &'a str,
        Box<dyn Fn(&PhaseResult) -> String + 'a>,
        Option<Box<dyn Fn(&PhaseResult) -> Option<f64> + 'a>>,
    );
    let rows: Vec<Row> = vec![
        (
            "clients connected (failed)",
            Box::new(|r| format!("{} ({})", r.connected, r.connect_failed)),
            None,
        ),
        (
            "connect time, then quiet after (s)",
            Box::new(|r| format!("{:.1}, {:.1}", r.connect_secs, r.settle_secs)),
            None,
        ),
        (
            "server CPU to admit the clients (s)",
            Box::new(move |r| f(Some(r.admission_cpu_us as f64 / 1e6), 1)),
            Some(Box::new(|r| Some(r.admission_cpu_us as f64))),
        ),
        (
            "messages accepted / posted",
            Box::new(|r| format!("{} / {}", r.accepted, r.posted)),
            None,
        ),
        (
            "accepted rate (msg/s)",
            Box::new(move |r| f(Some(r.accepted as f64 / s.seconds), 1)),
            None,
        ),
        (
            "POST p50 / p99 (ms)",
            Box::new(move |r| {
                format!(
                    "{} / {}",
                    f(ms(&r.post_hist, 0.5), 1),
                    f(ms(&r.post_hist, 0.99), 1)
                )
            }),
            None,
        ),
        (
            "delivery p50 (ms)",
            Box::new(move |r| f(ms(&r.hist, 0.5), 1)),
            Some(Box::new(|r| ms(&r.hist, 0.5))),
        ),
        (
            "delivery p99 (ms)",
            Box::new(move |r| f(ms(&r.hist, 0.99), 1)),
            Some(Box::new(|r| ms(&r.hist, 0.99))),
        ),
        (
            "delivery max (ms)",
            Box::new(move |r| f(ms(&r.hist, 1.0), 1)),
            None,
        ),
        ("deliveries", Box::new(|r| r.deliveries.to_string()), None),
        (
            "missed (clients missing any, max per client)",
            Box::new(|r| format!("{} ({}, {})", r.missed, r.clients_missing, r.max_missed)),
            Some(Box::new(|r| Some(r.missed as f64))),
        ),
        (
            "sockets closed by the server / broken",
            Box::new(|r| format!("{:?} / {}", r.closed, r.broken)),
            None,
        ),
        (
            "server CPU in the window (s)",
            Box::new(move |r| f(Some(r.server_cpu_us as f64 / 1e6), 2)),
            None,
        ),
        (
            "server CPU per delivery (µs)",
            Box::new(move |r| f(cpu_per_delivery(r), 2)),
            Some(Box::new(cpu_per_delivery)),
        ),
        (
            "server RSS before → idle (MiB)",
            Box::new(|r| {
                format!(
                    "{:.0} → {:.0}",
                    r.rss_before_kib as f64 / 1024.0,
                    r.rss_idle_kib as f64 / 1024.0
                )
            }),
            None,
        ),
        (
            "KiB per idle connection",
            Box::new(move |r| f(kib_per_conn(r), 1)),
            Some(Box::new(kib_per_conn)),
        ),
        (
            "load generator CPU in the window (s)",
            Box::new(move |r| f(Some(r.generator_cpu_us as f64 / 1e6), 2)),
            None,
        ),
    ];
    let mut header = String::from("| |");
    let mut rule = String::from("| --- |");
    for hub in hubs {
        header.push_str(&format!(" {} |", hub.name));
        rule.push_str(" --- |");
    }
    if results.len() == 2 {
        header.push_str(" ratio (ours / Node) |");
        rule.push_str(" --- |");
    }
    println!(
        "\nN = {} clients, M = {} msg/s, {} s; ours: {} gateway process(es); Node: 1 process\n",
        s.clients,
        s.rate,
        s.seconds,
        hubs.first().map_or(0, |h| h.pids.len())
    );
    println!("{header}\n{rule}");
    for (name, show, numeric) in &rows {
        let mut line = format!("| {name} |");
        for r in results {
            line.push_str(&format!(" {} |", show(r)));
        }
        if results.len() == 2 {
            let cell = numeric
                .as_ref()
                .map_or(String::new(), |n| ratio(n.as_ref()));
            line.push_str(&format!(" {cell} |"));
        }
        println!("{line}");
    }
    for (hub, r) in hubs.iter().zip(results) {
        if !r.watch_cpu_us.is_empty() {
            let parts: Vec<String> = r
                .watch_cpu_us
                .iter()
                .map(|(n, us)| format!("{n} {:.2} s", *us as f64 / 1e6))
                .collect();
            println!(
                "\nCPU of other processes during {}'s window: {}",
                hub.name,
                parts.join(", ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_found_in_both_hubs_frames() {
        let ours = r#"{"data":{"message":"bench#42#1700000000000000#","messageId":1},"event":"chat:created_message"}"#;
        assert_eq!(bench_mark(ours), Some((42, 1_700_000_000_000_000)));
        assert_eq!(
            bench_mark(r#"{"event":"chat:client_count","data":{"count":3}}"#),
            None
        );
    }
}
