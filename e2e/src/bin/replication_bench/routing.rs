//! Where the frames go, by name: the Redis burst lists and pub/sub channels under a prefix of the
//! benchmark's own, and the AMQP exchange and routing keys, so that a run touches nothing else on
//! the shared servers and can remove what it made.

pub const EXCHANGE: &str = "bench.replication";
const PREFIX: &str = "bench:replication:";

pub fn channel_of(broadcast: usize) -> String {
    format!("{PREFIX}frames:{broadcast}")
}

pub fn burst_of(broadcast: usize) -> String {
    format!("{PREFIX}burst:{broadcast}")
}

pub fn key_of(broadcast: usize) -> String {
    format!("frames.{broadcast}")
}
