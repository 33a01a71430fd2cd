//! Real-time pacing of file and tone sources.
//!
//! Why: a file read as fast as the disk allows would reach the relay in a burst, listeners would be
//! minutes behind (or dropped), and the relay's idea of "live" would be wrong. Each block is released
//! when its start time comes (minus an optional lead that keeps the network fed), measured from one
//! start instant, so errors of single sleeps never add up.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Pacer {
    start: Instant,
    lead: Duration,
}

impl Pacer {
    pub fn new(start: Instant, lead: Duration) -> Self {
        Self { start, lead }
    }

    /// When the media at `position` (time from its start) is due.
    pub fn due(&self, position: Duration) -> Instant {
        self.start + position.saturating_sub(self.lead)
    }

    /// Blocks the thread until `position` is due (for the PCM source threads).
    pub fn wait(&self, position: Duration) {
        let due = self.due(position);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_due_at_their_position_minus_the_lead() {
        let start = Instant::now();
        let pacer = Pacer::new(start, Duration::from_millis(500));
        assert_eq!(pacer.due(Duration::ZERO), start);
        assert_eq!(pacer.due(Duration::from_millis(300)), start);
        assert_eq!(
            pacer.due(Duration::from_secs(2)),
            start + Duration::from_millis(1500)
        );
    }

    #[test]
    fn waiting_does_not_drift() {
        let start = Instant::now();
        let pacer = Pacer::new(start, Duration::ZERO);
        for block in 1..=20 {
            pacer.wait(Duration::from_millis(10 * block));
        }
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(200), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(260), "{elapsed:?}");
    }
}
