//! Two runs side by side, as a Markdown table with the ratio ours / theirs.

use std::fmt::Write;

use crate::RunResult;

/// CPU microseconds per listener-second in the hold window.
pub fn cpu_us_per_listener_second(run: &RunResult) -> f64 {
    let connected = run.listeners_report.connected.max(1) as f64;
    run.cpu_hold_s * 1e6 / (connected * run.seconds.max(1) as f64)
}

/// Resident memory added per connected listener, in KiB.
pub fn kib_per_listener(run: &RunResult) -> f64 {
    let connected = run.listeners_report.connected.max(1) as f64;
    run.rss_end_kib.saturating_sub(run.rss_before_kib) as f64 / connected
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn ratio(ours: f64, theirs: f64) -> String {
    if theirs == 0.0 {
        if ours == 0.0 {
            "=".into()
        } else {
            "—".into()
        }
    } else {
        format!("{:.2}×", ours / theirs)
    }
}

/// The table; `ours` first.
pub fn render(ours: &RunResult, theirs: &RunResult) -> String {
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let mut number = |name: &str, a: f64, b: f64, digits: usize| {
        rows.push((
            name.to_owned(),
            format!("{a:.digits$}"),
            format!("{b:.digits$}"),
            ratio(a, b),
        ));
    };
    let (a, b) = (&ours.listeners_report, &theirs.listeners_report);
    number("listeners asked", a.asked as f64, b.asked as f64, 0);
    number(
        "connected (HTTP 200)",
        a.connected as f64,
        b.connected as f64,
        0,
    );
    number(
        "refused or failed to connect",
        (a.connect_failed + a.refused_status) as f64,
        (b.connect_failed + b.refused_status) as f64,
        0,
    );
    number(
        "unintended disconnects",
        a.disconnected as f64,
        b.disconnected as f64,
        0,
    );
    number("gaps (sequence jumps)", a.gaps as f64, b.gaps as f64, 0);
    number(
        "frames missed in gaps",
        a.missed_frames as f64,
        b.missed_frames as f64,
        0,
    );
    let on_header = |r: &crate::listeners::Report| {
        100.0 * r.first_on_header as f64 / (r.first_on_header + r.first_mid_frame).max(1) as f64
    };
    number(
        "first byte on a frame header (%)",
        on_header(a),
        on_header(b),
        1,
    );
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        number(
            &format!("time to first byte {name} (ms)"),
            ms(a.ttfb.quantile_us(q)),
            ms(b.ttfb.quantile_us(q)),
            1,
        );
    }
    number(
        "time to first byte max (ms)",
        ms(a.ttfb.max_us),
        ms(b.ttfb.max_us),
        1,
    );
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        number(
            &format!("live-edge lag {name} (ms)"),
            ms(a.lag.quantile_us(q)),
            ms(b.lag.quantile_us(q)),
            1,
        );
    }
    number(
        "live-edge lag max (ms)",
        ms(a.lag.max_us),
        ms(b.lag.max_us),
        1,
    );
    number(
        "frames measured for lag",
        a.lag.total as f64,
        b.lag.total as f64,
        0,
    );
    number(
        "server CPU in the hold window (s)",
        ours.cpu_hold_s,
        theirs.cpu_hold_s,
        2,
    );
    number(
        "server CPU over the whole run (s)",
        ours.cpu_run_s,
        theirs.cpu_run_s,
        2,
    );
    number(
        "CPU per listener-second (µs)",
        cpu_us_per_listener_second(ours),
        cpu_us_per_listener_second(theirs),
        1,
    );
    number(
        "RSS without listeners (MiB)",
        ours.rss_before_kib as f64 / 1024.0,
        theirs.rss_before_kib as f64 / 1024.0,
        1,
    );
    number(
        "RSS with every listener (MiB)",
        ours.rss_end_kib as f64 / 1024.0,
        theirs.rss_end_kib as f64 / 1024.0,
        1,
    );
    number(
        "memory per listener (KiB)",
        kib_per_listener(ours),
        kib_per_listener(theirs),
        2,
    );
    number(
        "source frames sent",
        ours.source_frames as f64,
        theirs.source_frames as f64,
        0,
    );

    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {} listeners at {}/s, {} s held | {} | {} | ratio |",
        ours.listeners, ours.rate, ours.seconds, ours.label, theirs.label
    );
    let _ = writeln!(out, "| --- | ---: | ---: | ---: |");
    for (name, a, b, r) in rows {
        let _ = writeln!(out, "| {name} | {a} | {b} | {r} |");
    }
    if !ours.source_held || !theirs.source_held {
        let _ = writeln!(
            out,
            "\nThe source's connection broke during the run: {} {}, {} {}.",
            ours.label, ours.source_held, theirs.label, theirs.source_held
        );
    }
    out
}
