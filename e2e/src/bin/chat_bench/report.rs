//! What a run prints: a line per phase on stderr as it ends, and on stdout the Markdown table of
//! the hubs side by side (with each one's ratio to the Node hub where a ratio means something), as
//! BENCHMARKS.md quotes it, then the CPU of the watched processes.

use e2e::bench::Histogram;

use crate::{
    hubs::{Hub, NODE},
    options::Settings,
    phase::PhaseResult,
};

/// A row: its name, its cell for a phase, and the number whose ratio to the Node hub's the ratio
/// columns show (none: the cells stay empty).
type Row<'a> = (
    &'a str,
    Box<dyn Fn(&PhaseResult) -> String + 'a>,
    Option<Box<dyn Fn(&PhaseResult) -> Option<f64> + 'a>>,
);

fn ms(h: &Option<Histogram>, q: f64) -> Option<f64> {
    h.as_ref()?.quantile(q).map(|us| us as f64 / 1000.0)
}

/// The p50 and p99 of the messages' first (or last) receipts, leaving out the messages nobody
/// received (their first is `u64::MAX`, their last 0).
fn receipts_p50_p99(values: &[u64]) -> String {
    let mut h = Histogram::new();
    for &v in values.iter().filter(|&&v| v != u64::MAX && v != 0) {
        h.record(v);
    }
    let h = Some(h);
    format!("{} / {}", f(ms(&h, 0.5), 1), f(ms(&h, 0.99), 1))
}

fn cpu_per_delivery(r: &PhaseResult) -> Option<f64> {
    (r.deliveries > 0).then(|| r.server_cpu_us as f64 / r.deliveries as f64)
}

fn kib_per_conn(r: &PhaseResult) -> Option<f64> {
    (r.connected > 0).then(|| r.idle_rss_delta_kib as f64 / r.connected as f64)
}

/// A number with `digits` decimals, or a dash.
fn f(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_owned(), |v| format!("{v:.digits$}"))
}

pub fn print_phase(name: &str, r: &PhaseResult) {
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
    print_slowest(r, 8);
}

/// The `n` messages whose last receipt came latest: when in the window they were posted tells
/// whether the tail is a few stalls (a periodic burst of other work) or spread over the run.
fn print_slowest(r: &PhaseResult, n: usize) {
    let mut seqs: Vec<usize> = (0..r.message_last_us.len()).collect();
    seqs.sort_by_key(|&seq| std::cmp::Reverse(r.message_last_us[seq]));
    let slowest: Vec<String> = seqs
        .iter()
        .take(n)
        .map(|&seq| {
            let first = r.message_first_us.get(seq).copied().unwrap_or(u64::MAX);
            format!(
                "#{seq} {:.0}/{:.0}",
                first as f64 / 1000.0,
                r.message_last_us[seq] as f64 / 1000.0
            )
        })
        .collect();
    eprintln!(
        "    slowest messages (#seq first/last receipt in ms): {}",
        slowest.join(", ")
    );
}

/// Connecting the clients, and posting the messages.
fn admission_and_post_rows(s: &Settings) -> Vec<Row<'_>> {
    vec![
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
            Box::new(|r| f(Some(r.admission_cpu_us as f64 / 1e6), 1)),
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
            Box::new(|r| {
                format!(
                    "{} / {}",
                    f(ms(&r.post_hist, 0.5), 1),
                    f(ms(&r.post_hist, 0.99), 1)
                )
            }),
            None,
        ),
    ]
}

/// What the clients received.
fn delivery_rows<'a>() -> Vec<Row<'a>> {
    vec![
        (
            "delivery p50 (ms)",
            Box::new(|r| f(ms(&r.hist, 0.5), 1)),
            Some(Box::new(|r| ms(&r.hist, 0.5))),
        ),
        (
            "delivery p99 (ms)",
            Box::new(|r| f(ms(&r.hist, 0.99), 1)),
            Some(Box::new(|r| ms(&r.hist, 0.99))),
        ),
        (
            "a message's first receipt p50 / p99 (ms)",
            Box::new(|r| receipts_p50_p99(&r.message_first_us)),
            None,
        ),
        (
            "a message's last receipt p50 / p99 (ms)",
            Box::new(|r| receipts_p50_p99(&r.message_last_us)),
            None,
        ),
        (
            "delivery max (ms)",
            Box::new(|r| f(ms(&r.hist, 1.0), 1)),
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
    ]
}

/// What it cost the servers, and the load generator.
fn cost_rows<'a>() -> Vec<Row<'a>> {
    vec![
        (
            "server CPU in the window (s)",
            Box::new(|r| f(Some(r.server_cpu_us as f64 / 1e6), 2)),
            None,
        ),
        (
            "server CPU per delivery (µs)",
            Box::new(|r| f(cpu_per_delivery(r), 2)),
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
            Box::new(|r| f(kib_per_conn(r), 1)),
            Some(Box::new(kib_per_conn)),
        ),
        (
            "load generator CPU in the window (s)",
            Box::new(|r| f(Some(r.generator_cpu_us as f64 / 1e6), 2)),
            None,
        ),
    ]
}

/// `hub`'s value of `get` over the Node hub's, when both have one.
fn ratio(
    hub: &PhaseResult,
    node: &PhaseResult,
    get: &dyn Fn(&PhaseResult) -> Option<f64>,
) -> String {
    match (get(hub), get(node)) {
        (Some(a), Some(b)) if b != 0.0 => format!("{:.2}×", a / b),
        _ => "–".into(),
    }
}

/// The table: a column per hub, then a ratio to the Node hub for each other hub, when Node ran.
pub fn print_table(hubs: &[Hub], results: &[PhaseResult], s: &Settings) {
    let mut rows = admission_and_post_rows(s);
    rows.extend(delivery_rows());
    rows.extend(cost_rows());
    let node = hubs.iter().position(|h| h.name == NODE);
    let compared: Vec<usize> = (0..hubs.len())
        .filter(|&i| node.is_some_and(|n| n != i))
        .collect();
    let mut header = String::from("| |");
    let mut rule = String::from("| --- |");
    for hub in hubs {
        header.push_str(&format!(" {} |", hub.name));
        rule.push_str(" --- |");
    }
    for &i in &compared {
        header.push_str(&format!(" ratio ({} / Node) |", hubs[i].name));
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
        for &i in &compared {
            let cell = match (numeric, node) {
                (Some(n), Some(node)) => ratio(&results[i], &results[node], n.as_ref()),
                _ => String::new(),
            };
            line.push_str(&format!(" {cell} |"));
        }
        println!("{line}");
    }
    print_watched(hubs, results);
}

/// The CPU of the `--watch` processes during each hub's window.
fn print_watched(hubs: &[Hub], results: &[PhaseResult]) {
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
