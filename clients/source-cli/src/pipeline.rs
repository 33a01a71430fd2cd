//! The encoder thread: PCM from the ring → conversion → meter → recording → LAME → frame queue.
//!
//! Why a plain thread: LAME is CPU work that must never stall the async network code, and the ring
//! must be drained steadily whatever the network does. This thread may allocate and lock (the queue);
//! the audio callback on the other side of the ring does neither.

use std::{
    fs::File,
    io::BufWriter,
    path::PathBuf,
    sync::{Arc, atomic::Ordering},
    thread::JoinHandle,
    time::Duration,
};

use crate::{
    audio::{convert::Converter, meter::Meter, ring::SampleConsumer, wav::WavWriter},
    encode::{LAME_DELAY_SAMPLES, Mp3Encoder},
    error::CliError,
    uplink::{
        queue::{Frame, FrameQueue},
        stats::Stats,
    },
};

/// How often the ring is checked when it was empty.
const POLL: Duration = Duration::from_millis(2);

/// What the encoder thread reports when it ends.
#[derive(Debug, Default)]
pub struct PipelineReport {
    /// Seconds of audio encoded (and recorded).
    pub encoded_secs: f64,
    pub saved_secs: Option<f64>,
    /// Why saving stopped early (the stream went on without it).
    pub save_error: Option<CliError>,
}

pub struct Pipeline {
    pub ring: SampleConsumer,
    pub kbps: u32,
    pub save: Option<(PathBuf, WavWriter<BufWriter<File>>)>,
    pub queue: Arc<FrameQueue>,
    pub stats: Arc<Stats>,
}

/// Creates the recording next to nothing else: a header right away, so the file is valid from the
/// first second.
pub fn create_recording(
    path: &std::path::Path,
    rate: u32,
    channels: u16,
) -> Result<WavWriter<BufWriter<File>>, CliError> {
    let save_error = |error: std::io::Error| CliError::Save {
        path: path.to_owned(),
        reason: error.to_string(),
    };
    let file = File::create(path).map_err(save_error)?;
    WavWriter::new(BufWriter::with_capacity(1 << 16, file), rate, channels).map_err(save_error)
}

impl Pipeline {
    /// Runs until the ring is closed and drained, then flushes LAME and closes the queue.
    pub fn spawn(self) -> JoinHandle<Result<PipelineReport, CliError>> {
        std::thread::Builder::new()
            .name("encoder".into())
            .spawn(move || {
                let queue = self.queue.clone();
                let result = self.run();
                queue.close();
                result
            })
            .expect("a thread for the encoder")
    }

    fn run(mut self) -> Result<PipelineReport, CliError> {
        let shared = self.ring.shared.clone();
        let mut converter = Converter::new(shared.rate, shared.channels);
        let out_channels = converter.out_channels;
        let mut encoder = Mp3Encoder::new(converter.out_rate, out_channels, self.kbps)
            .map_err(CliError::internal)?;
        let mut meter = Meter::new(out_channels, converter.out_rate as usize / 10);
        let mut input = vec![0.0f32; shared.rate as usize / 10 * usize::from(shared.channels)];
        let mut converted = Vec::with_capacity(input.len());
        let (mut frames_in, mut frames_out) = (0u64, 0u64);
        let mut report = PipelineReport::default();
        loop {
            let n = self.ring.pop_into(&mut input);
            self.stats
                .samples_overrun
                .store(shared.overruns(), Ordering::Relaxed);
            if n == 0 {
                if shared.is_closed() && self.ring.pop_into(&mut input) == 0 {
                    break;
                }
                std::thread::sleep(POLL);
                continue;
            }
            frames_in += (n / usize::from(shared.channels)) as u64;
            converted.clear();
            converter.process(&input[..n], &mut converted);
            frames_out += (converted.len() / out_channels) as u64;
            if let Some(levels) = meter.add(&converted) {
                self.stats.set_levels(levels);
            }
            self.record(&converted, &mut report);
            let frames = encoder.encode(&converted).map_err(CliError::internal)?;
            // The newest audio in these frames is LAME's delay older than the newest input.
            let newest = frames_in.saturating_sub(
                LAME_DELAY_SAMPLES * u64::from(shared.rate) / u64::from(converter.out_rate),
            );
            let captured_at = Some(shared.captured_at(newest));
            for bytes in frames {
                self.queue.push(Frame { bytes, captured_at });
            }
        }
        for bytes in encoder.flush().map_err(CliError::internal)? {
            self.queue.push(Frame {
                bytes,
                captured_at: None,
            });
        }
        report.encoded_secs = frames_out as f64 / f64::from(converter.out_rate);
        self.finish_recording(&mut report);
        Ok(report)
    }

    /// Appends to the recording; on a write error (disk full) stops recording and repairs the header.
    fn record(&mut self, samples: &[f32], report: &mut PipelineReport) {
        let Some((path, writer)) = self.save.as_mut() else {
            return;
        };
        if let Err(error) = writer.write(samples) {
            let path = path.clone();
            let (_, writer) = self.save.take().expect("a recording");
            report.saved_secs = Some(writer.duration_secs());
            let _ = writer.repair();
            let error = CliError::Save {
                path,
                reason: error.to_string(),
            };
            eprintln!("\r\x1b[2K{error} Streaming goes on.");
            report.save_error = Some(error);
        }
    }

    fn finish_recording(&mut self, report: &mut PipelineReport) {
        let Some((path, writer)) = self.save.take() else {
            return;
        };
        report.saved_secs = Some(writer.duration_secs());
        if let Err(error) = writer.finish() {
            report.save_error = Some(CliError::Save {
                path,
                reason: error.to_string(),
            });
        }
    }
}
