//! The bounded queue between the encoder and the network.
//!
//! Why drop the oldest: when the network stalls, a live stream must stay live. Keeping the newest
//! few seconds and dropping whole frames from the front keeps memory flat, and when the connection
//! recovers the listeners hear the present, not an ever-growing backlog. Drops are counted for the
//! status line. The encoder thread pushes (never waits), the uplink task awaits frames.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex, atomic::Ordering},
    time::Instant,
};

use bytes::Bytes;
use tokio::sync::Notify;

use super::stats::Stats;

/// One MP3 frame and when the newest audio in it was captured (for the latency figures).
#[derive(Debug, Clone)]
pub struct Frame {
    pub bytes: Bytes,
    pub captured_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    frames: VecDeque<Frame>,
    bytes: usize,
    closed: bool,
}

pub struct FrameQueue {
    state: Mutex<State>,
    ready: Notify,
    capacity_bytes: usize,
    stats: Arc<Stats>,
}

impl FrameQueue {
    pub fn new(capacity_bytes: usize, stats: Arc<Stats>) -> Self {
        Self {
            state: Mutex::new(State::default()),
            ready: Notify::new(),
            capacity_bytes,
            stats,
        }
    }

    /// Adds a frame; drops the oldest ones while the queue holds more than its capacity.
    pub fn push(&self, frame: Frame) {
        let mut state = self.state.lock().expect("queue lock");
        state.bytes += frame.bytes.len();
        state.frames.push_back(frame);
        while state.bytes > self.capacity_bytes && state.frames.len() > 1 {
            let dropped = state.frames.pop_front().expect("a frame");
            state.bytes -= dropped.bytes.len();
            self.stats.frames_dropped.fetch_add(1, Ordering::Relaxed);
        }
        drop(state);
        self.ready.notify_one();
    }

    /// No more frames will come; `next` returns `None` once the queue is empty.
    pub fn close(&self) {
        self.state.lock().expect("queue lock").closed = true;
        self.ready.notify_waiters();
        self.ready.notify_one();
    }

    pub fn is_closed(&self) -> bool {
        self.state.lock().expect("queue lock").closed
    }

    /// The oldest frame, waiting for one; `None` when closed and empty.
    pub async fn next(&self) -> Option<Frame> {
        loop {
            let notified = self.ready.notified();
            {
                let mut state = self.state.lock().expect("queue lock");
                if let Some(frame) = state.frames.pop_front() {
                    state.bytes -= frame.bytes.len();
                    return Some(frame);
                }
                if state.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Waits until the queue is closed (the input ended or the user stopped).
    pub async fn closed(&self) {
        loop {
            let notified = self.ready.notified();
            if self.is_closed() {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> Frame {
        Frame {
            bytes: Bytes::from(vec![n; 100]),
            captured_at: None,
        }
    }

    #[tokio::test]
    async fn a_stalled_network_drops_the_oldest_frames_and_memory_stays_bounded() {
        let stats = Arc::new(Stats::new());
        let queue = FrameQueue::new(350, stats.clone());
        for n in 0..10 {
            queue.push(frame(n));
        }
        assert_eq!(stats.frames_dropped.load(Ordering::Relaxed), 7);
        queue.close();
        let mut left = Vec::new();
        while let Some(frame) = queue.next().await {
            left.push(frame.bytes[0]);
        }
        assert_eq!(left, [7, 8, 9], "the newest audio is kept, in order");
    }

    #[tokio::test]
    async fn a_waiting_reader_wakes_for_a_frame_and_for_the_end() {
        let stats = Arc::new(Stats::new());
        let queue = Arc::new(FrameQueue::new(1000, stats));
        let reader = tokio::spawn({
            let queue = queue.clone();
            async move {
                (
                    queue.next().await.map(|f| f.bytes[0]),
                    queue.next().await.is_none(),
                )
            }
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        queue.push(frame(42));
        queue.close();
        assert_eq!(reader.await.unwrap(), (Some(42), true));
    }
}
