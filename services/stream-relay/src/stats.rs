//! When to publish `stream.stats`: at most once a second when the counts changed, and at least every
//! 5 s regardless, as the heartbeat by which broadcasts-archive notices a relay that died mid-stream.

use std::time::Duration;

use tokio::time::Instant;

use crate::audience::Counts;

/// The longest silence between two stats events of a live broadcast.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// The shortest interval between two stats events.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Remembers what was last published, and when.
#[derive(Debug, Default)]
pub struct Pacer {
    last: Option<(Counts, Instant)>,
}

impl Pacer {
    /// Whether `counts` should be published at `now`.
    pub fn due(&self, counts: Counts, now: Instant) -> bool {
        match self.last {
            None => true,
            Some((last, at)) => {
                let since = now.saturating_duration_since(at);
                since >= HEARTBEAT || (last != counts && since >= MIN_INTERVAL)
            }
        }
    }

    /// `counts` went out at `now`.
    pub fn published(&mut self, counts: Counts, now: Instant) {
        self.last = Some((counts, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(current: u64) -> Counts {
        Counts {
            current,
            peak: current,
        }
    }

    #[test]
    fn changes_go_out_once_a_second_and_silence_every_five() {
        let start = Instant::now();
        let mut pacer = Pacer::default();
        assert!(pacer.due(counts(0), start), "the first report goes out");
        pacer.published(counts(0), start);
        let at = |ms| start + Duration::from_millis(ms);
        assert!(!pacer.due(counts(1), at(500)), "not twice in a second");
        assert!(pacer.due(counts(1), at(1000)), "a change after a second");
        assert!(!pacer.due(counts(0), at(4999)), "no change, no event");
        assert!(pacer.due(counts(0), at(5000)), "the heartbeat");
    }
}
