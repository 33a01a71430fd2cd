//! What the coordinator reads of the servers from /proc: their memory, their CPU summed over a hub's
//! processes, and from that CPU when a room has gone quiet, so that each measurement starts from rest.
//! (One process's CPU time is the library's `e2e::bench::cpu_us`.)

use std::time::{Duration, Instant};

use anyhow::Context;
use e2e::bench::cpu_us;

/// VmRSS in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The summed VmRSS of `pids`, in KiB.
pub fn sum_rss_kib(pids: &[u32]) -> u64 {
    pids.iter().map(|p| rss_kib(*p)).sum()
}

/// A pid, or the first line of a pid file (the task runner's `.data/<stack>/pids/NAME.pid`).
pub fn pid_of(spec: &str) -> anyhow::Result<u32> {
    if let Ok(pid) = spec.parse() {
        return Ok(pid);
    }
    let text = std::fs::read_to_string(spec).with_context(|| format!("pid file {spec}"))?;
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("no pid in {spec}"))
}

pub fn sum_cpu(pids: &[u32], ticks: u64) -> u64 {
    pids.iter().map(|p| cpu_us(*p, ticks)).sum()
}

/// Waits until the processes use less than 5 % of a core over a second (the room is quiet: joins
/// and their presence frames are done), at most `max` seconds; returns how long it took.
pub async fn settle(pids: &[u32], ticks: u64, max: f64) -> f64 {
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
