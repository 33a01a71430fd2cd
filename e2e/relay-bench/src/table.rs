//! Runs side by side, as a Markdown table: ours first, the comparison (Icecast) last, and for each of
//! ours the ratio ours / comparison. With half-speed listeners, the rows on listeners are about the
//! steady ones (those the targets are about), and rows on the half-speed ones follow.

use std::fmt::Write;

use crate::{
    RunResult,
    listeners::{Disconnect, Report},
};

/// CPU microseconds per listener-second in the hold window.
pub fn cpu_us_per_listener_second(run: &RunResult) -> f64 {
    let connected = run.connected().max(1) as f64;
    run.cpu_hold_s * 1e6 / (connected * run.seconds.max(1) as f64)
}

/// Resident memory added per connected listener, in KiB.
pub fn kib_per_listener(run: &RunResult) -> f64 {
    let connected = run.connected().max(1) as f64;
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

/// The rows under construction: a name, then one figure per run.
struct Rows<'a> {
    runs: &'a [RunResult],
    rows: Vec<(String, Vec<f64>, usize)>,
}

impl Rows<'_> {
    fn add(&mut self, name: &str, digits: usize, figure: impl Fn(&RunResult) -> f64) {
        let figures = self.runs.iter().map(figure).collect();
        self.rows.push((name.to_owned(), figures, digits));
    }
}

fn on_header(r: &Report) -> f64 {
    100.0 * r.first_on_header as f64 / (r.first_on_header + r.first_mid_frame).max(1) as f64
}

/// The `q` quantile of some disconnects' figure (`after_s` or `behind_s`); 0 when there were none.
fn disconnect_quantile(report: &Report, q: f64, figure: fn(&Disconnect) -> f64) -> f64 {
    let mut values: Vec<f64> = report.disconnects.iter().map(figure).collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn listener_rows(rows: &mut Rows) {
    let count = |name: &str, field: fn(&Report) -> u64, rows: &mut Rows| {
        rows.add(name, 0, |run| field(&run.listeners_report) as f64);
    };
    count("listeners asked", |r| r.asked, rows);
    count("connected (HTTP 200)", |r| r.connected, rows);
    count(
        "refused or failed to connect",
        |r| r.connect_failed + r.refused_status,
        rows,
    );
    count("unintended disconnects", |r| r.disconnected, rows);
    count("gaps (sequence jumps)", |r| r.gaps, rows);
    count("frames missed in gaps", |r| r.missed_frames, rows);
    rows.add("first byte on a frame header (%)", 1, |run| {
        on_header(&run.listeners_report)
    });
    for (name, q) in [("p50", 0.5), ("p99", 0.99)] {
        rows.add(&format!("time to first byte {name} (ms)"), 1, |run| {
            ms(run.listeners_report.ttfb.quantile_us(q))
        });
    }
    rows.add("time to first byte max (ms)", 1, |run| {
        ms(run.listeners_report.ttfb.max_us)
    });
    for (name, q) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
        rows.add(&format!("live-edge lag {name} (ms)"), 1, |run| {
            ms(run.listeners_report.lag.quantile_us(q))
        });
    }
    rows.add("live-edge lag max (ms)", 1, |run| {
        ms(run.listeners_report.lag.max_us)
    });
    count("frames measured for lag", |r| r.lag.total, rows);
}

/// Rows on the half-speed listeners: how many were dropped, when, and how far behind.
fn slow_rows(rows: &mut Rows) {
    rows.add("half-speed listeners asked", 0, |run| {
        run.slow_report.asked as f64
    });
    rows.add("half-speed connected (HTTP 200)", 0, |run| {
        run.slow_report.connected as f64
    });
    rows.add("half-speed dropped by the server", 0, |run| {
        run.slow_report.disconnected as f64
    });
    for (name, q) in [("first", 0.0), ("median", 0.5), ("last", 1.0)] {
        rows.add(&format!("half-speed dropped after, {name} (s)"), 1, |run| {
            disconnect_quantile(&run.slow_report, q, |d| d.after_s)
        });
    }
    rows.add(
        "half-speed behind the live edge when dropped, median (s)",
        1,
        |run| disconnect_quantile(&run.slow_report, 0.5, |d| d.behind_s),
    );
    rows.add("half-speed still connected at the end", 0, |run| {
        run.slow_report.behind_at_end.total as f64
    });
    rows.add("half-speed behind at the end, median (s)", 1, |run| {
        run.slow_report.behind_at_end.quantile_us(0.5) as f64 / 1e6
    });
}

fn server_rows(rows: &mut Rows) {
    rows.add("server CPU in the hold window (s)", 2, |run| run.cpu_hold_s);
    rows.add("server CPU over the whole run (s)", 2, |run| run.cpu_run_s);
    rows.add(
        "CPU per listener-second (µs)",
        1,
        cpu_us_per_listener_second,
    );
    rows.add("RSS without listeners (MiB)", 1, |run| {
        run.rss_before_kib as f64 / 1024.0
    });
    rows.add("RSS with every listener (MiB)", 1, |run| {
        run.rss_end_kib as f64 / 1024.0
    });
    rows.add("memory per listener (KiB)", 2, kib_per_listener);
    rows.add("source frames sent", 0, |run| run.source_frames as f64);
}

/// The table of `runs` (at least two): ours first, the comparison last.
pub fn render(runs: &[RunResult]) -> String {
    let Some((theirs, ours)) = runs.split_last() else {
        return String::new();
    };
    let mut rows = Rows {
        runs,
        rows: Vec::new(),
    };
    listener_rows(&mut rows);
    if runs.iter().any(|run| run.slow_report.asked > 0) {
        slow_rows(&mut rows);
    }
    server_rows(&mut rows);

    let first = &runs[0];
    let mut out = String::new();
    let _ = write!(
        out,
        "| {} listeners at {}/s, {} s held",
        first.listeners, first.rate, first.seconds
    );
    if first.slow_share > 0.0 {
        let _ = write!(out, ", {}% at half speed", first.slow_share * 100.0);
    }
    let _ = write!(out, " |");
    for run in runs {
        let _ = write!(out, " {} |", run.label);
    }
    for run in ours {
        if ours.len() == 1 {
            let _ = write!(out, " ratio |");
        } else {
            let _ = write!(out, " ratio {} / {} |", run.label, theirs.label);
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "| --- |{}", " ---: |".repeat(runs.len() + ours.len()));
    for (name, figures, digits) in &rows.rows {
        let _ = write!(out, "| {name} |");
        for figure in figures {
            let _ = write!(out, " {figure:.digits$} |");
        }
        let last = figures[figures.len() - 1];
        for figure in &figures[..figures.len() - 1] {
            let _ = write!(out, " {} |", ratio(*figure, last));
        }
        let _ = writeln!(out);
    }
    let broken: Vec<&str> = runs
        .iter()
        .filter(|run| !run.source_held)
        .map(|run| run.label.as_str())
        .collect();
    if !broken.is_empty() {
        let _ = writeln!(
            out,
            "\nThe source's connection broke during the run of: {}.",
            broken.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listeners::Reports;

    fn run(label: &str, slow_dropped: u64) -> RunResult {
        let mut reports = Reports::default();
        reports.steady.asked = 95;
        reports.steady.connected = 95;
        reports.slow.asked = 5;
        reports.slow.connected = 5;
        reports.slow.disconnected = slow_dropped;
        for after_s in (0..slow_dropped).map(|k| 60.0 + k as f64) {
            let behind_s = 33.0;
            reports
                .slow
                .disconnects
                .push(Disconnect { after_s, behind_s });
        }
        RunResult {
            label: label.into(),
            listeners: 100,
            rate: 500.0,
            seconds: 60,
            listeners_report: reports.steady,
            slow_share: 0.05,
            slow_report: reports.slow,
            source_frames: 3000,
            source_held: true,
            cpu_hold_s: 6.0,
            cpu_run_s: 7.0,
            rss_before_kib: 1024,
            rss_end_kib: 2048,
            rss_peak_kib: 2048,
        }
    }

    #[test]
    fn three_runs_get_a_ratio_each_to_the_last_and_half_speed_rows() {
        let table = render(&[run("direct", 3), run("replica", 1), run("icecast", 2)]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| 100 listeners at 500/s, 60 s held, 5% at half speed | direct | replica | icecast \
             | ratio direct / icecast | ratio replica / icecast |"
        );
        assert!(
            lines.contains(&"| half-speed dropped by the server | 3 | 1 | 2 | 1.50× | 0.50× |")
        );
        assert!(lines.contains(
            &"| half-speed dropped after, median (s) | 61.0 | 60.0 | 60.0 | 1.02× | 1.00× |"
        ));
        // 6 CPU seconds over 100 listeners × 60 s, the half-speed ones included
        assert!(lines.contains(
            &"| CPU per listener-second (µs) | 1000.0 | 1000.0 | 1000.0 | 1.00× | 1.00× |"
        ));
    }
}
