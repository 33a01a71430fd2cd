//! A write loop's backlog: the frames it received, newest last, as long as some listener may still
//! need them. It is every listener's queue at once: a listener is a position in it (a frame and the
//! bytes of that frame already written), not a queue of his own, so a listener who keeps up costs a
//! few words of memory, and one who falls behind costs nothing more.
//!
//! The backlog holds `queue_bytes + burst_bytes` of audio: a newcomer starts at most `burst_bytes`
//! back, and a listener more than `queue_bytes` behind is dropped before his frames are forgotten.
//! Positions count the frames this loop received, not the channel's sequence numbers, so a loop that
//! missed frames (its ring overflowed) goes on without a hole in its own numbering.

use std::{collections::VecDeque, io::IoSlice};

use bytes::Bytes;

use super::Framing;

/// The end of an HTTP/1.1 chunk, after its data.
const CHUNK_END: &[u8] = b"\r\n";

/// One frame and its HTTP/1.1 chunk head (`{len:x}\r\n`), kept apart so that no frame is copied to
/// be framed: a chunked listener's `writev` takes the head, the frame and [`CHUNK_END`] as slices.
struct Entry {
    frame: Bytes,
    chunk_head: [u8; 18],
    chunk_head_len: u8,
    /// Audio bytes received by this loop up to and including this frame.
    end: u64,
}

impl Entry {
    fn new(frame: Bytes, end: u64) -> Self {
        let mut chunk_head = [0; 18];
        let head = format!("{:x}\r\n", frame.len());
        chunk_head[..head.len()].copy_from_slice(head.as_bytes());
        Self {
            chunk_head_len: head.len() as u8,
            chunk_head,
            frame,
            end,
        }
    }

    /// The entry's bytes on the wire, in the order they are written.
    fn parts(&self, framing: Framing) -> [&[u8]; 3] {
        match framing {
            Framing::Chunked => [
                &self.chunk_head[..self.chunk_head_len as usize],
                &self.frame,
                CHUNK_END,
            ],
            Framing::CloseDelimited => [&self.frame, &[], &[]],
        }
    }

    fn wire_len(&self, framing: Framing) -> usize {
        self.parts(framing).iter().map(|part| part.len()).sum()
    }
}

/// Where a listener is: the next entry to write and how much of it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub entry: u64,
    pub written: usize,
}

pub struct Backlog {
    entries: VecDeque<Entry>,
    /// The position of `entries[0]`.
    first: u64,
    /// Audio bytes received before `entries[0]`.
    start: u64,
    keep_bytes: u64,
}

impl Backlog {
    /// An empty backlog keeping `keep_bytes` of audio (at least the newest frame).
    pub fn new(keep_bytes: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            first: 0,
            start: 0,
            keep_bytes: keep_bytes as u64,
        }
    }

    /// Appends a frame and forgets the oldest beyond `keep_bytes`.
    pub fn push(&mut self, frame: Bytes) {
        let end = self.end() + frame.len() as u64;
        self.entries.push_back(Entry::new(frame, end));
        while self.entries.len() > 1 && end - self.start > self.keep_bytes {
            let oldest = self.entries.pop_front().expect("more than one entry");
            self.first += 1;
            self.start = oldest.end;
        }
    }

    /// Audio bytes received so far.
    fn end(&self) -> u64 {
        self.entries.back().map_or(self.start, |entry| entry.end)
    }

    /// The position after the newest frame: a listener there has everything.
    pub fn head(&self) -> Position {
        Position {
            entry: self.first + self.entries.len() as u64,
            written: 0,
        }
    }

    /// Where a newcomer starts: the newest whole frames, at most `burst_bytes` of them.
    pub fn burst_start(&self, burst_bytes: usize) -> Position {
        let mut entry = self.head().entry;
        let mut bytes = 0;
        for frame in self.entries.iter().rev() {
            bytes += frame.frame.len();
            if bytes > burst_bytes {
                break;
            }
            entry -= 1;
        }
        Position { entry, written: 0 }
    }

    /// Audio bytes between `at` and the newest frame; `None` when `at` was forgotten already.
    pub fn behind(&self, at: Position) -> Option<u64> {
        let index = at.entry.checked_sub(self.first)? as usize;
        let before = match index {
            0 => self.start,
            _ => self.entries.get(index - 1).map_or(self.end(), |e| e.end),
        };
        Some(self.end() - before)
    }

    /// Fills `out` with the unwritten bytes from `at` on, in order; how many slices it filled.
    pub fn slices<'a>(&'a self, at: Position, framing: Framing, out: &mut [IoSlice<'a>]) -> usize {
        let Some(index) = at.entry.checked_sub(self.first) else {
            return 0;
        };
        let mut skip = at.written;
        let mut filled = 0;
        for entry in self.entries.iter().skip(index as usize) {
            for part in entry.parts(framing) {
                if skip >= part.len() {
                    skip -= part.len();
                    continue;
                }
                if filled == out.len() {
                    return filled;
                }
                out[filled] = IoSlice::new(&part[skip..]);
                skip = 0;
                filled += 1;
            }
        }
        filled
    }

    /// The position `written` bytes of the wire after `at`; entries with nothing on the wire (the end
    /// of a close-delimited body) are passed as soon as they are reached.
    pub fn advance(&self, mut at: Position, framing: Framing, written: usize) -> Position {
        at.written += written;
        while let Some(entry) = at
            .entry
            .checked_sub(self.first)
            .and_then(|index| self.entries.get(index as usize))
        {
            let len = entry.wire_len(framing);
            if at.written < len {
                break;
            }
            at.written -= len;
            at.entry += 1;
        }
        at
    }
}

#[cfg(test)]
mod tests;
