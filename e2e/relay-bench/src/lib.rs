//! The stream relay benchmark's load generator (issue 4; run by `e2e/bench/relay.sh`).
//!
//! One `run` per server: a synthetic 128 kbit/s source ([`source`], frames of [`frames`]), then N
//! listeners arriving at a steady rate, spread over worker processes ([`listeners`]) and loopback
//! addresses, while the server's CPU time and RSS are read from /proc ([`proc`]). `table` prints two
//! runs side by side ([`table`]).

pub mod frames;
pub mod histogram;
pub mod listeners;
pub mod proc;
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
    pub listeners_report: listeners::Report,
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
