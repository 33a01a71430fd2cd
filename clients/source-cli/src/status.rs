//! The live status line on a terminal — elapsed time, level meter, kbps, dropped audio, listeners,
//! connection — redrawn in place; plain log lines every few seconds when stderr is not a terminal
//! (a log file, a service manager); nothing with `--quiet`.

use std::{
    io::{IsTerminal, Write},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use crate::{
    audio::meter::Levels,
    uplink::stats::{Connection, Stats},
};

/// How the status is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMode {
    Line,
    Log,
    Quiet,
}

impl StatusMode {
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Self::Quiet
        } else if std::io::stderr().is_terminal() {
            Self::Line
        } else {
            Self::Log
        }
    }
}

/// Shows the status until the task is dropped.
pub async fn show(stats: Arc<Stats>, mode: StatusMode) {
    let period = match mode {
        StatusMode::Quiet => return,
        StatusMode::Line => Duration::from_millis(250),
        StatusMode::Log => Duration::from_secs(5),
    };
    let mut ticker = tokio::time::interval(period);
    let mut last = (0u64, stats.started);
    loop {
        ticker.tick().await;
        let now = std::time::Instant::now();
        let sent = stats.bytes_sent.load(Ordering::Relaxed);
        let secs = now.duration_since(last.1).as_secs_f64().max(0.001);
        // Averaged over a second or more, so the figure does not flicker with each frame.
        let kbps = (sent - last.0) as f64 * 8.0 / 1000.0 / secs;
        if secs >= 1.0 {
            last = (sent, now);
        }
        let line = render(&stats, kbps);
        let mut err = std::io::stderr().lock();
        let _ = match mode {
            StatusMode::Line => write!(err, "\r\x1b[2K{line}"),
            _ => writeln!(err, "{line}"),
        };
        let _ = err.flush();
    }
}

/// One status line.
pub fn render(stats: &Stats, kbps: f64) -> String {
    let elapsed = stats.started.elapsed().as_secs();
    let connection = match stats.connection() {
        Connection::Reconnecting => format!(
            "reconnecting (retry in {} s)",
            stats.retry_in_secs.load(Ordering::Relaxed)
        ),
        other => other.label().to_owned(),
    };
    let listeners = match stats.listeners.load(Ordering::Relaxed) {
        n if n >= 0 => n.to_string(),
        _ => "?".into(),
    };
    format!(
        "{:02}:{:02}:{:02}  {}  {kbps:.0} kbps  dropped {} frames / {} samples  listeners {listeners}  {connection}",
        elapsed / 3600,
        elapsed / 60 % 60,
        elapsed % 60,
        meter_text(stats.levels()),
        stats.frames_dropped.load(Ordering::Relaxed),
        stats.samples_overrun.load(Ordering::Relaxed),
    )
}

fn meter_text(levels: Option<Levels>) -> String {
    let Some(levels) = levels else {
        return "L --  R --".into();
    };
    let side = |name: &str, i: usize| {
        format!(
            "{name} {:>5.1}/{:>5.1} dB {}",
            levels.peak[i],
            levels.rms[i],
            bar(levels.rms[i])
        )
    };
    format!("{}  {}", side("L", 0), side("R", 1))
}

/// Ten cells covering -60..0 dBFS.
fn bar(dbfs: f32) -> String {
    let cells = (((dbfs + 60.0) / 6.0).clamp(0.0, 10.0)) as usize;
    format!("{}{}", "#".repeat(cells), ".".repeat(10 - cells))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_levels_rate_drops_listeners_and_state() {
        let stats = Stats::new();
        let line = render(&stats, 0.0);
        assert!(line.starts_with("00:00:00  L --  R --  0 kbps"), "{line}");
        assert!(line.contains("listeners ?  connecting"), "{line}");
        stats.set_levels(Levels {
            peak: [-0.5, -6.0],
            rms: [-3.5, -9.0],
        });
        stats.listeners.store(12, Ordering::Relaxed);
        stats.frames_dropped.store(3, Ordering::Relaxed);
        stats.set_connection(Connection::Streaming);
        let line = render(&stats, 128.4);
        assert!(line.contains("L  -0.5/ -3.5 dB #########."), "{line}");
        assert!(line.contains("R  -6.0/ -9.0 dB ########.."), "{line}");
        assert!(line.contains("128 kbps  dropped 3 frames"), "{line}");
        assert!(line.ends_with("listeners 12  live"), "{line}");
    }
}
