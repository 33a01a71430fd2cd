//! The live broadcasts of this relay, by broadcast id and by (case-insensitive) username.
//!
//! Listeners find a stream by either key (`/api/v1/broadcasts/{id}/stream`, `/live/{username}`), and a
//! returning source finds the broadcast it left. Generic over what is registered so that the index
//! logic is tested on its own, without a whole live broadcast.

use std::{collections::HashMap, sync::Arc, sync::Mutex};

use crate::channel::lock;

#[cfg(test)]
mod tests;

/// What the registry indexes an entry by.
pub trait Registered {
    fn id(&self) -> i64;
    fn username(&self) -> &str;
}

/// The broadcast is already live in this relay.
#[derive(Debug, thiserror::Error)]
#[error("broadcast {0} is already live")]
pub struct AlreadyLive(pub i64);

#[derive(Debug)]
pub struct Registry<T> {
    index: Mutex<Index<T>>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Self {
            index: Mutex::new(Index {
                by_id: HashMap::new(),
                by_username: HashMap::new(),
            }),
        }
    }
}

#[derive(Debug)]
struct Index<T> {
    by_id: HashMap<i64, Arc<T>>,
    by_username: HashMap<String, i64>,
}

impl<T: Registered> Registry<T> {
    pub fn insert(&self, entry: Arc<T>) -> Result<(), AlreadyLive> {
        let mut index = lock(&self.index);
        let id = entry.id();
        if index.by_id.contains_key(&id) {
            return Err(AlreadyLive(id));
        }
        index
            .by_username
            .insert(entry.username().to_lowercase(), id);
        index.by_id.insert(id, entry);
        Ok(())
    }

    pub fn get(&self, broadcast_id: i64) -> Option<Arc<T>> {
        lock(&self.index).by_id.get(&broadcast_id).cloned()
    }

    /// What `username` streams now (the latest, should he stream twice at once).
    pub fn by_username(&self, username: &str) -> Option<Arc<T>> {
        let index = lock(&self.index);
        let id = index.by_username.get(&username.to_lowercase())?;
        index.by_id.get(id).cloned()
    }

    /// Every entry, for periodic work over all of them.
    pub fn all(&self) -> Vec<Arc<T>> {
        lock(&self.index).by_id.values().cloned().collect()
    }

    pub fn remove(&self, broadcast_id: i64) -> Option<Arc<T>> {
        let mut index = lock(&self.index);
        let entry = index.by_id.remove(&broadcast_id)?;
        let username = entry.username().to_lowercase();
        if index.by_username.get(&username) == Some(&broadcast_id) {
            let other = index
                .by_id
                .values()
                .find(|e| e.username().to_lowercase() == username)
                .map(|e| e.id());
            match other {
                Some(other) => index.by_username.insert(username, other),
                None => index.by_username.remove(&username),
            };
        }
        Some(entry)
    }
}
