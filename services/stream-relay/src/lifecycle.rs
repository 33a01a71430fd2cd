//! A live broadcast's life in this relay, from `stream.started` to `stream.ended`, in one task.
//!
//! Why one task: however the broadcast ends (the source finished, its grace period ran out, the relay
//! shuts down) the same steps run exactly once and in order: leave the registry, end the listeners'
//! bodies, complete the recording, then announce the end with the peak and where the recording is.
//! While live, the task reports this replica's listeners to Redis every second and publishes
//! `stream.stats` as [`crate::stats`] paces it.
//!
//! With several replicas, each one that holds the broadcast runs this task, whether it holds the source
//! (the owner) or mirrors it ([`crate::mirror`]). Only the owner announces: `stream.started` when it
//! went live here (not when it took a dropped source over from another replica), `stream.stats`, and
//! `stream.ended` once it released the broadcast in Redis ([`crate::ownership`]), so the end is
//! announced once however many replicas served it. Every second the owner refreshes its record
//! (learning so if another replica took its dropped source over) and a mirror checks that the record
//! still exists: it expires when the owner dies, and then the mirror ends too.

use std::{sync::Arc, time::Duration};

use livestreamer_proto::events::{StreamEnded, StreamStarted, StreamStats, routing};
use service_kit::clock::now_ms;
use tokio::time::{Instant, MissedTickBehavior};

use crate::{
    AppState,
    audience::Counts,
    events::{publish_lifecycle, publish_stats},
    live::Live,
    metrics, recording, stats,
};

const REPORT_EVERY: Duration = Duration::from_secs(1);

/// Runs `live` (already registered) until it ends, then closes and announces it.
pub async fn run(state: Arc<AppState>, live: Arc<Live>) {
    let started = StreamStarted {
        broadcast: Some(live.broadcast().clone()),
        started_at_ms: live.channel.started_at_ms(),
    };
    let publisher = state.publisher.clone();
    let went_live_here = live.is_owner();
    let announce = tokio::spawn(async move {
        if went_live_here {
            publish_lifecycle(&publisher, routing::STREAM_STARTED, &started).await;
        }
    });
    tokio::spawn(live.channel.clone().watch_listeners());
    metrics::broadcast_started();
    tracing::info!(broadcast_id = live.id(), "stream started");

    let mut pacer = stats::Pacer::default();
    let mut peak = 0u64;
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                keep_record(&state, &live).await;
                let counts = report(&state, &live, &mut pacer).await;
                peak = peak.max(counts.peak);
            }
            _ = live.ending() => break,
            _ = state.shutdown.requested() => break,
        }
    }
    state.registry.remove(live.id());
    metrics::broadcast_ended();
    live.channel.close();
    let recorded = live.finish_recording().await;
    let released = release(&state, &live).await;
    let _ = announce.await; // stream.ended must follow stream.started
    if !released {
        tracing::info!(broadcast_id = live.id(), "stream ended on this replica");
        return;
    }
    let on_disk = recording::size_of(&state.config.recordings_dir, live.id()).await;
    let recorded = recorded.max(on_disk); // other replicas may have recorded it
    let ended = ended_event(&live, peak, recorded);
    tracing::info!(
        broadcast_id = live.id(),
        peak = ended.listener_peak_count,
        recorded,
        "stream ended"
    );
    publish_lifecycle(&state.publisher, routing::STREAM_ENDED, &ended).await;
}

/// Reports this replica's listeners; publishes the counts over all replicas when they are due.
async fn report(state: &AppState, live: &Live, pacer: &mut stats::Pacer) -> Counts {
    let local = live.channel.listener_count();
    let counts = match state.audience.report(live.id(), local).await {
        Ok(counts) => counts,
        Err(error) => {
            tracing::debug!(broadcast_id = live.id(), %error, "counting this replica alone");
            Counts {
                current: local as u64,
                peak: live.channel.listener_peak() as u64,
            }
        }
    };
    let now = Instant::now();
    if live.is_owner() && pacer.due(counts, now) {
        let event = StreamStats {
            broadcast_id: live.id(),
            listener_count: counts.current as i64,
            listener_peak_count: counts.peak as i64,
            at_ms: now_ms(),
        };
        if publish_stats(&state.publisher, routing::STREAM_STATS, &event).await {
            pacer.published(counts, now);
        }
    }
    counts
}

/// The owner refreshes its ownership record; a mirror ends once the record is gone (its owner died).
async fn keep_record(state: &AppState, live: &Live) {
    let ownership = &state.replicas.ownership;
    if live.is_owner() {
        match live.refresh_record(ownership).await {
            Ok(true) => {}
            Ok(false) => live.disown(),
            Err(error) => tracing::debug!(broadcast_id = live.id(), %error, "record not refreshed"),
        }
    } else if let Ok(false) = ownership.exists(live.id()).await {
        tracing::info!(
            broadcast_id = live.id(),
            "the replica holding the source is gone"
        );
        live.end();
    }
}

/// Ends the broadcast on every replica if this one holds it; whether it did (and so announces it).
async fn release(state: &AppState, live: &Live) -> bool {
    if !live.is_owner() {
        return false;
    }
    let username = &live.broadcast().username;
    match state.replicas.ownership.release(live.id(), username).await {
        Ok(released) => released,
        Err(error) => {
            tracing::warn!(broadcast_id = live.id(), %error, "ending the broadcast without the other replicas");
            true
        }
    }
}

fn ended_event(live: &Live, peak: u64, recorded: u64) -> StreamEnded {
    let ended_at_ms = now_ms();
    let started_at_ms = live.channel.started_at_ms();
    let peak = peak.max(live.channel.listener_peak() as u64);
    let recording_url = if recorded > 0 {
        recording::url_of(live.id())
    } else {
        String::new()
    };
    StreamEnded {
        broadcast_id: live.id(),
        user_id: live.broadcast().user_id,
        started_at_ms,
        ended_at_ms,
        listener_peak_count: i64::try_from(peak).unwrap_or(i64::MAX),
        duration_sec: (ended_at_ms - started_at_ms).max(0) / 1000,
        bytes_received: i64::try_from(live.bytes_received()).unwrap_or(i64::MAX),
        recording_url,
    }
}
