//! The stream relay benchmark's load generator (issue 4; run by `e2e/bench/relay.sh`).
//!
//! One `run` per server: a synthetic 128 kbit/s source ([`source`], frames of [`frames`]), then N
//! listeners arriving at a steady rate, spread over worker processes ([`listeners`]) and loopback
//! addresses, a share of them optionally reading at half speed ([`pace`]), while the server's CPU time
//! and RSS are read from /proc ([`proc`]; summed over its processes, e.g. two relay replicas). `table`
//! prints runs side by side ([`table`]).

pub mod frames;
pub mod histogram;
pub mod listeners;
pub mod pace;
pub mod proc;
mod response;
pub mod source;
pub mod table;

use serde::{Deserialize, Serialize};

/// What one `run` measured, written as JSON for `table`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    pub label: String,
    pub listeners: u64,
    pub rate: f64,
    pub seconds: u64,
    /// The listeners that read at the stream's rate (all of them unless `slow_share` > 0).
    pub listeners_report: listeners::Report,
    /// The share of listeners that read at half speed, and what they saw.
    #[serde(default)]
    pub slow_share: f64,
    #[serde(default)]
    pub slow_report: listeners::Report,
    /// Frames the source sent over the whole run, and whether its connection held to the end.
    pub source_frames: u64,
    pub source_held: bool,
    /// The server's CPU seconds while every listener was connected (the hold window), and over the
    /// whole run from the first arrival on.
    pub cpu_hold_s: f64,
    pub cpu_run_s: f64,
    /// The server's resident memory with the source streaming and no listener, at the end of the
    /// hold window (every listener connected), and the most seen in between.
    pub rss_before_kib: u64,
    pub rss_end_kib: u64,
    pub rss_peak_kib: u64,
}

impl RunResult {
    /// Listeners connected (HTTP 200), steady and slow.
    pub fn connected(&self) -> u64 {
        self.listeners_report.connected + self.slow_report.connected
    }
}
