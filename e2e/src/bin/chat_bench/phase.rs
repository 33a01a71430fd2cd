//! One hub's run, a phase: wait for the hub to be at rest, connect the clients through the worker
//! processes and let the room go quiet (the cost of admitting them), post the messages at the rate
//! for the duration plus a drain (the cost of fanning them out), then gather what every client
//! received into a [`PhaseResult`].

use std::{collections::BTreeMap, time::Duration, time::Instant};

use e2e::bench::{Histogram, cpu_us};

use crate::{
    hubs::Hub,
    options::Settings,
    procfs::{settle, sum_cpu, sum_rss_kib},
    worker_pool::{self, WorkerProc},
};

#[derive(Default)]
pub struct PhaseResult {
    pub connected: u64,
    pub connect_failed: u64,
    pub connect_secs: f64,
    pub settle_secs: f64,
    pub admission_cpu_us: u64,
    pub idle_rss_delta_kib: i64,
    pub rss_before_kib: u64,
    pub rss_idle_kib: u64,
    pub posted: u64,
    pub accepted: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub post_hist: Option<Histogram>,
    pub post_window_secs: f64,
    pub hist: Option<Histogram>,
    pub deliveries: u64,
    pub missed: u64,
    pub clients_missing: u64,
    pub max_missed: u64,
    pub duplicates: u64,
    pub other_frames: u64,
    pub other_bytes: u64,
    pub closed: BTreeMap<String, u64>,
    pub broken: u64,
    pub first_error: Option<String>,
    pub server_cpu_us: u64,
    pub generator_cpu_us: u64,
    pub watch_cpu_us: Vec<(String, u64)>,
    /// Per message, its first and last receipt over all clients (µs after the POST was sent; a
    /// message nobody received has `u64::MAX` and 0).
    pub message_first_us: Vec<u64>,
    pub message_last_us: Vec<u64>,
}

pub async fn phase(hub: &Hub, s: &Settings) -> anyhow::Result<PhaseResult> {
    let mut r = PhaseResult {
        post_hist: Some(Histogram::new()),
        hist: Some(Histogram::new()),
        ..Default::default()
    };
    let workers = admit(hub, s, &mut r).await?;
    post_window(hub, s, &workers, &mut r).await;
    worker_pool::collect_reports(workers, &mut r).await?;
    // Let the hub see every socket go before the next phase measures anything.
    settle(&hub.pids, s.ticks, s.settle_max).await;
    Ok(r)
}

/// Connects the clients and waits for the room to be quiet; measures the hub's CPU and RSS for it.
async fn admit(hub: &Hub, s: &Settings, r: &mut PhaseResult) -> anyhow::Result<Vec<WorkerProc>> {
    settle(&hub.pids, s.ticks, 60.0).await;
    r.rss_before_kib = sum_rss_kib(&hub.pids);
    let admission_cpu_start = sum_cpu(&hub.pids, s.ticks);

    let mut workers = worker_pool::spawn_workers(hub, s)?;
    let connect_start = Instant::now();
    let connect_deadline = s.clients as f64 / s.connect_rate + 120.0;
    worker_pool::await_connected(&mut workers, connect_deadline, r).await?;
    r.connect_secs = connect_start.elapsed().as_secs_f64();
    eprintln!(
        "    {} connected, {} failed in {:.1} s; waiting for the room to be quiet",
        r.connected, r.connect_failed, r.connect_secs
    );
    r.settle_secs = settle(&hub.pids, s.ticks, s.settle_max).await;
    r.admission_cpu_us = sum_cpu(&hub.pids, s.ticks) - admission_cpu_start;
    r.rss_idle_kib = sum_rss_kib(&hub.pids);
    r.idle_rss_delta_kib = r.rss_idle_kib as i64 - r.rss_before_kib as i64;
    eprintln!(
        "    quiet after {:.1} s more; posting {} msg/s for {} s",
        r.settle_secs, s.rate, s.seconds
    );
    Ok(workers)
}

/// Posts the messages and waits out the drain; measures the CPU of the hub, of the load generator
/// (this process and the workers) and of the watched processes over that window.
async fn post_window(hub: &Hub, s: &Settings, workers: &[WorkerProc], r: &mut PhaseResult) {
    let worker_pids: Vec<u32> = workers.iter().map(|w| w.child.id()).collect();
    let cpu0 = sum_cpu(&hub.pids, s.ticks);
    let gen0 = sum_cpu(&worker_pids, s.ticks) + cpu_us(std::process::id(), s.ticks);
    let watch0: Vec<u64> = s.watch.iter().map(|(_, p)| cpu_us(*p, s.ticks)).collect();

    post_messages(hub, s, r).await;
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
}

/// `rate × seconds` messages, each when due.
async fn post_messages(hub: &Hub, s: &Settings, r: &mut PhaseResult) {
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
        record_post(r, status, took);
    }
    r.post_window_secs = start.elapsed().as_secs_f64();
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
