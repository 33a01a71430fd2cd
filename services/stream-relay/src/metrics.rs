//! What the relay reports on `/metrics` (HTTP port only: the source port is public).
//!
//! Why these: an operator wants to know how many listen now ([`listener_joined`]), how much audio
//! goes out ([`bytes_sent`]), whether listeners are being dropped for being slow (their network, or
//! this replica saturated), and whether sources keep reconnecting (a DJ's unstable link) or are
//! refused. Everything here is an atomic add on the hot path; audio bytes are added per write batch
//! (fast path) or per [`SENT_BATCH_BYTES`] of a listener's body (hyper path), not per frame.

use std::sync::OnceLock;

use service_kit::metrics::{self, Counter, Family, Gauge};

use crate::live::SourceEnd;

/// A hyper-path listener adds his bytes to the shared counter once this many have gone out (and
/// when he leaves), so ten thousand listeners do not contend for one atomic on every frame.
pub const SENT_BATCH_BYTES: u64 = 64 * 1024;

type Labels = Vec<(&'static str, &'static str)>;

struct RelayMetrics {
    listeners: Gauge,
    live_broadcasts: Gauge,
    bytes_sent: Counter,
    bytes_received: Counter,
    dropped_slow: Counter,
    source_reconnects: Counter,
    sources_ended: Family<Labels, Counter>,
    sources_refused: Family<Labels, Counter>,
}

fn get() -> &'static RelayMetrics {
    static METRICS: OnceLock<RelayMetrics> = OnceLock::new();
    METRICS.get_or_init(|| RelayMetrics {
        listeners: metrics::gauge("relay_listeners", "Listeners connected to this relay now"),
        live_broadcasts: metrics::gauge(
            "relay_live_broadcasts",
            "Broadcasts live on this relay now (a source streaming, or within its grace period)",
        ),
        bytes_sent: metrics::counter(
            "relay_sent_bytes",
            "Audio bytes written to listeners (burst and live)",
        ),
        bytes_received: metrics::counter(
            "relay_received_bytes",
            "Bytes received from sources, audio or not",
        ),
        dropped_slow: metrics::counter(
            "relay_listeners_dropped_slow",
            "Listeners dropped for falling more than RELAY_QUEUE_BYTES behind the live stream",
        ),
        source_reconnects: metrics::counter(
            "relay_source_reconnects",
            "Sources that came back within the grace period and resumed their broadcast",
        ),
        sources_ended: metrics::counters(
            "relay_sources_ended",
            "Source connections that ended, by how (finished, dropped, not_audio, shutdown)",
        ),
        sources_refused: metrics::counters(
            "relay_sources_refused",
            "Ingest requests refused, by HTTP status (401 no session, 409 already live, 415 not MP3, 503 a dependency down, ...)",
        ),
    })
}

/// Registers the metrics now, so that they show (at 0) before anything happens.
pub fn register() {
    get();
}

pub fn listener_joined() {
    get().listeners.inc();
}

pub fn listener_left() {
    get().listeners.dec();
}

pub fn broadcast_started() {
    get().live_broadcasts.inc();
}

pub fn broadcast_ended() {
    get().live_broadcasts.dec();
}

pub fn bytes_sent(bytes: u64) {
    if bytes > 0 {
        get().bytes_sent.inc_by(bytes);
    }
}

pub fn bytes_received(bytes: u64) {
    get().bytes_received.inc_by(bytes);
}

pub fn listener_dropped_slow() {
    get().dropped_slow.inc();
}

pub fn source_reconnected() {
    get().source_reconnects.inc();
}

pub fn source_ended(end: SourceEnd) {
    let how = match end {
        SourceEnd::Finished => "finished",
        SourceEnd::Dropped => "dropped",
        SourceEnd::Starved => "starved",
        SourceEnd::NotAudio => "not_audio",
        SourceEnd::Shutdown => "shutdown",
    };
    get().sources_ended.get_or_create(&vec![("how", how)]).inc();
}

pub fn source_refused(status: http::StatusCode) {
    // The statuses an ingest request can be refused with; anything new counts as "other".
    let status: &'static str = match status.as_str() {
        "400" => "400",
        "401" => "401",
        "403" => "403",
        "404" => "404",
        "409" => "409",
        "415" => "415",
        "503" => "503",
        _ => "other",
    };
    get()
        .sources_refused
        .get_or_create(&vec![("status", status)])
        .inc();
}
