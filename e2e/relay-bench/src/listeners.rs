//! One worker process's listeners: each connects at its turn of the arrival schedule from a loopback
//! address of its own, sends a plain `GET`, and reads until the end of the run, measuring as it goes.
//!
//! What a listener measures: time to first byte (from the start of its connect to the first byte of
//! the body), whether that byte begins a frame header, the live-edge lag (receive time minus the
//! source's send time) of every frame the source sent after the response head arrived (earlier
//! frames are the burst), gaps in the sequence numbers, and whether the server closed on it early.

use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::{frames, histogram::Histogram};

/// What one worker was asked to do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub server: SocketAddr,
    pub path: String,
    /// Global numbers of this worker's listeners (listener `i` connects at `start + i / rate`).
    pub first: u64,
    pub step: u64,
    pub listeners: u64,
    pub rate: f64,
    /// Local addresses 127.0.0.2 .. 127.0.0.(1 + addresses): listener `i` uses number `i % addresses`.
    pub addresses: u64,
    pub start_ns: u64,
    pub end_ns: u64,
}

/// What the listeners of one or more workers saw.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Report {
    pub asked: u64,
    pub connected: u64,
    pub connect_failed: u64,
    pub refused_status: u64,
    /// Listeners whose connection ended before the run did.
    pub disconnected: u64,
    pub first_on_header: u64,
    pub first_mid_frame: u64,
    /// Times a listener's sequence jumped, and the frames thereby missed.
    pub gaps: u64,
    pub missed_frames: u64,
    /// Frames that did not follow the one before (their own header and marker not where expected).
    pub resyncs: u64,
    pub frames: u64,
    pub bytes: u64,
    pub ttfb: Histogram,
    pub lag: Histogram,
}

impl Report {
    pub fn merge(&mut self, other: &Report) {
        self.asked += other.asked;
        self.connected += other.connected;
        self.connect_failed += other.connect_failed;
        self.refused_status += other.refused_status;
        self.disconnected += other.disconnected;
        self.first_on_header += other.first_on_header;
        self.first_mid_frame += other.first_mid_frame;
        self.gaps += other.gaps;
        self.missed_frames += other.missed_frames;
        self.resyncs += other.resyncs;
        self.frames += other.frames;
        self.bytes += other.bytes;
        self.ttfb.merge(&other.ttfb);
        self.lag.merge(&other.lag);
    }
}

/// Runs every listener of `plan` on this thread; their reports merged.
pub async fn run(plan: Plan) -> Report {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let mut tasks = Vec::new();
            for k in 0..plan.listeners {
                let number = plan.first + k * plan.step;
                let plan = plan.clone();
                tasks.push(tokio::task::spawn_local(listener(plan, number)));
            }
            let mut total = Report::default();
            for task in tasks {
                if let Ok(report) = task.await {
                    total.merge(&report);
                }
            }
            total
        })
        .await
}

async fn sleep_until_ns(at_ns: u64) {
    let now = frames::now_ns();
    if at_ns > now {
        tokio::time::sleep(Duration::from_nanos(at_ns - now)).await;
    }
}

async fn connect(plan: &Plan, number: u64) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    let host = 2 + (number % plan.addresses) as u8;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(127, 0, 0, host),
        0,
    )))?;
    socket.connect(plan.server).await
}

async fn listener(plan: Plan, number: u64) -> Report {
    let mut report = Report {
        asked: 1,
        ..Report::default()
    };
    sleep_until_ns(plan.start_ns + (number as f64 * 1e9 / plan.rate) as u64).await;
    let began = frames::now_ns();
    let until = sleep_until_ns(plan.end_ns);
    tokio::pin!(until);
    let stream = tokio::select! {
        stream = connect(&plan, number) => stream,
        _ = &mut until => {
            report.connect_failed = 1;
            return report;
        }
    };
    let Ok(mut stream) = stream else {
        report.connect_failed = 1;
        return report;
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: relay-bench\r\nAccept: */*\r\n\r\n",
        plan.path, plan.server
    );
    if stream.write_all(request.as_bytes()).await.is_err() {
        report.connect_failed = 1;
        return report;
    }
    let mut reader = Reader::new(began);
    let mut buf = vec![0u8; 16 * 1024];
    let ended_early = loop {
        let read = tokio::select! {
            read = stream.read(&mut buf) => read,
            _ = &mut until => break false,
        };
        match read {
            Ok(0) | Err(_) => break true,
            Ok(n) => {
                if reader.feed(&buf[..n], &mut report).is_err() {
                    break true;
                }
            }
        }
    };
    if reader.status_ok {
        report.connected = 1;
        if ended_early {
            report.disconnected = 1;
        }
    } else {
        report.refused_status = 1;
    }
    report
}

/// Turns the bytes of one response into measurements: head, optional chunked framing, frames.
struct Reader {
    began_ns: u64,
    head: Vec<u8>,
    in_body: bool,
    status_ok: bool,
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
}

#[derive(Debug)]
struct BadResponse;

impl Reader {
    fn new(began_ns: u64) -> Self {
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
        }
    }

    fn feed(&mut self, mut data: &[u8], report: &mut Report) -> Result<(), BadResponse> {
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
