//! The DJ's command-line source client: sign in, schedule, list audio devices, and stream live —
//! captured from a device (or a test tone, or a WAV or MP3 file), encoded to MP3 in-process, sent as
//! a chunked PUT that survives network trouble, optionally recorded to a WAV file.

mod api;
mod audio;
mod devices;
mod encode;
pub mod error;
mod listeners;
mod mp3_input;
mod pacing;
mod pipeline;
mod schedule;
mod session;
mod status;
mod stream;
mod uplink;

use std::{path::PathBuf, time::Duration};

use clap::{Parser, Subcommand};

pub use api::Api;
pub use error::CliError;

#[derive(Debug, Parser)]
#[command(
    name = "livestreamer-source",
    version,
    about = "Stream a live DJ set to LiveStreamer",
    after_help = error::EXIT_CODES_HELP
)]
pub struct Cli {
    /// The platform's base URL.
    #[arg(
        long,
        global = true,
        env = "LIVESTREAMER_SERVER",
        default_value = "http://localhost:8080"
    )]
    pub server: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in and keep the session in your config folder (readable by you alone).
    Login {
        /// Username or email; else $BROADCASTER_USERNAME, else asked. The password comes from
        /// $BROADCASTER_PASSWORD or is asked without echo.
        #[arg(long, env = "BROADCASTER_USERNAME")]
        username: Option<String>,
    },
    /// Sign out and forget the session.
    Logout,
    /// Show who you are signed in as.
    Whoami,
    /// List the audio input devices (the default marked with *, monitor/loopback devices included).
    Devices,
    /// Schedule a broadcast; prints its id and page URL.
    Schedule(ScheduleArgs),
    /// Go live: capture, encode and stream until Ctrl-C (or the end of --input).
    #[command(after_help = error::EXIT_CODES_HELP)]
    Stream(StreamArgs),
}

#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// The title (5 to 70 characters).
    #[arg(long)]
    pub title: String,
    /// When it starts: now, +30m, "2026-12-01 20:00" (local time) or ISO-8601.
    #[arg(long)]
    pub start: String,
    /// When it ends: a time as for --start, or +2h (counted from the start).
    #[arg(long)]
    pub end: String,
    #[arg(long)]
    pub description: Option<String>,
    /// An image (JPEG, PNG or WebP, at most 10 MB).
    #[arg(long)]
    pub artwork: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("source").multiple(false))]
pub struct StreamArgs {
    /// The broadcast to stream into (scheduled for now); without it, go live now.
    pub broadcast_id: Option<u64>,
    /// The input device (see `devices`); default: the default input.
    #[arg(long, group = "source")]
    pub device: Option<String>,
    /// Stream a WAV or MP3 file in real time instead of a device (MP3 is passed through unchanged).
    #[arg(long, group = "source")]
    pub input: Option<PathBuf>,
    /// Stream a test tone of this frequency (Hz) instead of a device.
    #[arg(long, group = "source", value_parser = parse_tone)]
    pub tone: Option<f32>,
    /// MP3 bitrate in kbps (constant bitrate).
    #[arg(long, default_value_t = 128, value_parser = parse_bitrate)]
    pub bitrate: u32,
    /// Also record the PCM to this WAV file (valid even if the set ends abruptly).
    #[arg(long, value_parser = parse_wav_path)]
    pub save: Option<PathBuf>,
    /// No status line and no summary; errors only.
    #[arg(long, short)]
    pub quiet: bool,
    /// Give up after the server has been unreachable for this many seconds mid-stream.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub give_up_after: u64,
}

fn parse_bitrate(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(kbps) if encode::BITRATES.contains(&kbps) => Ok(kbps),
        _ => Err("the bitrate is one of 128, 192, 256, 320".into()),
    }
}

fn parse_tone(text: &str) -> Result<f32, String> {
    match text.parse::<f32>() {
        Ok(hz) if (20.0..=20_000.0).contains(&hz) => Ok(hz),
        _ => Err("the tone is a frequency from 20 to 20000 Hz".into()),
    }
}

fn parse_wav_path(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if stream::is_wav(&path) {
        Ok(path)
    } else {
        Err("the recording is a WAV file: give a name ending in .wav".into())
    }
}

impl StreamArgs {
    fn into_options(self) -> Result<stream::StreamOptions, CliError> {
        let source = match (self.device, self.input, self.tone) {
            (_, Some(path), _) => stream::Source::Input(path),
            (_, _, Some(hz)) => stream::Source::Tone(hz),
            (device, ..) => stream::Source::Device(device),
        };
        if let (stream::Source::Input(path), Some(_)) = (&source, &self.save)
            && !stream::is_wav(path)
        {
            return Err(CliError::Usage(
                "--save records PCM, and an MP3 --input is passed through without decoding: \
                 use a WAV input or no --save."
                    .into(),
            ));
        }
        Ok(stream::StreamOptions {
            target: self
                .broadcast_id
                .map_or(uplink::Target::Now, uplink::Target::Broadcast),
            source,
            kbps: self.bitrate,
            save: self.save,
            quiet: self.quiet,
            give_up_after: Duration::from_secs(self.give_up_after),
        })
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    if let Command::Devices = cli.command {
        return devices::list();
    }
    let api = Api::new(&cli.server)?;
    match cli.command {
        Command::Login { username } => session::login(&api, username).await,
        Command::Logout => session::logout(&api).await,
        Command::Whoami => session::whoami(&api).await,
        Command::Devices => unreachable!("handled above"),
        Command::Schedule(args) => {
            let request = schedule::Schedule {
                title: args.title,
                start: args.start,
                end: args.end,
                description: args.description,
                artwork: args.artwork,
            };
            schedule::schedule(&api, request).await
        }
        Command::Stream(args) => stream::stream(api, args.into_options()?).await,
    }
}

#[cfg(test)]
mod tests;
