//! `--input x.mp3`: an MP3 file passed through frame by frame, each frame released when its time
//! comes. No decoding and no re-encoding: the listeners get the file's own frames, cut on frame
//! boundaries by the relay's own splitter (tags and garbage skipped).

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use bytes::Bytes;
use livestreamer_mp3::{FrameHeader, FrameSplitter};

use crate::{
    error::CliError,
    pacing::Pacer,
    uplink::queue::{Frame, FrameQueue},
};

/// How far ahead of real time frames are released, so the relay never starves.
const LEAD: Duration = Duration::from_millis(500);

/// The frames of an MP3 file; an error if it holds none.
pub fn read_frames(path: &Path) -> Result<Vec<Bytes>, CliError> {
    let bytes = std::fs::read(path).map_err(|error| CliError::input(path, error))?;
    let mut splitter = FrameSplitter::new();
    splitter.push(&bytes);
    let mut frames = Vec::new();
    while let Some(frame) = splitter.next_frame() {
        frames.push(frame);
    }
    frames.extend(splitter.finish());
    if frames.is_empty() {
        return Err(CliError::input(
            path,
            "it holds no MPEG audio Layer III frames",
        ));
    }
    Ok(frames)
}

/// Plays `frames` into the queue in real time; closes the queue at the end or when stopped.
/// Returns the seconds of audio released.
pub fn spawn_paced(
    frames: Vec<Bytes>,
    queue: Arc<FrameQueue>,
    stop: Arc<AtomicBool>,
) -> JoinHandle<f64> {
    std::thread::Builder::new()
        .name("mp3-input".into())
        .spawn(move || {
            let pacer = Pacer::new(Instant::now(), LEAD);
            let mut position = Duration::ZERO;
            for bytes in frames {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                pacer.wait(position);
                position += FrameHeader::parse(&bytes).map_or(Duration::ZERO, |h| h.duration());
                queue.push(Frame {
                    bytes,
                    captured_at: Some(Instant::now()),
                });
            }
            queue.close();
            position.as_secs_f64()
        })
        .expect("a thread for the MP3 input")
}
