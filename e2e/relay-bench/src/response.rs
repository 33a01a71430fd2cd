//! One listener's response, byte by byte: the head, hyper's chunked framing when present, then the
//! frames of the synthetic stream ([`crate::frames`]), each turned into the measurements of
//! [`Report`]: time to first byte, first byte on a header, live-edge lag, gaps, resyncs.

use crate::{frames, listeners::Report};

/// Turns the bytes of one response into measurements: head, optional chunked framing, frames.
pub(crate) struct Reader {
    began_ns: u64,
    head: Vec<u8>,
    in_body: bool,
    pub(crate) status_ok: bool,
    /// Chunked framing (hyper's answer to HTTP/1.1): bytes left in the current chunk, or `None`
    /// while a chunk-size line is being read.
    chunked: bool,
    chunk_left: Option<usize>,
    size_line: Vec<u8>,
    /// Body bytes not yet cut into frames.
    pending: Vec<u8>,
    head_at_ns: u64,
    first_seen: bool,
    synced: bool,
    last_seq: Option<u64>,
    /// When the source sent the last frame read.
    pub(crate) last_sent_ns: Option<u64>,
}

#[derive(Debug)]
pub(crate) struct BadResponse;

impl Reader {
    pub(crate) fn new(began_ns: u64) -> Self {
        Self {
            began_ns,
            head: Vec::new(),
            in_body: false,
            status_ok: false,
            chunked: false,
            chunk_left: None,
            size_line: Vec::new(),
            pending: Vec::with_capacity(4096),
            head_at_ns: 0,
            first_seen: false,
            synced: false,
            last_seq: None,
            last_sent_ns: None,
        }
    }

    pub(crate) fn feed(&mut self, mut data: &[u8], report: &mut Report) -> Result<(), BadResponse> {
        let now = frames::now_ns();
        report.bytes += data.len() as u64;
        if !self.in_body {
            self.head.extend_from_slice(data);
            let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                return if self.head.len() > 64 * 1024 {
                    Err(BadResponse)
                } else {
                    Ok(())
                };
            };
            let head = String::from_utf8_lossy(&self.head[..end]).to_ascii_lowercase();
            let status = head.split_whitespace().nth(1).unwrap_or("");
            if status != "200" {
                return Err(BadResponse);
            }
            self.status_ok = true;
            self.chunked = head.contains("transfer-encoding: chunked");
            self.in_body = true;
            self.head_at_ns = now;
            let rest = self.head.split_off(end + 4);
            self.head = Vec::new();
            return self.body(&rest, now, report);
        }
        if !self.chunked {
            return self.body(data, now, report);
        }
        while !data.is_empty() {
            match self.chunk_left {
                Some(0) => {
                    // the CRLF after a chunk's data
                    self.size_line.push(data[0]);
                    data = &data[1..];
                    if self.size_line.ends_with(b"\r\n") {
                        self.size_line.clear();
                        self.chunk_left = None;
                    }
                }
                Some(left) => {
                    let n = left.min(data.len());
                    let (chunk, rest) = data.split_at(n);
                    self.frames(chunk, now, report);
                    self.chunk_left = Some(left - n);
                    data = rest;
                }
                None => {
                    self.size_line.push(data[0]);
                    data = &data[1..];
                    if self.size_line.ends_with(b"\r\n") {
                        let line = String::from_utf8_lossy(&self.size_line);
                        let size = line.trim().split(';').next().unwrap_or("");
                        let size = usize::from_str_radix(size, 16).map_err(|_| BadResponse)?;
                        self.size_line.clear();
                        if size == 0 {
                            return Err(BadResponse); // the body ended
                        }
                        self.chunk_left = Some(size);
                    } else if self.size_line.len() > 64 {
                        return Err(BadResponse);
                    }
                }
            }
        }
        Ok(())
    }

    fn body(&mut self, data: &[u8], now: u64, report: &mut Report) -> Result<(), BadResponse> {
        if self.chunked {
            // The head's read may have carried the start of the chunked body: run it through.
            self.in_body = true;
            let data = data.to_vec();
            report.bytes -= data.len() as u64; // counted once, in `feed` below
            return self.feed(&data, report);
        }
        self.frames(data, now, report);
        Ok(())
    }

    fn frames(&mut self, data: &[u8], now: u64, report: &mut Report) {
        if data.is_empty() {
            return;
        }
        self.pending.extend_from_slice(data);
        if !self.first_seen && self.pending.len() >= 4 {
            self.first_seen = true;
            report
                .ttfb
                .record(now.saturating_sub(self.began_ns) / 1_000);
            if livestreamer_mp3::FrameHeader::parse(&self.pending).is_some() {
                report.first_on_header = 1;
            } else {
                report.first_mid_frame = 1;
            }
        }
        let mut at = 0;
        loop {
            if !self.synced {
                match frames::find(&self.pending[at..]) {
                    Some(offset) => {
                        at += offset;
                        self.synced = true;
                    }
                    None => {
                        // keep a possible frame start that is still incomplete
                        at = self.pending.len().saturating_sub(frames::FRAME_LEN);
                        break;
                    }
                }
            }
            if self.pending.len() - at < frames::FRAME_LEN {
                break;
            }
            match frames::read(&self.pending[at..]) {
                Some((seq, sent_ns)) => {
                    report.frames += 1;
                    if let Some(last) = self.last_seq
                        && seq != last + 1
                    {
                        report.gaps += 1;
                        report.missed_frames += seq.saturating_sub(last + 1);
                    }
                    self.last_seq = Some(seq);
                    self.last_sent_ns = Some(sent_ns);
                    if sent_ns >= self.head_at_ns {
                        report.lag.record(now.saturating_sub(sent_ns) / 1_000);
                    }
                    at += frames::FRAME_LEN;
                }
                None => {
                    report.resyncs += 1;
                    self.synced = false;
                    at += 1;
                }
            }
        }
        self.pending.drain(..at);
    }
}
