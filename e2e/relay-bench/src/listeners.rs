//! One worker process's listeners: each connects at its turn of the arrival schedule from a loopback
//! address of its own, sends a plain `GET`, and reads until the end of the run, measuring as it goes.
//!
//! What a listener measures: time to first byte (from the start of its connect to the first byte of
//! the body), whether that byte begins a frame header, the live-edge lag (receive time minus the
//! source's send time) of every frame the source sent after the response head arrived (earlier
//! frames are the burst), gaps in the sequence numbers, and whether the server closed on it early
//! (then when, and how far behind the live edge it was). Half-speed listeners ([`crate::pace`]) are
//! reported apart.

use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    time::Duration,
};

use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

use crate::{
    frames,
    histogram::Histogram,
    pace::{self, Pace},
    response::Reader,
};

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
    /// The share of listeners that read at half speed ([`pace::is_slow`]).
    pub slow_share: f64,
    /// The half-speed listeners' `SO_RCVBUF` (the kernel doubles it), or 0 for the kernel's autotuning.
    pub slow_rcvbuf: u32,
}

/// The listeners of one or more workers: those that read at the stream's rate, and the half-speed ones.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Reports {
    pub steady: Report,
    pub slow: Report,
}

impl Reports {
    pub fn merge(&mut self, other: &Reports) {
        self.steady.merge(&other.steady);
        self.slow.merge(&other.slow);
    }
}

/// A listener whose connection ended before the run did.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Disconnect {
    /// Seconds from the start of its connect to the end of its connection.
    pub after_s: f64,
    /// How far behind the live edge it was then: the age of the last frame it had received, in seconds
    /// (at 16,000 B/s, one second is 16,000 bytes the server or the sockets still held for it).
    pub behind_s: f64,
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
    /// Every unintended disconnect, when and how far behind.
    #[serde(default)]
    pub disconnects: Vec<Disconnect>,
    /// For the listeners still connected at the end: the age of the last frame they had received.
    #[serde(default)]
    pub behind_at_end: Histogram,
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
        self.disconnects.extend_from_slice(&other.disconnects);
        self.behind_at_end.merge(&other.behind_at_end);
    }
}

/// Runs every listener of `plan` on this thread; their reports merged, steady and slow apart.
pub async fn run(plan: Plan) -> Reports {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let mut tasks = Vec::new();
            for k in 0..plan.listeners {
                let number = plan.first + k * plan.step;
                let plan = plan.clone();
                let slow = pace::is_slow(number, plan.slow_share);
                let task = tokio::task::spawn_local(listener(plan, number, slow));
                tasks.push((slow, task));
            }
            let mut total = Reports::default();
            for (slow, task) in tasks {
                if let Ok(report) = task.await {
                    let group = if slow {
                        &mut total.slow
                    } else {
                        &mut total.steady
                    };
                    group.merge(&report);
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

async fn connect(plan: &Plan, number: u64, slow: bool) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if slow && plan.slow_rcvbuf > 0 {
        // before the connect, so that the window offered in the handshake is already small
        socket.set_recv_buffer_size(plan.slow_rcvbuf)?;
    }
    let host = 2 + (number % plan.addresses) as u8;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::new(127, 0, 0, host),
        0,
    )))?;
    socket.connect(plan.server).await
}

async fn listener(plan: Plan, number: u64, slow: bool) -> Report {
    let mut report = Report {
        asked: 1,
        ..Report::default()
    };
    sleep_until_ns(plan.start_ns + (number as f64 * 1e9 / plan.rate) as u64).await;
    let began = frames::now_ns();
    let until = sleep_until_ns(plan.end_ns);
    tokio::pin!(until);
    let stream = tokio::select! {
        stream = connect(&plan, number, slow) => stream,
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
    let mut buf = vec![
        0u8;
        if slow {
            pace::SLOW_READ_BYTES
        } else {
            16 * 1024
        }
    ];
    let mut pace = slow.then(Pace::new);
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
                if let Some(pace) = &mut pace {
                    let next = sleep_until_ns(pace.after_read(n, frames::now_ns()));
                    tokio::select! {
                        _ = next => {}
                        _ = &mut until => break false,
                    }
                }
            }
        }
    };
    if reader.status_ok {
        report.connected = 1;
        let now = frames::now_ns();
        let behind_ns = reader
            .last_sent_ns
            .map_or(0, |sent| now.saturating_sub(sent));
        if ended_early {
            report.disconnected = 1;
            report.disconnects.push(Disconnect {
                after_s: now.saturating_sub(began) as f64 / 1e9,
                behind_s: behind_ns as f64 / 1e9,
            });
        } else {
            report.behind_at_end.record(behind_ns / 1_000);
        }
    } else {
        report.refused_status = 1;
    }
    report
}
