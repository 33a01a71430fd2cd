//! The DJ's command-line source client: sign in, then stream MP3 into a broadcast as a chunked PUT,
//! paced in real time, frame by frame.

mod api;
mod session;
mod stream;

use clap::{Parser, Subcommand};

pub use api::Api;

#[derive(Debug, Parser)]
#[command(
    name = "livestreamer-source",
    version,
    about = "Stream a live DJ set to LiveStreamer"
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
        /// Username or email; else $BROADCASTER_USERNAME, else asked.
        #[arg(long, env = "BROADCASTER_USERNAME")]
        username: Option<String>,
    },
    /// Sign out and forget the session.
    Logout,
    /// Show who you are signed in as.
    Whoami,
    /// Stream an MP3 file into one of your broadcasts, in real time.
    Stream {
        /// The broadcast to stream into (it must be scheduled for now).
        broadcast_id: u64,
        /// The MP3 file to stream; sent frame by frame at its own pace.
        #[arg(long)]
        input: std::path::PathBuf,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let api = Api::new(&cli.server)?;
    match cli.command {
        Command::Login { username } => session::login(&api, username).await,
        Command::Logout => session::logout(&api).await,
        Command::Whoami => session::whoami(&api).await,
        Command::Stream {
            broadcast_id,
            input,
        } => stream::stream_file(&api, broadcast_id, &input).await,
    }
}
