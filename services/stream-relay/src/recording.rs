//! Recording: every frame of a live broadcast is appended to `<recordings dir>/<broadcast id>.mp3`.
//!
//! Why a writer task per broadcast behind a bounded queue: the source's pump must never wait for a
//! disk, and a disk that stalls must not grow memory without bound. Frames are whole MP3 frames, so
//! the file is playable as it grows and complete when the broadcast ends; a broadcast that goes live
//! again (after a drop, or a second session) continues the same file. Frames that do not fit the queue
//! are dropped and counted, never blocking listeners.
//!
//! A recorder lives as long as one source's stream into one replica. A source that drops and returns
//! on another replica continues the file there, so the recordings folder is shared by all replicas (a
//! shared volume); the first writer is closed (flushed and synced) before the broadcast's record says
//! the source may return ([`crate::live`]), so two writers never append at once.

use std::{
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use bytes::Bytes;
use tokio::{
    io::AsyncWriteExt,
    sync::mpsc::{self, error::TrySendError},
    task::JoinHandle,
};

use crate::channel::lock;

#[cfg(test)]
mod tests;

/// About 100 s of 128 kbit/s audio may wait for the disk.
const QUEUE_FRAMES: usize = 4096;
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Where a broadcast's recording lives.
pub fn path_of(dir: &Path, broadcast_id: i64) -> PathBuf {
    dir.join(format!("{broadcast_id}.mp3"))
}

/// The public address of a broadcast's recording (served by the relay, see `playback`).
pub fn url_of(broadcast_id: i64) -> String {
    format!("/api/v1/broadcasts/{broadcast_id}/recording")
}

/// The size of a broadcast's recording; 0 when there is none.
pub async fn size_of(dir: &Path, broadcast_id: i64) -> u64 {
    let path = path_of(dir, broadcast_id);
    tokio::fs::metadata(path).await.map_or(0, |m| m.len())
}

/// Writes one broadcast's frames to its file.
#[derive(Debug)]
pub struct Recorder {
    frames: Mutex<Option<mpsc::Sender<Bytes>>>,
    writer: Mutex<Option<JoinHandle<u64>>>,
    dropped: AtomicU64,
}

impl Recorder {
    /// Starts the writer of `broadcast_id`'s recording in `dir` (created if missing).
    pub fn start(dir: &Path, broadcast_id: i64) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE_FRAMES);
        let path = path_of(dir, broadcast_id);
        let writer = tokio::spawn(write_frames(path, receiver));
        Self {
            frames: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues a frame for the file; never waits.
    pub fn write(&self, frame: Bytes) {
        let frames = lock(&self.frames);
        let Some(sender) = frames.as_ref() else {
            return;
        };
        if let Err(TrySendError::Full(_)) = sender.try_send(frame) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Frames the disk could not keep up with.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes what is queued, syncs the file and closes it. Returns the bytes written by this
    /// recorder (0: nothing recorded, or the folder is not writable).
    pub async fn finish(&self) -> u64 {
        lock(&self.frames).take();
        let writer = lock(&self.writer).take();
        match writer {
            Some(writer) => writer.await.unwrap_or(0),
            None => 0,
        }
    }
}

/// The writer task: appends frames in batches, flushing after each, until the queue closes.
async fn write_frames(path: PathBuf, mut frames: mpsc::Receiver<Bytes>) -> u64 {
    let mut file = match open_append(&path).await {
        Ok(file) => tokio::io::BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
        Err(error) => {
            tracing::error!(path = %path.display(), %error, "cannot record this broadcast");
            while frames.recv().await.is_some() {}
            return 0;
        }
    };
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(64);
    while frames.recv_many(&mut batch, 64).await > 0 {
        for frame in batch.drain(..) {
            if let Err(error) = file.write_all(&frame).await {
                tracing::error!(path = %path.display(), %error, "recording write failed");
                continue;
            }
            written += frame.len() as u64;
        }
        if let Err(error) = file.flush().await {
            tracing::error!(path = %path.display(), %error, "recording flush failed");
        }
    }
    if let Err(error) = file.get_ref().sync_all().await {
        tracing::warn!(path = %path.display(), %error, "recording sync failed");
    }
    written
}

async fn open_append(path: &Path) -> std::io::Result<tokio::fs::File> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
}
