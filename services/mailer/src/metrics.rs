//! What the mailer reports on `/metrics`: mails sent, tries that will be retried (and why), jobs
//! dead-lettered. A rising retry rate with `cause="outage"` is the SMTP server (or Redis) being
//! unreachable; with `cause="deferred"` the server answering 4xx; dead letters need a human.

use std::sync::OnceLock;

use service_kit::metrics::{self, Counter, Family};

/// Why a job is put back to be tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryCause {
    /// The SMTP server answered 4xx: try again later.
    Deferred,
    /// The SMTP server or Redis could not be reached.
    Outage,
    /// The job was hopeless but the dead-letter queue could not take it.
    DeadLetterFailed,
}

impl RetryCause {
    fn label(self) -> &'static str {
        match self {
            Self::Deferred => "deferred",
            Self::Outage => "outage",
            Self::DeadLetterFailed => "dead_letter_failed",
        }
    }
}

pub struct MailMetrics {
    sent: Counter,
    duplicates: Counter,
    retried: Family<Vec<(&'static str, &'static str)>, Counter>,
    dead_lettered: Counter,
}

fn get() -> &'static MailMetrics {
    static METRICS: OnceLock<MailMetrics> = OnceLock::new();
    METRICS.get_or_init(|| MailMetrics {
        sent: metrics::counter("mail_sent", "Mails the SMTP server accepted"),
        duplicates: metrics::counter(
            "mail_duplicates_skipped",
            "Redelivered jobs not sent again because their mail was already sent",
        ),
        retried: metrics::counters(
            "mail_retried",
            "Tries that failed and will be retried, by cause (deferred, outage, dead_letter_failed)",
        ),
        dead_lettered: metrics::counter(
            "mail_dead_lettered",
            "Jobs put on the dead-letter queue (never sendable, or refused max_attempts times)",
        ),
    })
}

/// Registers the metrics now, so that they show (at 0) before the first job.
pub fn register() {
    let metrics = get();
    for cause in [
        RetryCause::Deferred,
        RetryCause::Outage,
        RetryCause::DeadLetterFailed,
    ] {
        let _ = metrics
            .retried
            .get_or_create(&vec![("cause", cause.label())]);
    }
}

pub fn sent() {
    get().sent.inc();
}

pub fn duplicate_skipped() {
    get().duplicates.inc();
}

pub fn retried(cause: RetryCause) {
    get()
        .retried
        .get_or_create(&vec![("cause", cause.label())])
        .inc();
}

pub fn dead_lettered() {
    get().dead_lettered.inc();
}
