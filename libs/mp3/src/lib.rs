//! MP3 framing: the relay cuts the source's byte stream into whole MPEG audio Layer III frames.
//!
//! Why: every listener must start on a frame boundary (a decoder fed half a frame glitches or gives up),
//! and the burst, the queue limits and a resync after a lag all count in whole frames. The relay never
//! decodes audio; it only reads the 4-byte header of each frame, which tells the frame's length.
//!
//! A source may prepend an ID3v2 tag (ffmpeg and LAME do) or send garbage (a truncated first write, a
//! reconnect mid-frame). The splitter skips both: it looks for a header that parses *and* whose successor
//! header, one frame length later, parses too and belongs to the same stream, as decoders do. Once in
//! sync it follows the chain of headers and falls back to searching when the chain breaks.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

#[cfg(test)]
mod tests;

/// The MPEG version of a frame; Layer III is the only layer the relay accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Mpeg1,
    Mpeg2,
    /// The unofficial extension to very low sample rates, common in old streams.
    Mpeg25,
}

/// What a Layer III frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub version: Version,
    pub bitrate_kbps: u32,
    pub sample_rate: u32,
    pub padding: bool,
}

/// The bytes of a frame header.
pub const HEADER_LEN: usize = 4;

/// Kilobits per second by bitrate index; 0 is "free format" and 15 is reserved, both refused.
const BITRATES_MPEG1: [u32; 16] = [
    0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
];
const BITRATES_MPEG2: [u32; 16] = [
    0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0,
];
/// MPEG-1's rates; MPEG-2 halves them and MPEG-2.5 quarters them. Index 3 is reserved.
const SAMPLE_RATES_MPEG1: [u32; 3] = [44_100, 48_000, 32_000];

impl FrameHeader {
    /// Parses the header at the start of `bytes`; `None` unless it is a valid Layer III header.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        let &[b0, b1, b2, b3, ..] = bytes else {
            return None;
        };
        if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
            return None;
        }
        let version = match (b1 >> 3) & 0b11 {
            0b00 => Version::Mpeg25,
            0b10 => Version::Mpeg2,
            0b11 => Version::Mpeg1,
            _ => return None,
        };
        if (b1 >> 1) & 0b11 != 0b01 {
            return None;
        }
        let bitrates = if version == Version::Mpeg1 {
            &BITRATES_MPEG1
        } else {
            &BITRATES_MPEG2
        };
        let bitrate_kbps = bitrates[usize::from(b2 >> 4)];
        let base_rate = *SAMPLE_RATES_MPEG1.get(usize::from((b2 >> 2) & 0b11))?;
        if bitrate_kbps == 0 || b3 & 0b11 == 0b10 {
            return None;
        }
        let sample_rate = match version {
            Version::Mpeg1 => base_rate,
            Version::Mpeg2 => base_rate / 2,
            Version::Mpeg25 => base_rate / 4,
        };
        Some(Self {
            version,
            bitrate_kbps,
            sample_rate,
            padding: b2 & 0b10 != 0,
        })
    }

    /// Samples per channel in one frame.
    pub fn samples(&self) -> u32 {
        if self.version == Version::Mpeg1 {
            1152
        } else {
            576
        }
    }

    /// The whole frame's length in bytes, header included.
    pub fn frame_len(&self) -> usize {
        let bytes_per_sample_slot = self.samples() / 8;
        let len = bytes_per_sample_slot * self.bitrate_kbps * 1000 / self.sample_rate;
        len as usize + usize::from(self.padding)
    }

    /// How long the frame plays.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(u64::from(self.samples()) * 1_000_000 / u64::from(self.sample_rate))
    }

    /// Whether `other` can follow this frame in one stream (bitrate and padding may change).
    fn same_stream(&self, other: &Self) -> bool {
        self.version == other.version && self.sample_rate == other.sample_rate
    }
}

/// What the bytes at a position say about an ID3v2 tag.
#[derive(Debug, PartialEq, Eq)]
enum Id3 {
    NotATag,
    /// They could begin a tag; more bytes will tell.
    NeedMore,
    /// A tag of this total length (header, body and footer).
    Tag(usize),
}

/// Recognises an ID3v2 tag header: "ID3", version 2 to 4, no undefined flags, a syncsafe size.
fn id3v2(bytes: &[u8]) -> Id3 {
    const HEADER: usize = 10;
    let prefix = &bytes[..bytes.len().min(3)];
    if !b"ID3".starts_with(prefix) {
        return Id3::NotATag;
    }
    let Some(header) = bytes.get(..HEADER) else {
        return Id3::NeedMore;
    };
    let (version, flags, size) = (header[3], header[5], &header[6..10]);
    if !(2..=4).contains(&version)
        || header[4] == 0xFF
        || flags & 0x0F != 0
        || size.iter().any(|b| b & 0x80 != 0)
    {
        return Id3::NotATag;
    }
    let body = size
        .iter()
        .fold(0usize, |acc, b| (acc << 7) | usize::from(*b));
    let footer = if flags & 0x10 != 0 { HEADER } else { 0 };
    Id3::Tag(HEADER + body + footer)
}

/// What one step of the splitter found.
enum Step {
    Frame(Bytes),
    NeedMore,
    Continue,
}

/// Turns arbitrary chunks of an MP3 byte stream into whole frames, skipping tags and garbage.
///
/// Once in sync, a frame is passed on as soon as it is whole, when either the header after it confirms
/// where it ends or the bytes pushed so far end exactly there. Sources write whole frames (ffmpeg, LAME,
/// our CLI), so the second rule lets each frame through the moment it arrives instead of one frame
/// (26 ms at 44.1 kHz) later, which every listener would hear as lag; when more bytes are buffered the
/// successor is checked, so a frame truncated mid-stream is dropped. Memory stays bounded (one frame
/// plus a header). [`FrameSplitter::finish`] releases a last frame that is still held.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    buf: BytesMut,
    /// Bytes still to drop: the rest of an ID3 tag.
    skip: usize,
    /// The last frame's header, while the chain of headers holds.
    synced: Option<FrameHeader>,
    discarded: u64,
}

impl FrameSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next bytes of the stream; take the frames out with [`FrameSplitter::next_frame`].
    pub fn push(&mut self, chunk: &[u8]) {
        let skipped = self.skip.min(chunk.len());
        self.skip -= skipped;
        self.discarded += skipped as u64;
        self.buf.extend_from_slice(&chunk[skipped..]);
    }

    /// The next whole frame, header first, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            let step = if self.skip > 0 {
                self.skip_tag()
            } else if let Some(previous) = self.synced {
                self.follow(previous)
            } else {
                self.search()
            };
            match step {
                Step::Frame(frame) => return Some(frame),
                Step::NeedMore => return None,
                Step::Continue => {}
            }
        }
    }

    /// At the end of the stream: the last frame, which no successor can confirm, if it is whole and
    /// continues the chain. Whatever else is left is dropped.
    pub fn finish(&mut self) -> Option<Bytes> {
        let whole = self
            .synced
            .take()
            .and_then(|previous| FrameHeader::parse(&self.buf).filter(|h| h.same_stream(&previous)))
            .map(|header| header.frame_len())
            .filter(|len| self.buf.len() >= *len);
        let frame = whole.map(|len| self.buf.split_to(len).freeze());
        let rest = self.buf.len();
        self.discard(rest);
        self.skip = 0;
        frame
    }

    /// Bytes dropped so far: tags, garbage, broken frames.
    pub fn discarded(&self) -> u64 {
        self.discarded
    }

    /// Bytes held back, waiting to complete a frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    fn discard(&mut self, n: usize) {
        self.buf.advance(n);
        self.discarded += n as u64;
    }

    fn skip_tag(&mut self) -> Step {
        let n = self.skip.min(self.buf.len());
        self.discard(n);
        self.skip -= n;
        if self.skip > 0 {
            Step::NeedMore
        } else {
            Step::Continue
        }
    }

    /// In sync: the frame is passed on once it is whole and either the pushed bytes end exactly where it
    /// ends or the header after it confirms the end; a frame whose successor does not check out (a
    /// truncated frame, a reconnect mid-frame) is dropped by a new search.
    fn follow(&mut self, previous: FrameHeader) -> Step {
        if self.buf.len() < HEADER_LEN {
            return Step::NeedMore;
        }
        let Some(header) = FrameHeader::parse(&self.buf).filter(|h| h.same_stream(&previous))
        else {
            return self.lose_sync();
        };
        let len = header.frame_len();
        if self.buf.len() == len {
            self.synced = Some(header);
            return Step::Frame(self.buf.split().freeze());
        }
        if self.buf.len() < len + HEADER_LEN {
            return Step::NeedMore;
        }
        let next = &self.buf[len..];
        if FrameHeader::parse(next).is_some_and(|n| n.same_stream(&header))
            || next.starts_with(b"ID3")
        {
            self.synced = Some(header);
            Step::Frame(self.buf.split_to(len).freeze())
        } else {
            self.lose_sync()
        }
    }

    fn lose_sync(&mut self) -> Step {
        tracing::debug!("lost MP3 sync, searching");
        self.synced = None;
        Step::Continue
    }

    /// Out of sync: finds a tag to skip, or a header confirmed by the next one.
    fn search(&mut self) -> Step {
        let mut at = 0;
        while at < self.buf.len() {
            let rest = &self.buf[at..];
            match id3v2(rest) {
                Id3::Tag(len) => {
                    self.discard(at);
                    self.skip = len;
                    return Step::Continue;
                }
                Id3::NeedMore => break,
                Id3::NotATag => {}
            }
            if rest[0] == 0xFF {
                if rest.len() < HEADER_LEN {
                    break;
                }
                if let Some(header) = FrameHeader::parse(rest) {
                    let len = header.frame_len();
                    if rest.len() < len + HEADER_LEN {
                        break;
                    }
                    if FrameHeader::parse(&rest[len..])
                        .is_some_and(|next| next.same_stream(&header))
                    {
                        self.discard(at);
                        self.synced = Some(header);
                        return Step::Frame(self.buf.split_to(len).freeze());
                    }
                }
            }
            at += 1;
        }
        self.discard(at);
        Step::NeedMore
    }
}
