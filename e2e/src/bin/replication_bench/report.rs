//! The table of one B × R: a column per engine, in the order of `--engines`, a row per figure
//! BENCHMARKS.md quotes.

use crate::{
    frame::{FRAME_BYTES, FRAME_US},
    phase::Outcome,
    settings::Settings,
};

type Row<'a> = (&'a str, Box<dyn Fn(&Outcome) -> String + 'a>);

fn ms(us: Option<u64>) -> String {
    us.map_or("-".into(), |us| format!("{:.2}", us as f64 / 1e3))
}

fn per_1000(us: u64, n: u64) -> String {
    match n {
        0 => "-".to_owned(),
        n => format!("{:.2}", us as f64 / 1e3 / n as f64 * 1e3),
    }
}

/// Frames, and how they arrived.
fn delivery_rows<'a>() -> Vec<Row<'a>> {
    vec![
        ("frames sent", Box::new(|o| o.sent.to_string())),
        ("deliveries received", Box::new(|o| o.received.to_string())),
        ("lost", Box::new(|o| o.lost.to_string())),
        (
            "reordered / duplicated",
            Box::new(|o| format!("{} / {}", o.reordered, o.duplicates)),
        ),
        ("latency p50 ms", Box::new(|o| ms(o.latency.quantile(0.5)))),
        ("latency p99 ms", Box::new(|o| ms(o.latency.quantile(0.99)))),
        ("latency max ms", Box::new(|o| ms(Some(o.max_us)))),
    ]
}

/// What it cost.
fn cost_rows<'a>() -> Vec<Row<'a>> {
    vec![
        (
            "server CPU s (minus idle)",
            Box::new(|o| format!("{:.2}", o.server_cpu_us as f64 / 1e6)),
        ),
        (
            "server CPU ms / 1,000 frames sent",
            Box::new(|o| per_1000(o.server_cpu_us, o.sent)),
        ),
        (
            "server CPU ms / 1,000 deliveries",
            Box::new(|o| per_1000(o.server_cpu_us, o.received)),
        ),
        (
            "bench CPU s",
            Box::new(|o| format!("{:.2}", o.own_cpu_us as f64 / 1e6)),
        ),
        (
            "window s (sending + 2 s drain)",
            Box::new(|o| format!("{:.1}", o.window_s)),
        ),
    ]
}

pub fn print_table(s: &Settings, (broadcasts, replicas): (usize, usize), outcomes: &[Outcome]) {
    println!(
        "\n{broadcasts} broadcasts × {replicas} replicas, {} s, {:.1} frames/s a broadcast of {FRAME_BYTES} bytes",
        s.seconds,
        1e6 / FRAME_US as f64
    );
    let mut header = format!("{:<34}", "");
    for engine in &s.engines {
        header += &format!("{:>14}", engine.name());
    }
    println!("{header}");
    for (name, cell) in delivery_rows().into_iter().chain(cost_rows()) {
        let mut line = format!("{name:<34}");
        for outcome in outcomes {
            line += &format!("{:>14}", cell(outcome));
        }
        println!("{line}");
    }
}
