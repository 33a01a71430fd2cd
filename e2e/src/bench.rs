//! What the on-demand benchmarks (`src/bin/*_bench.rs`, BENCHMARKS.md) measure the same way: delivery
//! times in a histogram, and a process's CPU time from /proc.

use std::{
    process::Command,
    time::{SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};

/// Log-linear histogram of microseconds: exact below 128, then 64 buckets per power of two (1.6 %).
pub struct Histogram(Vec<u64>);

const SUB: u64 = 64;

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Self {
        Self(vec![0; (SUB * SUB) as usize])
    }

    fn bucket(value: u64) -> usize {
        if value < 2 * SUB {
            return value as usize;
        }
        let shift = 63 - u64::from(value.leading_zeros()) - 6;
        ((shift * SUB + (value >> shift)) as usize).min((SUB * SUB) as usize - 1)
    }

    /// The middle of a bucket.
    fn value(bucket: usize) -> u64 {
        let b = bucket as u64;
        if b < 2 * SUB {
            return b;
        }
        let shift = b / SUB - 1;
        ((b % SUB + SUB) << shift) + (1 << shift) / 2
    }

    pub fn record(&mut self, micros: u64) {
        self.0[Self::bucket(micros)] += 1;
    }

    /// Adds `other`'s values to these.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            *mine += theirs;
        }
    }

    pub fn count(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The value at quantile `q` (0..=1), in microseconds.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (bucket, count) in self.0.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(Self::value(bucket));
            }
        }
        None
    }

    pub fn to_sparse(&self) -> Value {
        json!(
            self.0
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(b, c)| [b as u64, *c])
                .collect::<Vec<_>>()
        )
    }

    pub fn add_sparse(&mut self, sparse: &Value) {
        for pair in sparse.as_array().into_iter().flatten() {
            if let (Some(b), Some(c)) = (pair[0].as_u64(), pair[1].as_u64()) {
                let last = self.0.len() - 1;
                self.0[(b as usize).min(last)] += c;
            }
        }
    }
}

pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

// --- /proc -------------------------------------------------------------------------------------------

pub fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// utime + stime of a process, in microseconds.
pub fn cpu_us(pid: u32, ticks: u64) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (tick(11) + tick(12)) * 1_000_000 / ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_monotonic_and_close() {
        let mut last = 0;
        for v in [
            0, 1, 127, 128, 129, 255, 256, 1000, 12_345, 1_000_000, 60_000_000,
        ] {
            let b = Histogram::bucket(v);
            assert!(b >= last, "{v}");
            last = b;
            let mid = Histogram::value(b);
            assert!(
                mid.abs_diff(v) as f64 <= v as f64 * 0.016 + 1.0,
                "{v} -> {mid}"
            );
        }
        let mut h = Histogram::new();
        (1..=100).for_each(|v| h.record(v * 1000));
        let near = |q: f64, want: u64| {
            let got = h.quantile(q).unwrap();
            assert!(
                got.abs_diff(want) as f64 <= want as f64 * 0.016,
                "{q}: {got} vs {want}"
            );
        };
        near(0.5, 50_000);
        near(0.99, 99_000);
    }
}
