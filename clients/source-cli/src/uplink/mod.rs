//! Sending the stream: one chunked `PUT` of `audio/mpeg` per connection, fed from the frame queue,
//! reconnected with backoff into the same broadcast when the network or the server fails.
//!
//! Why reconnect into the same broadcast: the relay keeps listeners connected for a grace period
//! after the source drops; coming back within it, they hear a short gap, not the end of the show.
//! A 4xx answer is final (it says what is wrong), except a 409 right after a drop: the relay may not
//! yet have noticed that the old connection is gone.

pub mod backoff;
pub mod queue;
pub mod stats;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;

use self::{
    backoff::Backoff,
    queue::FrameQueue,
    stats::{Connection, Stats},
};
use crate::{
    api::{Api, api_message, innermost_cause, status_error},
    error::CliError,
};

/// A connection that lasted this long counts as recovered: the backoff starts over.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);
/// After the last frame, how long the server may take to answer.
const FINAL_ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Where the audio goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Broadcast(u64),
    /// "Go live now": the broadcast scheduled for now, or a new one.
    Now,
}

impl Target {
    pub fn path(self) -> String {
        match self {
            Self::Broadcast(id) => format!("/api/v1/users/me/broadcasts/{id}/stream"),
            Self::Now => "/api/v1/users/me/stream".into(),
        }
    }
}

/// How the stream ended, when it ended well.
#[derive(Debug)]
pub enum Ended {
    /// The server took the last frame and answered with its summary.
    Finished(Value),
    /// The input ended or the user stopped while the server was unreachable.
    StoppedWhileOffline,
}

pub struct Uplink<'a> {
    pub api: &'a Api,
    pub cookie: String,
    pub target: Target,
    pub queue: Arc<FrameQueue>,
    pub stats: Arc<Stats>,
    /// How long the server may stay unreachable mid-stream before the CLI gives up.
    pub give_up_after: Duration,
}

/// What one connection attempt came to.
enum Attempt {
    Answered(StatusCode, String),
    Failed(CliError),
}

impl Uplink<'_> {
    pub async fn run(&self) -> Result<Ended, CliError> {
        let mut backoff = Backoff::new();
        let mut offline_since: Option<Instant> = None;
        let mut ever_connected = false;
        loop {
            let started = Instant::now();
            let polled = Arc::new(AtomicBool::new(false));
            let attempt = self.attempt(polled.clone()).await;
            let reconnecting = ever_connected;
            ever_connected |= polled.load(Ordering::Relaxed);
            let failure = match attempt {
                Attempt::Answered(status, body) if status.is_success() => {
                    if self.queue.is_closed() {
                        self.stats.set_connection(Connection::Ended);
                        return Ok(Ended::Finished(
                            serde_json::from_str(&body).unwrap_or_default(),
                        ));
                    }
                    CliError::ServerError(
                        "it closed the stream while audio was still coming.".into(),
                    )
                }
                Attempt::Answered(status, body) => {
                    let body_json = serde_json::from_str(&body).unwrap_or_default();
                    let error = status_error(status, &api_message(&body_json, &body));
                    let retryable = status.is_server_error()
                        || (reconnecting && status == StatusCode::CONFLICT);
                    if !retryable {
                        return Err(error);
                    }
                    error
                }
                Attempt::Failed(error) => error,
            };
            if self.queue.is_closed() {
                return Ok(Ended::StoppedWhileOffline);
            }
            if !ever_connected {
                return Err(failure);
            }
            if started.elapsed() >= HEALTHY_AFTER {
                backoff.reset();
                offline_since = None;
            }
            let offline = offline_since.get_or_insert_with(Instant::now);
            if offline.elapsed() > self.give_up_after {
                return Err(failure);
            }
            let delay = backoff.next_delay();
            self.stats.set_connection(Connection::Reconnecting);
            self.stats
                .retry_in_secs
                .store(delay.as_secs(), Ordering::Relaxed);
            eprintln!(
                "\r\x1b[2KConnection lost ({failure}); retrying in {} s.",
                delay.as_secs()
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.queue.closed() => return Ok(Ended::StoppedWhileOffline),
            }
        }
    }

    /// One `PUT` whose body is fed from the queue until it closes.
    async fn attempt(&self, polled: Arc<AtomicBool>) -> Attempt {
        let body = frame_stream(self.queue.clone(), self.stats.clone(), polled);
        let request = self
            .api
            .http
            .put(self.api.url(&self.target.path()))
            .header("cookie", &self.cookie)
            .header("content-type", "audio/mpeg")
            .body(reqwest::Body::wrap_stream(body))
            .send();
        let answer = async {
            let response = request.await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        };
        // Once the input has ended, the server has a bounded time to answer.
        let deadline = async {
            self.queue.closed().await;
            tokio::time::sleep(FINAL_ANSWER_WITHIN).await;
        };
        tokio::select! {
            answer = answer => match answer {
                Ok((status, body)) => Attempt::Answered(status, body),
                Err(error) => Attempt::Failed(self.network_failure(&error)),
            },
            () = deadline => Attempt::Failed(CliError::TooSlow(self.api.base.clone())),
        }
    }

    fn network_failure(&self, error: &reqwest::Error) -> CliError {
        if error.is_connect() {
            return self.api.network_error(error);
        }
        CliError::Unreachable {
            server: self.api.base.clone(),
            reason: innermost_cause(error),
        }
    }
}

/// The request body: frames from the queue as they come, counted as sent when taken.
fn frame_stream(
    queue: Arc<FrameQueue>,
    stats: Arc<Stats>,
    polled: Arc<AtomicBool>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures_util::stream::unfold((), move |()| {
        let (queue, stats, polled) = (queue.clone(), stats.clone(), polled.clone());
        async move {
            polled.store(true, Ordering::Relaxed);
            let frame = queue.next().await?;
            stats.set_connection(Connection::Streaming);
            stats.record_sent(frame.bytes.len(), frame.captured_at.map(|at| at.elapsed()));
            Some((Ok(frame.bytes), ()))
        }
    })
}

#[cfg(test)]
mod tests;
