//! `stream`: one live set from start to end — the source (device, tone, WAV or MP3 file), the
//! encoder thread, the uplink with its reconnections, the status line, Ctrl-C and the final report.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use crate::{
    api::Api,
    audio::{
        capture::{self, Capture},
        convert::Converter,
        paced,
        ring::{RingShared, SampleConsumer, sample_ring},
        wav::WavReader,
    },
    devices,
    error::CliError,
    listeners, mp3_input,
    pipeline::{Pipeline, PipelineReport, create_recording},
    session,
    status::{self, StatusMode},
    uplink::{Ended, Target, Uplink, queue::FrameQueue, stats::Stats},
};

/// PCM buffered between the audio callback and the encoder.
const RING: Duration = Duration::from_secs(2);
/// Encoded audio kept while the network stalls; older frames are dropped beyond this.
const QUEUE_SECONDS: usize = 5;
/// The rate and channels of the test tone.
const TONE_RATE: u32 = 48_000;

/// Where the audio comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Device(Option<String>),
    Input(PathBuf),
    Tone(f32),
}

pub struct StreamOptions {
    pub target: Target,
    pub source: Source,
    pub kbps: u32,
    pub save: Option<PathBuf>,
    pub quiet: bool,
    pub give_up_after: Duration,
}

/// A running source: what produces audio, and how to stop it.
struct Running {
    stop: Arc<AtomicBool>,
    ring: Option<Arc<RingShared>>,
    capture: Option<Capture>,
    pcm_thread: Option<JoinHandle<Result<(), String>>>,
    encoder: Option<JoinHandle<Result<PipelineReport, CliError>>>,
    mp3_thread: Option<JoinHandle<f64>>,
    input_path: PathBuf,
}

impl Running {
    /// Ends the input; what is buffered is still encoded and sent.
    fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ring) = &self.ring {
            ring.close();
        }
    }
}

pub async fn stream(api: Api, options: StreamOptions) -> Result<(), CliError> {
    let session = session::load(&api)?;
    let stats = Arc::new(Stats::new());
    let queue_bytes = options.kbps as usize * 125 * QUEUE_SECONDS;
    let queue = Arc::new(FrameQueue::new(queue_bytes, stats.clone()));
    let mut running = start_source(&options, queue.clone(), stats.clone())?;
    let api = Arc::new(api);
    let mode = StatusMode::detect(options.quiet);
    if mode != StatusMode::Quiet {
        eprintln!(
            "Streaming to {}{} (Ctrl-C ends the set).",
            api.base,
            options.target.path()
        );
    }
    let status = tokio::spawn(status::show(stats.clone(), mode));
    let listeners = tokio::spawn(listeners::follow(
        api.clone(),
        session.cookie.clone(),
        options.target,
        stats.clone(),
    ));
    let uplink = Uplink {
        api: &api,
        cookie: session.cookie.clone(),
        target: options.target,
        queue,
        stats: stats.clone(),
        give_up_after: options.give_up_after,
    };
    let (ended, device_lost) = supervise(&uplink, &running).await;
    running.stop();
    status.abort();
    listeners.abort();
    if mode == StatusMode::Line {
        eprintln!();
    }
    finish(&mut running, ended, device_lost, &stats, mode)
}

/// Runs the uplink while watching for Ctrl-C (or SIGTERM, from a service manager) and a lost device.
async fn supervise(
    uplink: &Uplink<'_>,
    running: &Running,
) -> (Result<Ended, CliError>, Option<String>) {
    use tokio::signal::unix::{SignalKind, signal};
    let upload = uplink.run();
    tokio::pin!(upload);
    // Registered once, so that no signal is missed between two turns of the loop.
    let (mut interrupt, mut terminate) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
        _ => return (Err(CliError::internal("cannot handle Ctrl-C")), None),
    };
    let mut check = tokio::time::interval(Duration::from_millis(100));
    let mut device_lost = None;
    loop {
        tokio::select! {
            ended = &mut upload => return (ended, device_lost),
            _ = interrupt.recv() => running.stop(),
            _ = terminate.recv() => running.stop(),
            _ = check.tick(), if device_lost.is_none() => {
                let lost = running.capture.as_ref().and_then(|c| c.lost.get().cloned());
                if lost.is_some() {
                    device_lost = lost;
                    running.stop();
                }
            }
        }
    }
}

fn start_source(
    options: &StreamOptions,
    queue: Arc<FrameQueue>,
    stats: Arc<Stats>,
) -> Result<Running, CliError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut running = Running {
        stop: stop.clone(),
        ring: None,
        capture: None,
        pcm_thread: None,
        encoder: None,
        mp3_thread: None,
        input_path: match &options.source {
            Source::Input(path) => path.clone(),
            _ => PathBuf::from("the tone"),
        },
    };
    let consumer = match &options.source {
        Source::Input(path) if is_wav(path) => {
            let file = std::fs::File::open(path).map_err(|e| CliError::input(path, e))?;
            let reader = WavReader::new(std::io::BufReader::new(file))
                .map_err(|reason| CliError::input(path, reason))?;
            let (producer, consumer) = sample_ring(reader.rate, reader.channels, RING);
            running.pcm_thread = Some(paced::spawn_paced(
                producer,
                stop,
                paced::wav_samples(reader),
            ));
            consumer
        }
        Source::Input(path) => {
            let frames = mp3_input::read_frames(path)?;
            running.mp3_thread = Some(mp3_input::spawn_paced(frames, queue, stop));
            return Ok(running);
        }
        Source::Tone(hz) => {
            let (producer, consumer) = sample_ring(TONE_RATE, 2, RING);
            let tone = paced::tone(*hz, TONE_RATE, 2);
            running.pcm_thread = Some(paced::spawn_paced(producer, stop, tone));
            consumer
        }
        Source::Device(name) => {
            let (capture, consumer) = capture::start(devices::find(name.as_deref())?, RING)?;
            eprintln!(
                "Capturing {}: {} Hz, {} channel(s), {}.",
                capture.device_name, capture.rate, capture.channels, capture.format
            );
            running.capture = Some(capture);
            consumer
        }
    };
    running.ring = Some(consumer.shared.clone());
    running.encoder = Some(start_encoder(options, consumer, queue, stats)?);
    Ok(running)
}

fn start_encoder(
    options: &StreamOptions,
    ring: SampleConsumer,
    queue: Arc<FrameQueue>,
    stats: Arc<Stats>,
) -> Result<JoinHandle<Result<PipelineReport, CliError>>, CliError> {
    let converter = Converter::new(ring.shared.rate, ring.shared.channels);
    let save = match &options.save {
        Some(path) => Some((
            path.clone(),
            create_recording(path, converter.out_rate, converter.out_channels as u16)?,
        )),
        None => None,
    };
    let pipeline = Pipeline {
        ring,
        kbps: options.kbps,
        save,
        queue,
        stats,
    };
    Ok(pipeline.spawn())
}

pub fn is_wav(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wav") || e.eq_ignore_ascii_case("wave"))
}

/// Waits for the source threads, prints the summary, and picks the outcome.
fn finish(
    running: &mut Running,
    ended: Result<Ended, CliError>,
    device_lost: Option<String>,
    stats: &Stats,
    mode: StatusMode,
) -> Result<(), CliError> {
    if let Some(capture) = running.capture.take() {
        let xruns = capture.xruns.load(Ordering::Relaxed);
        if xruns > 0 && mode != StatusMode::Quiet {
            eprintln!("The audio device reported {xruns} over- or underruns.");
        }
    }
    let input_error = running.pcm_thread.take().and_then(|t| t.join().ok()?.err());
    let mp3_secs = running.mp3_thread.take().and_then(|t| t.join().ok());
    let report = match running.encoder.take().map(|t| t.join()) {
        Some(Ok(report)) => Some(report?),
        Some(Err(_)) => return Err(CliError::Internal("The encoder thread failed.".into())),
        None => None,
    };
    let audio_secs = report
        .as_ref()
        .map(|r| r.encoded_secs)
        .or(mp3_secs)
        .unwrap_or(0.0);
    if mode != StatusMode::Quiet {
        eprintln!("{}", summary(stats, audio_secs, report.as_ref()));
    }
    match ended? {
        Ended::StoppedWhileOffline => {
            eprintln!("The server was unreachable when the set ended; the last audio was not sent.")
        }
        Ended::Finished(answer) if mode != StatusMode::Quiet => eprintln!(
            "The server received {} bytes in {} s.",
            answer["results"]["bytesReceived"].as_u64().unwrap_or(0),
            answer["results"]["durationSec"].as_u64().unwrap_or(0)
        ),
        Ended::Finished(_) => {}
    }
    if let Some(reason) = device_lost {
        return Err(CliError::DeviceLost(reason));
    }
    if let Some(reason) = input_error {
        return Err(CliError::Input {
            path: running.input_path.clone(),
            reason,
        });
    }
    match report.and_then(|r| r.save_error) {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

fn summary(stats: &Stats, audio_secs: f64, report: Option<&PipelineReport>) -> String {
    let latency = match (
        stats.latency_quantile_ms(0.5),
        stats.latency_quantile_ms(0.99),
    ) {
        (Some(p50), Some(p99)) => format!("; capture-to-socket latency p50 {p50} ms, p99 {p99} ms"),
        _ => String::new(),
    };
    let saved = match report.and_then(|r| r.saved_secs) {
        Some(secs) => format!("; saved {secs:.3} s"),
        None => String::new(),
    };
    format!(
        "Stream ended: {audio_secs:.3} s of audio, {} bytes sent, {} frames dropped{latency}{saved}.",
        stats.bytes_sent.load(Ordering::Relaxed),
        stats.frames_dropped.load(Ordering::Relaxed),
    )
}
