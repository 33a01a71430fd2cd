//! A worker process (`chat_bench worker`): holds its share of the sockets, so that no process runs
//! out of descriptors or ephemeral ports. It opens `--count` clients at `--rate` a second, prints
//! `connected OK FAILED` once each has connected or failed, and on `report` from the coordinator
//! prints what its clients received as one JSON line ([`WorkerStats::report`]) and exits.

use std::{
    collections::BTreeMap,
    io::{BufRead, Write},
    net::Ipv4Addr,
    sync::{Arc, Mutex},
    time::Duration,
};

use e2e::bench::Histogram;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{client::client, options::Opts};

#[derive(Default)]
pub struct WorkerStats {
    pub hist: Option<Histogram>,
    /// Distinct bench messages each client received.
    pub received: Vec<u32>,
    pub other_frames: u64,
    pub other_bytes: u64,
    pub duplicates: u64,
    pub connected: u32,
    pub failed: u32,
    /// Sockets the server closed (close frame), by code.
    pub closed: BTreeMap<u16, u32>,
    /// Sockets that ended without a close frame, or with a read error.
    pub broken: u32,
    pub first_error: Option<String>,
    /// Per message (by sequence number), the delivery time of its first and of its last receipt in
    /// this worker: the path up to the fan-out, and the fan-out's spread.
    pub first_us: Vec<u64>,
    pub last_us: Vec<u64>,
}

impl WorkerStats {
    /// Counts a receipt of message `seq`, `latency_us` after it was posted, into its first and last.
    pub fn note_receipt(&mut self, seq: u64, latency_us: u64) {
        let seq = seq as usize;
        fold_at(&mut self.first_us, seq, latency_us, u64::MAX, u64::min);
        fold_at(&mut self.last_us, seq, latency_us, 0, u64::max);
    }

    /// The line the coordinator reads back (`worker_pool`).
    fn report(&self) -> Value {
        json!({
            "hist": self.hist.as_ref().map(Histogram::to_sparse),
            "received": self.received,
            "otherFrames": self.other_frames,
            "otherBytes": self.other_bytes,
            "duplicates": self.duplicates,
            "connected": self.connected,
            "failed": self.failed,
            "closed": self.closed.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            "broken": self.broken,
            "firstError": self.first_error,
            "firstUs": self.first_us,
            "lastUs": self.last_us,
        })
    }
}

/// Folds `value` into `values[seq]` with `pick`, growing `values` with `empty` (what `pick` leaves
/// any value over) as needed: a message's first receipt (`u64::MAX`, `min`) or last (`0`, `max`).
pub fn fold_at(
    values: &mut Vec<u64>,
    seq: usize,
    value: u64,
    empty: u64,
    pick: fn(u64, u64) -> u64,
) {
    if values.len() <= seq {
        values.resize(seq + 1, empty);
    }
    values[seq] = pick(values[seq], value);
}

pub async fn worker(opts: Opts) -> anyhow::Result<()> {
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
    let mut report_rx = report_requests();

    let start = tokio::time::Instant::now();
    for i in 0..count {
        let global = offset + i;
        let url = urls[global % urls.len()].clone();
        let source = sources[global % sources.len()];
        tokio::spawn(client(i, url, source, stats.clone()));
        tokio::time::sleep_until(start + Duration::from_secs_f64((i + 1) as f64 / rate)).await;
    }
    wait_connected(&stats, count).await?;
    report_rx.recv().await;
    let report = stats.lock().expect("stats").report();
    println!("{report}");
    std::io::stdout().flush()?;
    std::process::exit(0)
}

/// The coordinator writes "report" on stdin when the run is over; its closing stdin counts too.
fn report_requests() -> mpsc::UnboundedReceiver<()> {
    let (report_tx, report_rx) = mpsc::unbounded_channel::<()>();
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
    report_rx
}

/// Waits until each of the `count` clients has connected or failed, then tells the coordinator.
async fn wait_connected(stats: &Mutex<WorkerStats>, count: usize) -> anyhow::Result<()> {
    loop {
        let (ok, failed) = {
            let s = stats.lock().expect("stats");
            (s.connected, s.failed)
        };
        if ok as usize + failed as usize >= count {
            println!("connected {ok} {failed}");
            std::io::stdout().flush()?;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
