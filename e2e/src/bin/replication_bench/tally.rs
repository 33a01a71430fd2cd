//! What one receiving replica counts of the frames it gets, whatever the engine: their latency, and
//! which arrived, twice, or out of order, so that losses can be told once the senders are done.

use e2e::bench::{Histogram, now_us};
use futures_util::{Stream, StreamExt};
use tokio::sync::watch;

use crate::frame::decode;

/// What one replica received.
pub struct Tally {
    pub latency: Histogram,
    /// Per broadcast, which sequence numbers arrived.
    seen: Vec<Vec<bool>>,
    highest: Vec<Option<u64>>,
    pub max_us: u64,
    pub duplicates: u64,
    pub reordered: u64,
}

impl Tally {
    fn new(broadcasts: usize) -> Self {
        Self {
            latency: Histogram::new(),
            seen: vec![Vec::new(); broadcasts],
            highest: vec![None; broadcasts],
            max_us: 0,
            duplicates: 0,
            reordered: 0,
        }
    }

    fn receive(&mut self, bytes: &[u8]) {
        let Some((broadcast, seq, due_us)) = decode(bytes) else {
            return;
        };
        let latency = now_us().saturating_sub(due_us);
        self.latency.record(latency);
        self.max_us = self.max_us.max(latency);
        let seen = &mut self.seen[broadcast];
        if seen.len() <= seq as usize {
            seen.resize(seq as usize + 1, false);
        }
        if std::mem::replace(&mut seen[seq as usize], true) {
            self.duplicates += 1;
        }
        let highest = &mut self.highest[broadcast];
        match *highest {
            Some(h) if seq < h => self.reordered += 1,
            _ => *highest = Some(seq),
        }
    }

    /// Frames sent but never received, given how many each broadcast sent.
    pub fn lost(&self, sent: &[u64]) -> u64 {
        sent.iter()
            .zip(&self.seen)
            .map(|(&n, seen)| n - seen.iter().take(n as usize).filter(|s| **s).count() as u64)
            .sum()
    }
}

/// Counts every message of `messages` until `stop` turns true.
pub async fn tally<S, B>(messages: S, broadcasts: usize, mut stop: watch::Receiver<bool>) -> Tally
where
    S: Stream<Item = B>,
    B: AsRef<[u8]>,
{
    let mut tally = Tally::new(broadcasts);
    let mut messages = std::pin::pin!(messages);
    loop {
        tokio::select! {
            message = messages.next() => match message {
                Some(bytes) => tally.receive(bytes.as_ref()),
                None => break,
            },
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::encode;

    #[test]
    fn a_tally_counts_losses_reorders_and_duplicates() {
        let mut tally = Tally::new(2);
        for seq in [0, 2, 1, 2, 4] {
            tally.receive(&encode(1, seq, now_us()));
        }
        tally.receive(&encode(0, 0, now_us()));
        assert_eq!(
            tally.lost(&[2, 6]),
            1 + 2,
            "frame 1 of broadcast 0; 3 and 5 of 1"
        );
        assert_eq!((tally.reordered, tally.duplicates), (1, 1));
    }
}
