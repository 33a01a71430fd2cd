//! A broadcast whose source streams into another relay replica, heard here: a local mirror.
//!
//! Why mirrors: the edge spreads listeners over the replicas, so a listener may arrive where the
//! source is not. The first such listener opens a mirror: a [`Live`] registered here like any other,
//! fed by this replica's one subscription to the broadcast's channel ([`crate::replication`]), so that
//! a frame costs one Redis message per replica, not per listener, and the existing fan-out
//! ([`crate::channel`]) serves every local listener. The subscription is made before the burst list is
//! read, and the burst goes into the mirror before anyone listens to it, so the first listener starts
//! on a recent whole frame like on the owner.
//!
//! The replica holding the source follows the same channel, to hear when another replica takes its
//! dropped source over (it then mirrors the new owner: its listeners stay connected). A mirror ends
//! when the owner announces the end, or when the ownership record expires (the owner died; see
//! [`crate::lifecycle`]).

use std::{pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{FutureExt, Stream, StreamExt};

use crate::{
    AppState, lifecycle,
    listen::Target,
    live::Live,
    replication::{Message, Replicas, Subscription},
};

/// After the subscription broke (Redis restarted), the pause before subscribing again.
const RESUBSCRIBE_PAUSE: Duration = Duration::from_millis(500);
/// The most frames published together (ten of ezstream's 4 KiB blocks).
const FRAMES_AT_ONCE: usize = 100;

type Messages = Pin<Box<dyn Stream<Item = Message> + Send>>;

/// What `target` names, live here or on another replica (then mirrored here from now on).
pub async fn find(state: &Arc<AppState>, target: &Target) -> Option<Arc<Live>> {
    let here = match target {
        Target::Broadcast(id) => state.registry.get(*id),
        Target::User(username) => state.registry.by_username(username),
    };
    if here.is_some() {
        return here;
    }
    let id = match target {
        Target::Broadcast(id) => *id,
        Target::User(username) => match state.replicas.ownership.id_of_user(username).await {
            Ok(id) => id?,
            Err(error) => {
                tracing::debug!(%error, "cannot look for the broadcast on other replicas");
                return None;
            }
        },
    };
    open(state, id).await
}

/// The local mirror of broadcast `id`, opened if needed; `None` when it is live nowhere.
pub async fn open(state: &Arc<AppState>, id: i64) -> Option<Arc<Live>> {
    if let Some(live) = state.registry.get(id) {
        return Some(live);
    }
    let replicas = &state.replicas;
    let record = match replicas.ownership.record(id).await {
        Ok(record) => record?,
        Err(error) => {
            tracing::debug!(broadcast_id = id, %error, "cannot look for the broadcast on other replicas");
            return None;
        }
    };
    let subscription = match replicas.subscribe(id).await {
        Ok(subscription) => subscription,
        Err(error) => {
            tracing::warn!(broadcast_id = id, %error, "cannot mirror the broadcast");
            return None;
        }
    };
    let live = Arc::new(Live::replicated(record, state, replicas.clone(), false));
    let Subscription { burst, messages } = subscription;
    live.mirror(&burst);
    if state.registry.insert(live.clone()).is_err() {
        return state.registry.get(id); // another listener opened it meanwhile
    }
    tracing::info!(
        broadcast_id = id,
        "mirroring the broadcast of another replica"
    );
    tokio::spawn(feed(live.clone(), replicas.clone(), messages));
    tokio::spawn(lifecycle::run(state.clone(), live.clone()));
    Some(live)
}

/// Follows the channel of a broadcast whose source streams here, to hear of a takeover.
pub async fn follow(state: Arc<AppState>, live: Arc<Live>) {
    let replicas = state.replicas.clone();
    match replicas.subscribe(live.id()).await {
        Ok(subscription) => {
            tokio::spawn(feed(live, replicas, subscription.messages));
        }
        Err(error) => {
            tracing::warn!(broadcast_id = live.id(), %error, "no other replica can take this source over")
        }
    }
}

/// Applies the channel's messages to `live` until it ends.
async fn feed(live: Arc<Live>, replicas: Replicas, mut messages: Messages) {
    // A message read with a frame's followers, not yet applied.
    let mut held = None;
    loop {
        let message = match held.take() {
            Some(message) => message,
            None => tokio::select! {
                message = messages.next() => message,
                _ = live.ending() => return,
            },
        };
        match message {
            Some(Message::Frame { seq, frame }) => {
                let mut frames = vec![(seq, frame)];
                held = take_ready_frames(&mut messages, &mut frames);
                live.mirror(&frames);
            }
            Some(Message::TakenOver { replica }) if replica != replicas.replica() => {
                tracing::info!(broadcast_id = live.id(), %replica, "the source went on elsewhere");
                live.disown();
            }
            Some(Message::TakenOver { .. }) => {}
            Some(Message::Ended) if !live.is_owner() => {
                live.end();
                return;
            }
            Some(Message::Ended) => {}
            None => match resubscribe(&live, &replicas).await {
                Some(again) => messages = again,
                None => return,
            },
        }
    }
}

/// Moves the frames that have already arrived into `frames`, and returns the first other message
/// that had (`Some(None)`: the subscription ended). The owner sends a source's read as a burst of
/// messages; published together, they reach listeners in one write rather than the first alone and
/// the rest a `RELAY_WRITE_EVERY_MS` later. At most [`FRAMES_AT_ONCE`], so that a flood cannot hold
/// the task.
fn take_ready_frames(
    messages: &mut Messages,
    frames: &mut Vec<(u64, Bytes)>,
) -> Option<Option<Message>> {
    while frames.len() < FRAMES_AT_ONCE {
        match messages.next().now_or_never()? {
            Some(Message::Frame { seq, frame }) => frames.push((seq, frame)),
            other => return Some(other),
        }
    }
    None
}

/// The subscription broke: subscribes again (the burst fills what was missed, if it can), until it
/// works or the broadcast ends.
async fn resubscribe(live: &Live, replicas: &Replicas) -> Option<Messages> {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(RESUBSCRIBE_PAUSE) => {}
            _ = live.ending() => return None,
        }
        match replicas.subscribe(live.id()).await {
            Ok(Subscription { burst, messages }) => {
                live.mirror(&burst);
                return Some(messages);
            }
            Err(error) => tracing::debug!(broadcast_id = live.id(), %error, "subscribing again"),
        }
    }
}

#[cfg(test)]
mod tests;
