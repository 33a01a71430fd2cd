//! The level meter: peak and RMS in dBFS per channel over short windows, as DJs read them.
//!
//! Why in the encoder thread: the meter sees exactly what is encoded, after conversion, and costs
//! a multiply-add per sample there; the audio callback stays a plain copy.

/// The quietest level shown; digital silence reads as this.
pub const FLOOR_DBFS: f32 = -90.0;

/// Peak and RMS of the left and right channels (mono: both the same), in dBFS.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    pub peak: [f32; 2],
    pub rms: [f32; 2],
}

impl Default for Levels {
    fn default() -> Self {
        Self {
            peak: [FLOOR_DBFS; 2],
            rms: [FLOOR_DBFS; 2],
        }
    }
}

pub fn dbfs(amplitude: f32) -> f32 {
    if amplitude <= 0.0 {
        FLOOR_DBFS
    } else {
        (20.0 * amplitude.log10()).max(FLOOR_DBFS)
    }
}

/// Accumulates samples and yields [`Levels`] once per window.
#[derive(Debug)]
pub struct Meter {
    channels: usize,
    window: usize,
    frames: usize,
    peak: [f32; 2],
    squares: [f64; 2],
}

impl Meter {
    /// A meter over windows of `window` frames of `channels` (1 or 2) interleaved channels.
    pub fn new(channels: usize, window: usize) -> Self {
        Self {
            channels: channels.clamp(1, 2),
            window: window.max(1),
            frames: 0,
            peak: [0.0; 2],
            squares: [0.0; 2],
        }
    }

    /// Adds interleaved samples; returns the levels of the last window completed, if any.
    pub fn add(&mut self, samples: &[f32]) -> Option<Levels> {
        let mut done = None;
        for frame in samples.chunks_exact(self.channels) {
            for side in 0..2 {
                let s = frame[side.min(self.channels - 1)];
                self.peak[side] = self.peak[side].max(s.abs());
                self.squares[side] += f64::from(s * s);
            }
            self.frames += 1;
            if self.frames == self.window {
                done = Some(self.take());
            }
        }
        done
    }

    fn take(&mut self) -> Levels {
        let rms = |side: usize| ((self.squares[side] / self.frames as f64).sqrt()) as f32;
        let levels = Levels {
            peak: [dbfs(self.peak[0]), dbfs(self.peak[1])],
            rms: [dbfs(rms(0)), dbfs(rms(1))],
        };
        *self = Self::new(self.channels, self.window);
        levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_scale_sine_peaks_at_0_dbfs_with_rms_at_minus_3() {
        let mut meter = Meter::new(2, 4800);
        let samples: Vec<f32> = (0..4800)
            .flat_map(|i| {
                let s = (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 48_000.0).sin();
                [s, s * 0.1]
            })
            .collect();
        let levels = meter.add(&samples).expect("one window");
        assert!(levels.peak[0].abs() < 0.01, "{levels:?}");
        assert!((levels.rms[0] + 3.01).abs() < 0.05, "{levels:?}");
        assert!((levels.peak[1] + 20.0).abs() < 0.01, "{levels:?}");
        assert!((levels.rms[1] + 23.01).abs() < 0.05, "{levels:?}");
    }

    #[test]
    fn silence_reads_as_the_floor_and_mono_fills_both_sides() {
        let mut meter = Meter::new(1, 10);
        assert_eq!(meter.add(&[0.0; 9]), None);
        assert_eq!(meter.add(&[0.0]), Some(Levels::default()));
        let levels = meter.add(&[0.5; 10]).unwrap();
        assert_eq!(levels.peak[0], levels.peak[1]);
    }
}
