//! The lock-free hand-over of PCM from the audio callback to the encoder thread.
//!
//! Why: the audio callback runs on the device's real-time thread. If it allocated, took a lock or
//! blocked, a slow encoder or a page fault would turn into clicks and lost buffers. The producer side
//! here only copies into a pre-allocated SPSC ring (`rtrb`), bumps atomic counters and reads the
//! clock; when the ring is full the newest samples are dropped and counted (an overrun), never waited
//! for. The ring also carries a capture clock, so that the encoder can tell when each sample was
//! captured (the capture-to-socket latency).

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// What both ends share: counters, the capture clock and the end-of-input flag.
#[derive(Debug)]
pub struct RingShared {
    base: Instant,
    pub rate: u32,
    pub channels: u16,
    /// Samples dropped because the ring was full.
    overruns: AtomicU64,
    /// Nanoseconds after `base` at which frame 0 was captured (estimated at each write).
    origin_nanos: AtomicU64,
    frames_written: AtomicU64,
    closed: AtomicBool,
}

impl RingShared {
    pub fn overruns(&self) -> u64 {
        self.overruns.load(Ordering::Relaxed)
    }

    /// When the frame with this index (counted from the start of the input) was captured.
    pub fn captured_at(&self, frame: u64) -> Instant {
        let origin = Duration::from_nanos(self.origin_nanos.load(Ordering::Relaxed));
        self.base + origin + frames_to_duration(frame, self.rate)
    }

    /// Ends the input: the consumer drains what is left, then stops (Ctrl-C, a lost device).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// No more samples will come (end of a file, the device stopped).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

pub fn frames_to_duration(frames: u64, rate: u32) -> Duration {
    Duration::from_nanos(frames * 1_000_000_000 / u64::from(rate.max(1)))
}

/// The writing end, owned by the audio callback (or a paced file or tone thread).
pub struct SampleProducer {
    ring: rtrb::Producer<f32>,
    shared: Arc<RingShared>,
}

/// The reading end, owned by the encoder thread.
pub struct SampleConsumer {
    ring: rtrb::Consumer<f32>,
    pub shared: Arc<RingShared>,
}

/// A ring holding `capacity` of audio at `rate` Hz with `channels` interleaved channels.
pub fn sample_ring(
    rate: u32,
    channels: u16,
    capacity: Duration,
) -> (SampleProducer, SampleConsumer) {
    let samples = (capacity.as_secs_f64() * f64::from(rate)) as usize * usize::from(channels);
    let (producer, consumer) = rtrb::RingBuffer::new(samples.max(usize::from(channels)));
    let shared = Arc::new(RingShared {
        // A base in the past, so that "frame 0 was captured N frames before now" never underflows.
        base: Instant::now()
            .checked_sub(Duration::from_secs(60))
            .unwrap_or_else(Instant::now),
        rate,
        channels,
        overruns: AtomicU64::new(0),
        origin_nanos: AtomicU64::new(0),
        frames_written: AtomicU64::new(0),
        closed: AtomicBool::new(false),
    });
    (
        SampleProducer {
            ring: producer,
            shared: shared.clone(),
        },
        SampleConsumer {
            ring: consumer,
            shared,
        },
    )
}

impl SampleProducer {
    /// Copies whole frames of `input`, converted to `f32`, into the ring. Real-time safe: no
    /// allocation, no lock, no wait; what does not fit is dropped and counted.
    pub fn push<T: Copy>(&mut self, input: &[T], to_f32: impl Fn(T) -> f32) {
        let channels = usize::from(self.shared.channels);
        let room = self.ring.slots().min(input.len());
        let fits = room - room % channels;
        if let Ok(chunk) = self.ring.write_chunk_uninit(fits) {
            chunk.fill_from_iter(input[..fits].iter().map(|s| to_f32(*s)));
        }
        let dropped = (input.len() - fits) as u64;
        if dropped > 0 {
            self.shared.overruns.fetch_add(dropped, Ordering::Relaxed);
        }
        let frames = (input.len() / channels) as u64;
        let total = self
            .shared
            .frames_written
            .fetch_add(frames, Ordering::Relaxed)
            + frames;
        // The newest frame was captured now; frame 0 was captured `total` frames earlier.
        let now = self.shared.base.elapsed();
        let origin = now.saturating_sub(frames_to_duration(total, self.shared.rate));
        self.shared
            .origin_nanos
            .store(origin.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Marks the end of the input.
    pub fn close(&self) {
        self.shared.close();
    }

    pub fn shared(&self) -> &Arc<RingShared> {
        &self.shared
    }
}

impl SampleConsumer {
    /// Moves up to `out.len()` samples (whole frames) out of the ring; returns how many.
    pub fn pop_into(&mut self, out: &mut [f32]) -> usize {
        let channels = usize::from(self.shared.channels);
        let wanted = self.ring.slots().min(out.len());
        let wanted = wanted - wanted % channels;
        let Ok(chunk) = self.ring.read_chunk(wanted) else {
            return 0;
        };
        let (first, second) = chunk.as_slices();
        out[..first.len()].copy_from_slice(first);
        out[first.len()..first.len() + second.len()].copy_from_slice(second);
        chunk.commit_all();
        wanted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the allocations of the current thread, to prove the producer side makes none.
    struct CountingAllocator;

    thread_local! {
        static ALLOCATIONS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }

    unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
            unsafe { std::alloc::System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    #[test]
    fn the_audio_callbacks_side_never_allocates() {
        let (mut producer, mut consumer) = sample_ring(48_000, 2, Duration::from_millis(50));
        let period = [0.25f32; 960];
        let before = ALLOCATIONS.with(std::cell::Cell::get);
        for _ in 0..10 {
            producer.push(&period, |s| s); // the ring fills up: overruns are counted, not waited for
        }
        let after = ALLOCATIONS.with(std::cell::Cell::get);
        assert_eq!(after - before, 0, "allocations in the real-time path");
        let probe: Vec<u8> = Vec::with_capacity(8);
        assert_eq!(
            ALLOCATIONS.with(std::cell::Cell::get),
            after + 1,
            "the counter counts"
        );
        drop(probe);
        assert!(producer.shared().overruns() > 0);
        let mut out = vec![0.0; 4800];
        assert_eq!(consumer.pop_into(&mut out), 4800);
    }

    #[test]
    fn samples_cross_in_order_and_an_overrun_drops_whole_frames_and_counts_them() {
        let (mut producer, mut consumer) = sample_ring(10, 2, Duration::from_millis(400));
        producer.push(&[1i16, 2, 3, 4], f32::from);
        producer.push(&[5i16, 6, 7, 8, 9, 10], f32::from);
        assert_eq!(
            producer.shared().overruns(),
            2,
            "8 slots: one frame of the second push is lost"
        );
        let mut out = [0.0; 16];
        assert_eq!(consumer.pop_into(&mut out), 8);
        assert_eq!(&out[..8], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        producer.push(&[11i16, 12], f32::from);
        assert_eq!(consumer.pop_into(&mut out[..3]), 2, "only whole frames");
        assert_eq!(&out[..2], &[11.0, 12.0]);
    }

    #[test]
    fn the_capture_clock_dates_each_frame() {
        let (mut producer, consumer) = sample_ring(1000, 1, Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(20));
        let before = Instant::now();
        producer.push(&[0.0f32; 100], |s| s);
        let newest = consumer.shared.captured_at(100);
        assert!(newest >= before && newest <= Instant::now());
        let first = consumer.shared.captured_at(0);
        assert_eq!(newest - first, Duration::from_millis(100));
    }

    #[test]
    fn the_consumer_sees_the_end_of_input() {
        let (producer, consumer) = sample_ring(1000, 1, Duration::from_secs(1));
        assert!(!consumer.shared.is_closed());
        producer.close();
        assert!(consumer.shared.is_closed());
    }
}
