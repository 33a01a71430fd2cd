//! Scheduling and editing: creating (with artwork), partial updates incl. publishing and hiding,
//! and deletion, which tells the owners of the broadcast's chat and recording through an event.

use livestreamer_proto::{
    broadcasts::{Broadcast, CreateBroadcastRequest, UpdateBroadcastRequest},
    events::{BroadcastDeleted, routing},
};
use service_kit::{clock::now_ms, internal_token::Caller};

use crate::{
    artwork::{self, Artwork},
    domain::{Description, Schedule, Title},
    error::BroadcastError,
    grpc::BroadcastsService,
    lifecycle::invalidate,
    repo::{self, Editable},
};

/// All three parsed, or every field error at once: the message names each invalid field.
fn all_valid<A, B, C>(
    a: Result<A, String>,
    b: Result<B, String>,
    c: Result<C, String>,
) -> Result<(A, B, C), BroadcastError> {
    match (a, b, c) {
        (Ok(a), Ok(b), Ok(c)) => Ok((a, b, c)),
        (a, b, c) => {
            let errors: Vec<String> = [a.err(), b.err(), c.err()].into_iter().flatten().collect();
            Err(BroadcastError::InvalidInput(errors.join("; ")))
        }
    }
}

fn parse_new(
    request: &CreateBroadcastRequest,
) -> Result<(Title, Description, Schedule), BroadcastError> {
    all_valid(
        Title::parse(&request.title),
        Description::parse(&request.description),
        Schedule::parse(request.start_at_ms, request.end_at_ms, now_ms()),
    )
}

async fn artwork_of(bytes: Option<Vec<u8>>) -> Result<Option<Artwork>, BroadcastError> {
    match bytes {
        Some(bytes) => artwork::reencode_blocking(bytes).await.map(Some),
        None => Ok(None),
    }
}

impl BroadcastsService {
    pub async fn create(
        &self,
        caller: &Caller,
        request: CreateBroadcastRequest,
    ) -> Result<Broadcast, BroadcastError> {
        let (title, description, schedule) = parse_new(&request)?;
        let artwork = artwork_of(request.artwork).await?;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let (user_id, username) = (caller.user_id, &caller.username);
        let mut broadcast =
            repo::insert(&tx, user_id, username, &title, &description, schedule).await?;
        if let Some(artwork) = &artwork {
            broadcast = repo::set_artwork(&tx, broadcast.broadcast_id, artwork).await?;
        }
        tx.commit().await?;
        invalidate(&self.cache).await;
        tracing::info!(broadcast_id = broadcast.broadcast_id, user_id, "scheduled");
        Ok(broadcast)
    }

    pub async fn update(
        &self,
        caller: &Caller,
        request: UpdateBroadcastRequest,
    ) -> Result<Broadcast, BroadcastError> {
        let title = request.title.as_deref().map(Title::parse).transpose();
        let description = request
            .description
            .as_deref()
            .map(Description::parse)
            .transpose();
        let artwork = artwork_of(request.artwork.clone()).await?;
        let id = request.broadcast_id;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let current = repo::lock_own(&tx, id, caller.user_id).await?;
        let was = Schedule {
            start_ms: current.start_at_ms,
            end_ms: current.end_at_ms,
        };
        let start = request.start_at_ms.filter(|s| *s != was.start_ms);
        let end = request.end_at_ms.filter(|e| *e != was.end_ms);
        if current.is_live && start.is_some() {
            return Err(BroadcastError::Conflict(
                "This broadcast is live: its startAt cannot change".to_owned(),
            ));
        }
        let schedule = Schedule::change(was, start, end, now_ms());
        let (title, description, schedule) = all_valid(title, description, schedule)?;
        let fields = Editable {
            title: title.as_ref().map_or(&current.title, |t| t.as_str()),
            description: description
                .as_ref()
                .map_or(&current.description, |d| d.as_str()),
            schedule,
            is_visible: request.is_visible.unwrap_or(current.is_visible),
        };
        let mut broadcast = repo::update(&tx, id, &fields).await?;
        if let Some(artwork) = &artwork {
            broadcast = repo::set_artwork(&tx, id, artwork).await?;
        }
        tx.commit().await?;
        invalidate(&self.cache).await;
        tracing::info!(broadcast_id = id, user_id = caller.user_id, "updated");
        Ok(broadcast)
    }

    /// Deletes the broadcast and publishes `broadcast.deleted` before committing: if the event
    /// cannot be stored, nothing is deleted and the caller may try again.
    pub async fn delete(&self, caller: &Caller, broadcast_id: i64) -> Result<(), BroadcastError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let deleted = repo::delete_own(&tx, broadcast_id, caller.user_id).await?;
        let event = BroadcastDeleted {
            broadcast_id,
            user_id: deleted.user_id,
            recording_url: deleted.recording_url,
        };
        self.publisher
            .publish(routing::BROADCAST_DELETED, &event)
            .await?;
        tx.commit().await?;
        if let Err(error) = self.live.forget(broadcast_id).await {
            tracing::warn!(%error, broadcast_id, "cannot forget a deleted broadcast's live state");
        }
        invalidate(&self.cache).await;
        tracing::info!(broadcast_id, user_id = caller.user_id, "deleted");
        Ok(())
    }
}
