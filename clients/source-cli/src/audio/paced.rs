//! PCM sources that are not a device — the test tone and WAV files — played in real time into the
//! same ring a device's callback writes to, so everything after it (conversion, meter, recording,
//! encoder, network) runs the very path of a live capture.

use std::{
    f32::consts::TAU,
    io::Read,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use super::{
    ring::{SampleProducer, frames_to_duration},
    wav::WavReader,
};
use crate::pacing::Pacer;

/// Audio released per step: short, like a device's period.
const BLOCK: Duration = Duration::from_millis(10);

/// Plays `fill`'s samples in real time until it returns 0 (the end) or `stop` is set; then closes
/// the ring. The thread's result is a read error, if one ended it.
pub fn spawn_paced<F>(
    mut producer: SampleProducer,
    stop: Arc<AtomicBool>,
    mut fill: F,
) -> JoinHandle<Result<(), String>>
where
    F: FnMut(&mut [f32]) -> Result<usize, String> + Send + 'static,
{
    std::thread::Builder::new()
        .name("paced-source".into())
        .spawn(move || {
            let shared = producer.shared().clone();
            let channels = usize::from(shared.channels);
            let block_frames = (u64::from(shared.rate) * BLOCK.as_millis() as u64 / 1000) as usize;
            let mut block = vec![0.0f32; block_frames.max(1) * channels];
            let pacer = Pacer::new(Instant::now(), Duration::ZERO);
            let mut frames_done = 0u64;
            let result = loop {
                if stop.load(Ordering::Relaxed) {
                    break Ok(());
                }
                let samples = match fill(&mut block) {
                    Ok(0) => break Ok(()),
                    Ok(n) => n - n % channels,
                    Err(error) => break Err(error),
                };
                frames_done += (samples / channels) as u64;
                // Released when the block's last sample "has been captured", as a device would.
                pacer.wait(frames_to_duration(frames_done, shared.rate));
                producer.push(&block[..samples], |s| s);
            };
            producer.close();
            result
        })
        .expect("a thread for the paced source")
}

/// A sine at `hz`, -6 dBFS, in every channel.
pub fn tone(hz: f32, rate: u32, channels: u16) -> impl FnMut(&mut [f32]) -> Result<usize, String> {
    let step = TAU * hz / rate as f32;
    let mut phase = 0.0f32;
    move |out| {
        for frame in out.chunks_exact_mut(usize::from(channels)) {
            frame.fill(phase.sin() * 0.5);
            phase = (phase + step) % TAU;
        }
        Ok(out.len() - out.len() % usize::from(channels))
    }
}

/// The samples of a WAV file, until its end.
pub fn wav_samples<R: Read + Send + 'static>(
    mut reader: WavReader<R>,
) -> impl FnMut(&mut [f32]) -> Result<usize, String> {
    move |out| reader.read(out).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::ring::sample_ring;

    #[test]
    fn a_paced_tone_takes_real_time_and_closes_the_ring_when_stopped() {
        let (producer, mut consumer) = sample_ring(8000, 2, Duration::from_secs(2));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let thread = spawn_paced(producer, stop.clone(), tone(1000.0, 8000, 2));
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap().unwrap();
        let mut out = vec![0.0; 16_000];
        let got = consumer.pop_into(&mut out) / 2;
        let expected = started.elapsed().as_secs_f64() * 8000.0;
        assert!(consumer.shared.is_closed());
        assert!(
            (got as f64 - expected).abs() < 8000.0 * 0.05,
            "{got} frames in {expected}"
        );
        assert!(out[..got * 2].iter().any(|s| *s > 0.49));
    }
}
