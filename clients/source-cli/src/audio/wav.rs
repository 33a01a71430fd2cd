//! WAV files: the recording of a set (`--save`) and PCM input files (`--input x.wav`).
//!
//! Why a writer of our own: a recording must stay a valid WAV whatever happens (Ctrl-C, the network
//! or the disk failing, the process killed). The header is written first with the sizes so far and
//! rewritten every second of audio and at the end, so a reader always finds a consistent file, at most
//! a second short. Samples are stored as 16-bit PCM, the format every tool reads.

use std::io::{self, Read, Seek, SeekFrom, Write};

const HEADER_LEN: u64 = 44;
const WAVE_FORMAT_PCM: u16 = 1;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 3;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// Writes 16-bit PCM, keeping the header's sizes current.
pub struct WavWriter<W: Write + Seek> {
    out: W,
    rate: u32,
    channels: u16,
    data_bytes: u64,
    unsynced_bytes: u64,
    sync_every: u64,
}

impl<W: Write + Seek> WavWriter<W> {
    pub fn new(mut out: W, rate: u32, channels: u16) -> io::Result<Self> {
        out.write_all(&header(rate, channels, 0))?;
        out.flush()?;
        Ok(Self {
            out,
            rate,
            channels,
            data_bytes: 0,
            unsynced_bytes: 0,
            sync_every: u64::from(rate) * u64::from(channels) * 2,
        })
    }

    /// Appends interleaved samples (clipped to -1..1); the header follows every second of audio.
    pub fn write(&mut self, samples: &[f32]) -> io::Result<()> {
        let mut bytes = [0u8; 512];
        for block in samples.chunks(bytes.len() / 2) {
            for (sample, slot) in block.iter().zip(bytes.chunks_exact_mut(2)) {
                let value = (sample.clamp(-1.0, 1.0) * 32767.0).round() as i16;
                slot.copy_from_slice(&value.to_le_bytes());
            }
            self.out.write_all(&bytes[..block.len() * 2])?;
        }
        let written = samples.len() as u64 * 2;
        self.data_bytes += written;
        self.unsynced_bytes += written;
        if self.unsynced_bytes >= self.sync_every {
            self.sync()?;
        }
        Ok(())
    }

    /// Rewrites the header with the sizes so far and puts the data on disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.out.flush()?;
        let end = self.out.stream_position()?;
        self.out.seek(SeekFrom::Start(0))?;
        self.out
            .write_all(&header(self.rate, self.channels, self.data_bytes))?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        self.unsynced_bytes = 0;
        Ok(())
    }

    /// The audio written so far, in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.data_bytes as f64 / (f64::from(self.rate) * f64::from(self.channels) * 2.0)
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.sync()?;
        Ok(self.out)
    }

    /// Makes the header match what reached the file, after a failed write: the sizes are taken
    /// from the file's length (in whole frames), so the file is valid even when the disk is full.
    pub fn repair(mut self) -> io::Result<W> {
        let end = self.out.seek(SeekFrom::End(0))?;
        let frame = u64::from(self.channels) * 2;
        self.data_bytes = (end.saturating_sub(HEADER_LEN) / frame) * frame;
        self.out.seek(SeekFrom::Start(0))?;
        self.out
            .write_all(&header(self.rate, self.channels, self.data_bytes))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

fn header(rate: u32, channels: u16, data_bytes: u64) -> [u8; HEADER_LEN as usize] {
    let data = u32::try_from(data_bytes).unwrap_or(u32::MAX - 36);
    let block_align = channels * 2;
    let mut h = [0u8; HEADER_LEN as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&WAVE_FORMAT_PCM.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data.to_le_bytes());
    h
}

/// The sample encodings a WAV input may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Int { bits: u16 },
    Float { bits: u16 },
}

/// A WAV input positioned at its audio: the format, and samples read on demand as `f32`.
pub struct WavReader<R: Read> {
    input: R,
    pub rate: u32,
    pub channels: u16,
    pub encoding: Encoding,
    remaining: u64,
}

impl<R: Read> WavReader<R> {
    /// Reads the chunks up to `data`; refuses what is not PCM or float audio.
    pub fn new(mut input: R) -> Result<Self, String> {
        let mut riff = [0u8; 12];
        input
            .read_exact(&mut riff)
            .map_err(|_| "too short for a WAV file")?;
        if &riff[0..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
            return Err("not a WAV file (no RIFF/WAVE header)".into());
        }
        let mut format = None;
        loop {
            let mut chunk = [0u8; 8];
            input.read_exact(&mut chunk).map_err(|_| "no data chunk")?;
            let size = u64::from(u32::from_le_bytes(chunk[4..8].try_into().unwrap()));
            match &chunk[0..4] {
                b"fmt " => {
                    let mut body = vec![0u8; size as usize + (size & 1) as usize];
                    input
                        .read_exact(&mut body)
                        .map_err(|_| "truncated fmt chunk")?;
                    format = Some(parse_format(&body)?);
                }
                b"data" => {
                    let (rate, channels, encoding) = format.ok_or("data before fmt")?;
                    // A header still saying 0 (a recording cut short) means "until the end".
                    let remaining = if size == 0 { u64::MAX } else { size };
                    return Ok(Self {
                        input,
                        rate,
                        channels,
                        encoding,
                        remaining,
                    });
                }
                _ => {
                    io::copy(&mut (&mut input).take(size + (size & 1)), &mut io::sink())
                        .map_err(|e| e.to_string())?;
                }
            }
        }
    }

    /// Fills `out` with samples as `f32` in -1..1; returns how many (0 at the end).
    pub fn read(&mut self, out: &mut [f32]) -> io::Result<usize> {
        let width = usize::from(self.bits() / 8);
        let mut raw = [0u8; 4096];
        let wanted = (out.len() * width).min(raw.len() - raw.len() % width);
        let wanted = wanted.min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let wanted = wanted - wanted % width;
        let mut got = 0;
        while got < wanted {
            match self.input.read(&mut raw[got..wanted])? {
                0 => break,
                n => got += n,
            }
        }
        let got = got - got % width;
        self.remaining = self.remaining.saturating_sub(got as u64);
        for (sample, bytes) in out.iter_mut().zip(raw[..got].chunks_exact(width)) {
            *sample = decode(self.encoding, bytes);
        }
        Ok(got / width)
    }

    fn bits(&self) -> u16 {
        match self.encoding {
            Encoding::Int { bits } | Encoding::Float { bits } => bits,
        }
    }
}

fn parse_format(body: &[u8]) -> Result<(u32, u16, Encoding), String> {
    if body.len() < 16 {
        return Err("truncated fmt chunk".into());
    }
    let u16_at = |at: usize| u16::from_le_bytes([body[at], body[at + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
    let bits = u16_at(14);
    if tag == WAVE_FORMAT_EXTENSIBLE && body.len() >= 26 {
        tag = u16_at(24); // the first two bytes of the sub-format GUID
    }
    let encoding = match (tag, bits) {
        (WAVE_FORMAT_PCM, 8 | 16 | 24 | 32) => Encoding::Int { bits },
        (WAVE_FORMAT_IEEE_FLOAT, 32 | 64) => Encoding::Float { bits },
        _ => {
            return Err(format!(
                "unsupported WAV encoding (format {tag}, {bits} bits)"
            ));
        }
    };
    if channels == 0 || rate == 0 {
        return Err("a WAV file without channels or sample rate".into());
    }
    Ok((rate, channels, encoding))
}

fn decode(encoding: Encoding, bytes: &[u8]) -> f32 {
    match (encoding, bytes) {
        (Encoding::Int { bits: 8 }, [b]) => (f32::from(*b) - 128.0) / 128.0,
        (Encoding::Int { bits: 16 }, [a, b]) => f32::from(i16::from_le_bytes([*a, *b])) / 32768.0,
        (Encoding::Int { bits: 24 }, [a, b, c]) => {
            (i32::from_le_bytes([0, *a, *b, *c]) >> 8) as f32 / 8_388_608.0
        }
        (Encoding::Int { .. }, [a, b, c, d]) => {
            i32::from_le_bytes([*a, *b, *c, *d]) as f32 / 2_147_483_648.0
        }
        (Encoding::Float { .. }, [a, b, c, d]) => f32::from_le_bytes([*a, *b, *c, *d]),
        (Encoding::Float { .. }, eight) => {
            f64::from_le_bytes(eight.try_into().unwrap_or([0; 8])) as f32
        }
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests;
