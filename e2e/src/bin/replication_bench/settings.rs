//! The command line: the servers and their pids, the B × R grid to run, the engines to compare and
//! for how long.

use anyhow::{Context, bail};

use crate::USAGE;

/// How the frames travel.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Redis,
    Amqp,
    AmqpConfirm,
}

impl Engine {
    fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "redis" => Self::Redis,
            "amqp" => Self::Amqp,
            "amqp-confirm" => Self::AmqpConfirm,
            _ => bail!("unknown engine {name:?}\n{USAGE}"),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Amqp => "amqp",
            Self::AmqpConfirm => "amqp-confirm",
        }
    }
}

pub struct Settings {
    pub redis_url: String,
    pub amqp_url: String,
    pub redis_pid: u32,
    pub rabbitmq_pid: u32,
    pub broadcasts: Vec<usize>,
    pub replicas: Vec<usize>,
    pub engines: Vec<Engine>,
    pub seconds: f64,
}

pub fn settings() -> anyhow::Result<Settings> {
    let mut args = std::collections::BTreeMap::new();
    let mut raw = std::env::args().skip(1);
    while let Some(key) = raw.next() {
        let name = key
            .strip_prefix("--")
            .with_context(|| format!("unexpected {key:?}\n{USAGE}"))?;
        let value = raw.next().with_context(|| format!("{key} needs a value"))?;
        args.insert(name.to_owned(), value);
    }
    let get = |name: &str, default: &str| args.get(name).cloned().unwrap_or(default.into());
    let need = |name: &str| args.get(name).cloned().with_context(|| USAGE.to_owned());
    let numbers = |name: &str, default: &str| -> anyhow::Result<Vec<usize>> {
        get(name, default)
            .split(',')
            .map(|n| n.parse().with_context(|| format!("--{name} {n:?}")))
            .collect()
    };
    Ok(Settings {
        redis_url: need("redis")?,
        amqp_url: need("amqp")?,
        redis_pid: need("redis-pid")?.parse()?,
        rabbitmq_pid: need("rabbitmq-pid")?.parse()?,
        broadcasts: numbers("broadcasts", "1,10,50")?,
        replicas: numbers("replicas", "1,3")?,
        engines: get("engines", "redis,amqp,amqp-confirm")
            .split(',')
            .map(Engine::parse)
            .collect::<anyhow::Result<_>>()?,
        seconds: get("seconds", "20").parse()?,
    })
}
