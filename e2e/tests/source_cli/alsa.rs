//! A capture device that plays a known signal through real ALSA: an `asoundrc` in the DJ's home
//! defines a PCM with the `file` plugin over `null`, whose `infile` is a FIFO this test writes a
//! known sine into at real-time pace (then silence). cpal opens it like any device, so the CLI's
//! capture path (callback, ring, conversion) runs as on a DJ's machine. Samples are 32-bit float,
//! the format cpal picks for this PCM.

use std::{
    io::Write,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

/// The PCM's name, as `--device` takes it.
pub const DEVICE: &str = "lsknown";
const RATE: usize = 48_000;
const FREQUENCY: f32 = 440.0;

/// The known signal's sample `i` (interleaved stereo, both channels equal).
fn known(i: usize) -> f32 {
    let frame = i / 2;
    (2.0 * std::f32::consts::PI * FREQUENCY * frame as f32 / RATE as f32).sin() * 0.5
}

pub struct KnownFileDevice {
    stop: Arc<AtomicBool>,
    feeder: Option<JoinHandle<()>>,
}

impl KnownFileDevice {
    /// Writes the asoundrc and the FIFO under `home`, and starts feeding `known_secs` of the sine.
    pub fn new(home: &Path, known_secs: f64) -> anyhow::Result<Self> {
        let fifo = home.join("capture.fifo");
        let _ = std::fs::remove_file(&fifo);
        let made = std::process::Command::new("mkfifo").arg(&fifo).status()?;
        anyhow::ensure!(made.success(), "mkfifo failed");
        std::fs::write(
            home.join(".asoundrc"),
            format!(
                "pcm.{DEVICE} {{\n  type file\n  slave.pcm \"null\"\n  file \"/dev/null\"\n  \
                 infile \"{}\"\n  format \"raw\"\n  \
                 hint {{ show on; description \"LiveStreamer test capture\" }}\n}}\n",
                fifo.display()
            ),
        )?;
        // Read and write: opening never blocks, and the reader never sees an end of file.
        let mut pipe = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)?;
        let stop = Arc::new(AtomicBool::new(false));
        let known_samples = (known_secs * RATE as f64) as usize * 2;
        let feeder = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let started = Instant::now();
                let block = 240 * 2; // 5 ms of stereo
                let mut written = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let bytes: Vec<u8> = (written..written + block)
                        .flat_map(|i| if i < known_samples { known(i) } else { 0.0 }.to_le_bytes())
                        .collect();
                    if pipe.write_all(&bytes).is_err() {
                        return;
                    }
                    written += block;
                    let due = started + Duration::from_secs_f64((written / 2) as f64 / RATE as f64);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
            }
        });
        Ok(Self {
            stop,
            feeder: Some(feeder),
        })
    }
}

impl Drop for KnownFileDevice {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(feeder) = self.feeder.take() {
            let _ = feeder.join();
        }
    }
}

/// The recording (16-bit PCM) begins with the known sine, sample for sample (±2 LSB).
pub fn assert_starts_with_known_audio(pcm: &[u8]) -> anyhow::Result<()> {
    let samples = (RATE * 2).min(pcm.len() / 2); // the first second
    anyhow::ensure!(
        samples == RATE * 2,
        "the recording holds less than a second"
    );
    for i in 0..samples {
        let saved = i16::from_le_bytes([pcm[2 * i], pcm[2 * i + 1]]);
        let expected = (known(i) * 32767.0).round() as i16;
        anyhow::ensure!(
            (i32::from(saved) - i32::from(expected)).abs() <= 2,
            "sample {i}: recorded {saved}, the device played {expected}"
        );
    }
    Ok(())
}
