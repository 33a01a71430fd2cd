//! Half-speed readers: a share of the listeners that read the stream at half its rate, as a player on
//! a link too slow for the bitrate would. The target: such listeners are dropped once they are
//! the queue bound behind, and the other listeners barely notice.
//!
//! Which listeners are slow is fixed by their number, spread evenly over the arrival schedule (listener
//! `i` is slow when `floor((i + 1) × share) > floor(i × share)`), so every worker process and every part
//! of the ramp gets its share. A slow listener reads at most `HALF_RATE` bytes a second from its first
//! read on, the burst included: after each read it sleeps until its byte count is due.
//!
//! Over loopback the kernel's buffers hide a slow reader: the server's send buffer grows with a
//! congestion window that nothing limits (up to `tcp_wmem`'s 4 MiB, minutes of audio), so the server
//! sees no lag for a long time. On a real slow link the window stays small. `--slow-rcvbuf` gives the
//! half-speed listeners a small receive buffer, which keeps the window, and so the server's send
//! buffer, small as such a link would.

use crate::frames;

/// Half the synthetic stream's rate, in bytes a second (384 bytes every 24 ms is 16,000 B/s).
pub const HALF_RATE: u64 = frames::FRAME_LEN as u64 * 1_000_000_000 / frames::FRAME_NANOS / 2;
/// A slow listener's read size: a quarter of a second at half speed, so its reads stay smooth.
pub const SLOW_READ_BYTES: usize = 2 * 1024;

/// Whether listener `number` reads at half speed, for a share of slow listeners in 0..=1.
pub fn is_slow(number: u64, share: f64) -> bool {
    if share <= 0.0 {
        return false;
    }
    ((number + 1) as f64 * share).floor() > (number as f64 * share).floor()
}

/// The reading schedule of one slow listener.
#[derive(Debug)]
pub struct Pace {
    started_ns: Option<u64>,
    bytes: u64,
}

impl Pace {
    pub fn new() -> Self {
        Self {
            started_ns: None,
            bytes: 0,
        }
    }

    /// Counts a read of `n` bytes at `now_ns`; returns when the next read is due.
    pub fn after_read(&mut self, n: usize, now_ns: u64) -> u64 {
        let started = *self.started_ns.get_or_insert(now_ns);
        self.bytes += n as u64;
        started + self.bytes * 1_000_000_000 / HALF_RATE
    }
}

impl Default for Pace {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_of_slow_listeners_is_spread_evenly() {
        let slow: Vec<u64> = (0..100).filter(|&i| is_slow(i, 0.05)).collect();
        assert_eq!(slow, [19, 39, 59, 79, 99]);
        assert_eq!((0..10_000).filter(|&i| is_slow(i, 0.05)).count(), 500);
        assert!(!(0..1000).any(|i| is_slow(i, 0.0)));
    }

    #[test]
    fn a_slow_listener_reads_at_half_the_stream_rate() {
        assert_eq!(HALF_RATE, 8_000);
        let mut pace = Pace::new();
        assert_eq!(pace.after_read(4_000, 1_000), 1_000 + 500_000_000);
        assert_eq!(pace.after_read(4_000, 2_000), 1_000 + 1_000_000_000);
    }
}
