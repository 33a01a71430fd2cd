//! From whatever the device or file gives to what LAME takes: mono or stereo `f32` at an MPEG-1
//! sample rate (32, 44.1 or 48 kHz).
//!
//! Why here and not in LAME: LAME would silently pick a lower output rate for odd inputs, and we want
//! a predictable stream (same rate for the recording, the meter and the listeners). Devices with more
//! than two channels are reduced to their first two (front left and right). Other rates are resampled
//! by linear interpolation: cheap, and transparent enough for the 96 kHz → 48 kHz or 22.05 → 44.1 kHz
//! cases that occur in practice.

/// The sample rate LAME is given for an input rate.
pub fn lame_rate(input_rate: u32) -> u32 {
    match input_rate {
        32_000 | 44_100 | 48_000 => input_rate,
        rate if rate % 11_025 == 0 => 44_100,
        _ => 48_000,
    }
}

/// Channel reduction and resampling, with state carried across blocks.
#[derive(Debug)]
pub struct Converter {
    in_channels: usize,
    pub out_channels: usize,
    pub in_rate: u32,
    pub out_rate: u32,
    /// Position of the next output frame, in input frames, relative to `previous`.
    position: f64,
    step: f64,
    /// The last input frame of the previous block (interpolation needs one frame back).
    previous: [f32; 2],
    started: bool,
}

impl Converter {
    pub fn new(in_rate: u32, in_channels: u16) -> Self {
        let out_rate = lame_rate(in_rate);
        Self {
            in_channels: usize::from(in_channels.max(1)),
            out_channels: if in_channels == 1 { 1 } else { 2 },
            in_rate,
            out_rate,
            position: 0.0,
            step: f64::from(in_rate) / f64::from(out_rate),
            previous: [0.0; 2],
            started: false,
        }
    }

    /// Converts interleaved `input` and appends the result to `out` (interleaved), every sample
    /// finite and within -1..1 (LAME aborts the process on NaN or infinity).
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let start = out.len();
        self.convert(input, out);
        for sample in &mut out[start..] {
            *sample = if sample.is_finite() {
                sample.clamp(-1.0, 1.0)
            } else {
                0.0
            };
        }
    }

    fn convert(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let frames = input.chunks_exact(self.in_channels);
        if self.in_rate == self.out_rate {
            for frame in frames {
                out.extend_from_slice(&frame[..self.out_channels]);
            }
            return;
        }
        for frame in frames {
            let current = [frame[0], frame[self.out_channels - 1]];
            if !self.started {
                self.previous = current;
                self.started = true;
                continue;
            }
            // Output frames between `previous` (position 0) and `current` (position 1).
            while self.position < 1.0 {
                let t = self.position as f32;
                for (a, b) in self.previous.iter().zip(current).take(self.out_channels) {
                    out.push(a + (b - a) * t);
                }
                self.position += self.step;
            }
            self.position -= 1.0;
            self.previous = current;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpeg1_rates_pass_through_and_others_go_to_the_nearest_family() {
        assert_eq!(lame_rate(48_000), 48_000);
        assert_eq!(lame_rate(44_100), 44_100);
        assert_eq!(lame_rate(96_000), 48_000);
        assert_eq!(lame_rate(22_050), 44_100);
        assert_eq!(lame_rate(88_200), 44_100);
        assert_eq!(lame_rate(16_000), 48_000);
    }

    #[test]
    fn broken_samples_become_silence_and_loud_ones_are_clipped() {
        let mut converter = Converter::new(48_000, 2);
        let mut out = Vec::new();
        converter.process(&[f32::NAN, f32::INFINITY, 3.0, -7.5], &mut out);
        assert_eq!(out, [0.0, 0.0, 1.0, -1.0]);
    }

    #[test]
    fn many_channels_become_their_first_two_and_mono_stays_mono() {
        let mut surround = Converter::new(48_000, 4);
        let mut out = Vec::new();
        surround.process(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], &mut out);
        assert_eq!(out, [0.1, 0.2, 0.5, 0.6]);
        let mut mono = Converter::new(44_100, 1);
        out.clear();
        mono.process(&[0.1, 0.2], &mut out);
        assert_eq!((mono.out_channels, out.as_slice()), (1, &[0.1, 0.2][..]));
    }

    #[test]
    fn resampling_keeps_the_duration_and_the_frequency() {
        for (rate, expected_rate) in [(96_000u32, 48_000u32), (22_050, 44_100), (16_000, 48_000)] {
            let mut converter = Converter::new(rate, 2);
            let mut out = Vec::new();
            // One second of a 1 kHz sine, fed in blocks of odd sizes.
            let input: Vec<f32> = (0..rate)
                .flat_map(|i| {
                    let s = (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin();
                    [s, -s]
                })
                .collect();
            for block in input.chunks(2 * 333) {
                converter.process(block, &mut out);
            }
            let frames = out.len() / 2;
            let error = (frames as i64 - expected_rate as i64).abs();
            assert!(
                error <= i64::from(expected_rate / rate) + 2,
                "{rate} Hz gave {frames} frames, not {expected_rate}"
            );
            let left: Vec<f32> = out.iter().step_by(2).copied().collect();
            let crossings = left
                .windows(2)
                .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
                .count();
            assert!(
                (999..=1001).contains(&crossings),
                "{rate} Hz: {crossings} cycles"
            );
            assert!(
                out.chunks(2).all(|f| (f[0] + f[1]).abs() < 1e-6),
                "channels stay apart"
            );
        }
    }
}
