//! MP3 encoding with LAME (in-process, CBR) and cutting its output into whole frames.
//!
//! Why whole frames: the send queue drops the oldest audio when the network stalls, and it must drop
//! whole frames so the relay and the listeners stay in sync. LAME emits whole frames (no ID3 tag or
//! Xing header here: a live stream has no length), so each frame's length comes from its header.

use bytes::{Bytes, BytesMut};
use livestreamer_mp3::FrameHeader;
use mp3lame_encoder::{
    Bitrate, Builder, Encoder, FlushGap, InterleavedPcm, Mode, MonoPcm, Quality,
};

/// The bitrates the CLI offers (kbps).
pub const BITRATES: [u32; 4] = [128, 192, 256, 320];

/// LAME's own delay, in samples: the encoder's look-ahead plus the decoder's (576 + 529).
pub const LAME_DELAY_SAMPLES: u64 = 1105;

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("LAME refused the settings: {0}")]
    Settings(String),
    #[error("LAME failed to encode: {0}")]
    Encode(String),
}

pub struct Mp3Encoder {
    lame: Encoder,
    channels: usize,
    output: Vec<u8>,
    pending: BytesMut,
}

impl Mp3Encoder {
    /// A CBR encoder for `channels` (1 or 2) at `rate` (an MPEG-1 rate) and `kbps`.
    pub fn new(rate: u32, channels: usize, kbps: u32) -> Result<Self, EncodeError> {
        let settings = |e: mp3lame_encoder::BuildError| EncodeError::Settings(e.to_string());
        let mut builder = Builder::new().ok_or(EncodeError::Settings("out of memory".into()))?;
        builder.set_num_channels(channels as u8).map_err(settings)?;
        builder.set_sample_rate(rate).map_err(settings)?;
        builder
            .set_output_sample_rate(std::num::NonZeroU32::new(rate))
            .map_err(settings)?;
        builder.set_brate(bitrate(kbps)).map_err(settings)?;
        builder
            .set_vbr_mode(mp3lame_encoder::VbrMode::Off)
            .map_err(settings)?;
        builder
            .set_mode(if channels == 1 {
                Mode::Mono
            } else {
                Mode::JointStereo
            })
            .map_err(settings)?;
        builder.set_quality(Quality::Good).map_err(settings)?;
        builder.set_to_write_vbr_tag(false).map_err(settings)?;
        Ok(Self {
            lame: builder.build().map_err(settings)?,
            channels,
            output: Vec::new(),
            pending: BytesMut::new(),
        })
    }

    /// Encodes interleaved samples; returns the whole frames that became ready.
    pub fn encode(&mut self, samples: &[f32]) -> Result<Vec<Bytes>, EncodeError> {
        let frames = samples.len() / self.channels;
        self.output.clear();
        self.output
            .reserve(mp3lame_encoder::max_required_buffer_size(frames));
        let result = if self.channels == 1 {
            self.lame.encode_to_vec(MonoPcm(samples), &mut self.output)
        } else {
            let whole = &samples[..frames * 2];
            self.lame
                .encode_to_vec(InterleavedPcm(whole), &mut self.output)
        };
        result.map_err(|e| EncodeError::Encode(e.to_string()))?;
        Ok(self.cut_frames())
    }

    /// Encodes what LAME still holds; the last frames of the stream.
    pub fn flush(&mut self) -> Result<Vec<Bytes>, EncodeError> {
        self.output.clear();
        self.output.reserve(7200);
        self.lame
            .flush_to_vec::<FlushGap>(&mut self.output)
            .map_err(|e| EncodeError::Encode(e.to_string()))?;
        Ok(self.cut_frames())
    }

    fn cut_frames(&mut self) -> Vec<Bytes> {
        self.pending.extend_from_slice(&self.output);
        let mut frames = Vec::new();
        while let Some(len) = FrameHeader::parse(&self.pending).map(|h| h.frame_len()) {
            if self.pending.len() < len {
                break;
            }
            frames.push(self.pending.split_to(len).freeze());
        }
        frames
    }
}

fn bitrate(kbps: u32) -> Bitrate {
    match kbps {
        192 => Bitrate::Kbps192,
        256 => Bitrate::Kbps256,
        320 => Bitrate::Kbps320,
        _ => Bitrate::Kbps128,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(frames: usize, channels: usize) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let s = (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 48_000.0).sin() * 0.5;
                std::iter::repeat_n(s, channels)
            })
            .collect()
    }

    #[test]
    fn one_second_becomes_whole_cbr_frames_at_the_asked_bitrate() {
        for (channels, kbps) in [(2, 128), (1, 192), (2, 320)] {
            let mut encoder = Mp3Encoder::new(48_000, channels, kbps).unwrap();
            let mut frames = Vec::new();
            for block in tone(48_000, channels).chunks(480 * channels) {
                frames.extend(encoder.encode(block).unwrap());
            }
            frames.extend(encoder.flush().unwrap());
            let headers: Vec<FrameHeader> = frames
                .iter()
                .map(|f| FrameHeader::parse(f).unwrap())
                .collect();
            assert!(
                headers
                    .iter()
                    .all(|h| h.bitrate_kbps == kbps && h.sample_rate == 48_000)
            );
            assert!(
                frames
                    .iter()
                    .zip(&headers)
                    .all(|(f, h)| f.len() == h.frame_len())
            );
            // 48000 samples + LAME's delay and padding: 42 frames of 1152 at least.
            assert!((42..=45).contains(&frames.len()), "{} frames", frames.len());
        }
    }
}
