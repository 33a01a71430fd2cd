//! What the stream reports while it runs: counters shared by the encoder thread, the uplink and the
//! status line, all atomics so that no one waits for anyone to read them.

use std::{
    sync::atomic::{AtomicI64, AtomicU8, AtomicU32, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use crate::audio::meter::Levels;

/// Where the connection to the server stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Connection {
    Connecting = 0,
    Streaming = 1,
    Reconnecting = 2,
    Ended = 3,
}

impl Connection {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Streaming => "live",
            Self::Reconnecting => "reconnecting",
            Self::Ended => "ended",
        }
    }
}

/// Latencies are counted per millisecond up to this; longer ones share the last bucket.
const LATENCY_BUCKETS: usize = 2001;

pub struct Stats {
    pub started: Instant,
    pub bytes_sent: AtomicU64,
    pub frames_sent: AtomicU64,
    pub frames_dropped: AtomicU64,
    /// Samples the capture ring dropped (the encoder fell behind).
    pub samples_overrun: AtomicU64,
    /// Listeners now, or -1 while unknown.
    pub listeners: AtomicI64,
    /// Seconds until the next reconnection attempt, while reconnecting.
    pub retry_in_secs: AtomicU64,
    connection: AtomicU8,
    levels: [AtomicU32; 4],
    has_levels: AtomicU8,
    latency_ms: Box<[AtomicU32]>,
}

impl Stats {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            bytes_sent: AtomicU64::new(0),
            frames_sent: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            samples_overrun: AtomicU64::new(0),
            listeners: AtomicI64::new(-1),
            retry_in_secs: AtomicU64::new(0),
            connection: AtomicU8::new(Connection::Connecting as u8),
            levels: Default::default(),
            has_levels: AtomicU8::new(0),
            latency_ms: (0..LATENCY_BUCKETS).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    pub fn connection(&self) -> Connection {
        match self.connection.load(Ordering::Relaxed) {
            0 => Connection::Connecting,
            1 => Connection::Streaming,
            2 => Connection::Reconnecting,
            _ => Connection::Ended,
        }
    }

    pub fn set_connection(&self, state: Connection) {
        self.connection.store(state as u8, Ordering::Relaxed);
    }

    pub fn set_levels(&self, levels: Levels) {
        let values = [levels.peak[0], levels.peak[1], levels.rms[0], levels.rms[1]];
        for (slot, value) in self.levels.iter().zip(values) {
            slot.store(value.to_bits(), Ordering::Relaxed);
        }
        self.has_levels.store(1, Ordering::Relaxed);
    }

    pub fn levels(&self) -> Option<Levels> {
        if self.has_levels.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let value = |i: usize| f32::from_bits(self.levels[i].load(Ordering::Relaxed));
        Some(Levels {
            peak: [value(0), value(1)],
            rms: [value(2), value(3)],
        })
    }

    /// Counts a frame handed to the connection, `latency` after its audio was captured.
    pub fn record_sent(&self, bytes: usize, latency: Option<Duration>) {
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
        self.frames_sent.fetch_add(1, Ordering::Relaxed);
        if let Some(latency) = latency {
            let bucket = (latency.as_millis() as usize).min(LATENCY_BUCKETS - 1);
            self.latency_ms[bucket].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The latency (whole ms, rounded up) that `quantile` (0..1) of the frames did not exceed.
    pub fn latency_quantile_ms(&self, quantile: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .latency_ms
            .iter()
            .map(|c| u64::from(c.load(Ordering::Relaxed)))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let wanted = ((total as f64) * quantile).ceil().max(1.0) as u64;
        let mut seen = 0;
        counts.iter().enumerate().find_map(|(ms, count)| {
            seen += count;
            (seen >= wanted).then_some(ms as u64 + 1)
        })
    }
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_quantiles_come_from_the_histogram() {
        let stats = Stats::new();
        assert_eq!(stats.latency_quantile_ms(0.99), None);
        for ms in 0..100 {
            stats.record_sent(10, Some(Duration::from_micros(ms * 1000 + 500)));
        }
        stats.record_sent(10, None);
        assert_eq!(stats.latency_quantile_ms(0.5), Some(50));
        assert_eq!(stats.latency_quantile_ms(0.99), Some(99));
        assert_eq!(stats.bytes_sent.load(Ordering::Relaxed), 1010);
    }

    #[test]
    fn levels_and_state_round_trip() {
        let stats = Stats::new();
        assert_eq!(stats.levels(), None);
        let levels = Levels {
            peak: [-1.0, -2.0],
            rms: [-3.0, -4.0],
        };
        stats.set_levels(levels);
        assert_eq!(stats.levels(), Some(levels));
        stats.set_connection(Connection::Reconnecting);
        assert_eq!(stats.connection(), Connection::Reconnecting);
    }
}
