//! The coordinator's side of the worker processes: it spawns them with their share of the clients,
//! reads each one's `connected OK FAILED` line, asks them for their reports and adds those into the
//! phase's result.

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, ChildStdin, Command, Stdio},
    time::Duration,
};

use anyhow::Context;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::{hubs::Hub, options::Settings, phase::PhaseResult, worker::fold_at};

pub struct WorkerProc {
    pub child: Child,
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

/// Enough workers for `s.clients` (two at least), the clients and the connect rate shared evenly,
/// each spreading its clients over the hub's URLs and the source addresses.
pub fn spawn_workers(hub: &Hub, s: &Settings) -> anyhow::Result<Vec<WorkerProc>> {
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
    Ok(workers)
}

/// Waits for every worker's `connected OK FAILED` line, at most `deadline` seconds each, and counts
/// them into `r`.
pub async fn await_connected(
    workers: &mut [WorkerProc],
    deadline: f64,
    r: &mut PhaseResult,
) -> anyhow::Result<()> {
    for worker in workers {
        let line = tokio::time::timeout(Duration::from_secs_f64(deadline), worker.lines.recv())
            .await
            .context("workers did not finish connecting in time")?
            .context("a worker exited")?;
        let mut words = line.split_whitespace().skip(1);
        r.connected += words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        r.connect_failed += words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
    }
    Ok(())
}

/// Asks every worker for its report, adds each into `r` (once `r.accepted` is known), and waits for
/// the workers to exit.
pub async fn collect_reports(
    mut workers: Vec<WorkerProc>,
    r: &mut PhaseResult,
) -> anyhow::Result<()> {
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
        add_report(r, &report);
    }
    for mut worker in workers {
        let _ = worker.child.wait();
    }
    Ok(())
}

/// Adds one worker's report (`WorkerStats::report`) into `r`: a client's missed messages are the
/// accepted ones it did not receive.
fn add_report(r: &mut PhaseResult, report: &Value) {
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
    merge_spans(
        &mut r.message_first_us,
        &report["firstUs"],
        u64::MAX,
        u64::min,
    );
    merge_spans(&mut r.message_last_us, &report["lastUs"], 0, u64::max);
    if r.first_error.is_none() {
        r.first_error = report["firstError"].as_str().map(str::to_owned);
    }
}

/// Merges a worker's per-message firsts (or lasts) into the phase's, position by position.
fn merge_spans(into: &mut Vec<u64>, report: &Value, empty: u64, pick: fn(u64, u64) -> u64) {
    for (seq, value) in report.as_array().into_iter().flatten().enumerate() {
        fold_at(into, seq, value.as_u64().unwrap_or(empty), empty, pick);
    }
}
