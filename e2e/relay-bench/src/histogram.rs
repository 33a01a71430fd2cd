//! A latency histogram in microseconds that merges across processes: 100 µs buckets up to 1 s, then
//! 10 ms buckets up to 61 s (anything later lands in the last one).

use serde::{Deserialize, Serialize};

const FINE: u64 = 10_000; // buckets of 100 µs below 1 s
const COARSE: u64 = 6_000; // buckets of 10 ms from 1 s to 61 s

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Histogram {
    /// Non-empty buckets only, as (bucket, count), when serialized.
    #[serde(with = "sparse")]
    counts: Vec<u64>,
    pub max_us: u64,
    pub total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; (FINE + COARSE) as usize],
            max_us: 0,
            total: 0,
        }
    }
}

impl Histogram {
    pub fn record(&mut self, us: u64) {
        let bucket = if us < FINE * 100 {
            us / 100
        } else {
            (FINE + (us - FINE * 100) / 10_000).min(FINE + COARSE - 1)
        };
        self.counts[bucket as usize] += 1;
        self.max_us = self.max_us.max(us);
        self.total += 1;
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.max_us = self.max_us.max(other.max_us);
        self.total += other.total;
    }

    /// The upper bound of the bucket holding quantile `q` (0..=1), in microseconds.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (bucket, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let bucket = bucket as u64;
                let upper = if bucket < FINE {
                    (bucket + 1) * 100
                } else {
                    FINE * 100 + (bucket - FINE + 1) * 10_000
                };
                return upper.min(self.max_us);
            }
        }
        self.max_us
    }
}

mod sparse {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{COARSE, FINE};

    pub fn serialize<S: Serializer>(counts: &[u64], serializer: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(usize, u64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(bucket, count)| (bucket, *count))
            .collect();
        pairs.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
        let pairs = Vec::<(usize, u64)>::deserialize(deserializer)?;
        let mut counts = vec![0; (FINE + COARSE) as usize];
        for (bucket, count) in pairs {
            if let Some(slot) = counts.get_mut(bucket) {
                *slot += count;
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_survive_a_round_trip_through_json() {
        let mut h = Histogram::default();
        for us in 1..=1000 {
            h.record(us * 1000); // 1 ms .. 1 s
        }
        let h: Histogram = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(h.total, 1000);
        assert_eq!(h.quantile_us(0.5), 500_100);
        assert!((990_000..=1_000_000).contains(&h.quantile_us(0.99)));
        assert_eq!(h.max_us, 1_000_000);
    }
}
