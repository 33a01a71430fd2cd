//! Every way the CLI can fail, each with one clear sentence and its own exit code.
//!
//! Why: a DJ (or the script that starts the set) must tell "wrong password" from "the server is
//! down" from "the disk is full" without reading logs. The codes are stable and documented in
//! `--help` and the README; clap's own usage errors keep its code 2.

use std::path::PathBuf;

/// A failure of a command; `Display` is the one sentence shown to the user.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    WrongCredentials(String),
    #[error("{0}")]
    NotSignedIn(String),
    #[error("{0}")]
    BroadcastNotFound(String),
    #[error("{0}")]
    NotAllowedNow(String),
    #[error("{0}")]
    AlreadyLive(String),
    #[error("The server refused: {0}")]
    Refused(String),
    #[error("The server at {server} cannot be reached: {reason}.")]
    Unreachable { server: String, reason: String },
    #[error("The server at {0} did not answer in time.")]
    TooSlow(String),
    #[error("The server failed: {0}")]
    ServerError(String),
    #[error("{0}")]
    Device(String),
    #[error("The audio device stopped working mid-stream: {0}.")]
    DeviceLost(String),
    #[error("Cannot use {}: {reason}.", path.display())]
    Input { path: PathBuf, reason: String },
    #[error("Saving to {} failed ({reason}); the WAV file holds what was written before.", path.display())]
    Save { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Internal(String),
}

impl CliError {
    /// The process exit code of this failure class (0 is success, 2 is a usage error).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => 2,
            Self::WrongCredentials(_) => 3,
            Self::NotSignedIn(_) => 4,
            Self::BroadcastNotFound(_) => 5,
            Self::NotAllowedNow(_) => 6,
            Self::AlreadyLive(_) => 7,
            Self::Refused(_) => 8,
            Self::Unreachable { .. } => 9,
            Self::TooSlow(_) => 10,
            Self::ServerError(_) => 11,
            Self::Device(_) => 12,
            Self::DeviceLost(_) => 13,
            Self::Input { .. } => 14,
            Self::Save { .. } => 15,
            Self::Internal(_) => 1,
        }
    }

    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(format!("Unexpected failure: {error}."))
    }

    pub fn input(path: &std::path::Path, reason: impl std::fmt::Display) -> Self {
        Self::Input {
            path: path.to_owned(),
            reason: reason.to_string(),
        }
    }
}

/// The exit codes, as `--help` lists them.
pub const EXIT_CODES_HELP: &str = "\
Exit codes: 0 done (also after Ctrl-C), 1 unexpected failure, 2 bad arguments, 3 wrong credentials,
4 not signed in or session expired, 5 no such broadcast, 6 not allowed to stream now (outside the
broadcast's window), 7 already live, 8 refused by the server (other 4xx), 9 server unreachable,
10 server too slow, 11 server error (5xx), 12 audio device unknown or unusable, 13 audio device lost
mid-stream, 14 input file unusable, 15 saving the WAV failed (disk full).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_class_has_its_own_exit_code() {
        let all = [
            CliError::Internal(String::new()),
            CliError::Usage(String::new()),
            CliError::WrongCredentials(String::new()),
            CliError::NotSignedIn(String::new()),
            CliError::BroadcastNotFound(String::new()),
            CliError::NotAllowedNow(String::new()),
            CliError::AlreadyLive(String::new()),
            CliError::Refused(String::new()),
            CliError::Unreachable {
                server: String::new(),
                reason: String::new(),
            },
            CliError::TooSlow(String::new()),
            CliError::ServerError(String::new()),
            CliError::Device(String::new()),
            CliError::DeviceLost(String::new()),
            CliError::input(std::path::Path::new("x"), ""),
            CliError::Save {
                path: PathBuf::new(),
                reason: String::new(),
            },
        ];
        let mut codes: Vec<u8> = all.iter().map(CliError::exit_code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&0));
    }
}
