//! The command line: `--name value` pairs, shared by the coordinator (`run`) and the worker processes
//! it spawns (`worker`), and the coordinator's [`Settings`] read from them, so that every default is
//! written once.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use e2e::bench::clock_ticks;

use crate::{USAGE, procfs::pid_of};

pub struct Opts(BTreeMap<String, String>);

impl Opts {
    pub fn parse(mut args: impl Iterator<Item = String>) -> anyhow::Result<Self> {
        let mut map = BTreeMap::new();
        while let Some(key) = args.next() {
            let Some(name) = key.strip_prefix("--") else {
                bail!("unexpected argument {key:?}\n{USAGE}");
            };
            let value = args
                .next()
                .with_context(|| format!("{key} needs a value"))?;
            map.insert(name.to_owned(), value);
        }
        Ok(Self(map))
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> anyhow::Result<T> {
        match self.str(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|_| anyhow::anyhow!("--{name} {raw:?} is not a number")),
        }
    }

    pub fn list(&self, name: &str) -> Vec<String> {
        self.str(name)
            .map(|s| {
                s.split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What the coordinator runs each hub with.
pub struct Settings {
    pub clients: usize,
    pub rate: f64,
    pub seconds: f64,
    pub per_process: usize,
    pub sources: usize,
    pub connect_rate: f64,
    pub settle_max: f64,
    pub drain: f64,
    pub ticks: u64,
    /// Other processes whose CPU is reported over each posting window (`--watch NAME=PID,...`).
    pub watch: Vec<(String, u32)>,
}

impl Settings {
    pub fn from_opts(opts: &Opts) -> anyhow::Result<Self> {
        let settings = Self {
            clients: opts.num("clients", 1000)?,
            rate: opts.num("rate", 10.0)?,
            seconds: opts.num("seconds", 30.0)?,
            per_process: opts.num("per-process", 2500)?,
            sources: opts.num("sources", 4)?,
            connect_rate: opts.num("connect-rate", 500.0)?,
            settle_max: opts.num("settle-max", 300.0)?,
            drain: opts.num("drain", 5.0)?,
            ticks: clock_ticks(),
            watch: opts
                .list("watch")
                .iter()
                .map(|w| {
                    let (name, pid) = w.split_once('=').context("--watch NAME=PID")?;
                    Ok((name.to_owned(), pid_of(pid)?))
                })
                .collect::<anyhow::Result<_>>()?,
        };
        anyhow::ensure!(
            (1..=25).contains(&settings.sources),
            "--sources between 1 and 25"
        );
        Ok(settings)
    }
}
