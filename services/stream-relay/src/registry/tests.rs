use livestreamer_proto::broadcasts::Broadcast;

use super::*;
use crate::channel::{Limits, LiveChannel, tests::channel};

#[test]
fn the_registry_finds_a_channel_by_id_and_username_until_removed() {
    let registry = Registry::<LiveChannel>::default();
    registry.insert(channel(0, 1 << 20)).unwrap();
    assert!(
        registry.insert(channel(0, 1 << 20)).is_err(),
        "a broadcast is live once"
    );
    assert_eq!(registry.get(7).map(|c| c.id()), Some(7));
    assert_eq!(
        registry.by_username("dj.owl").map(|c| c.id()),
        Some(7),
        "usernames ignore case"
    );
    assert!(registry.get(8).is_none());
    assert!(registry.remove(7).is_some());
    assert!(registry.get(7).is_none() && registry.by_username("DJ.Owl").is_none());
}

#[test]
fn a_users_second_live_broadcast_keeps_his_username_when_the_latest_ends() {
    let registry = Registry::<LiveChannel>::default();
    registry.insert(channel(0, 1 << 20)).unwrap();
    let other = Broadcast {
        broadcast_id: 8,
        username: "DJ.Owl".into(),
        ..Default::default()
    };
    registry
        .insert(LiveChannel::new(
            other,
            0,
            Limits {
                burst_bytes: 0,
                queue_bytes: 0,
            },
        ))
        .unwrap();
    assert_eq!(registry.by_username("dj.owl").map(|c| c.id()), Some(8));
    registry.remove(8);
    assert_eq!(registry.by_username("dj.owl").map(|c| c.id()), Some(7));
}
