//! The two servers under test, each as a [`Hub`]: where its clients connect, which processes are
//! measured, how it is posted to. LiveStreamer needs a DJ's broadcast and signed-up posters first; the
//! Node hub has one fixed room.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use e2e::Platform;

use crate::{
    options::{Opts, Settings},
    poster::Poster,
    procfs::pid_of,
};

pub struct Hub {
    pub name: &'static str,
    pub ws_urls: Vec<String>,
    pub pids: Vec<u32>,
    pub poster: Arc<Poster>,
}

/// LiveStreamer, then the Node hub, less the one `--only` leaves out.
pub async fn hubs(opts: &Opts, settings: &Settings) -> anyhow::Result<Vec<Hub>> {
    let only = opts.str("only").unwrap_or("both");
    let mut hubs = Vec::new();
    if only != "node" {
        hubs.push(ours(opts, settings).await?);
    }
    if only != "ours" {
        hubs.push(node(opts)?);
    }
    Ok(hubs)
}

/// The WebSocket URL of `room` on the server at the HTTP URL `base`.
fn ws_room_url(base: &str, room: i64) -> String {
    format!("{}/ws/{room}", base.replacen("http", "ws", 1))
}

async fn ours(opts: &Opts, settings: &Settings) -> anyhow::Result<Hub> {
    let edge = opts
        .str("edge")
        .context("--edge URL")?
        .trim_end_matches('/');
    let platform = Arc::new(Platform {
        base: edge.to_owned(),
        maildev: opts
            .str("maildev")
            .context("--maildev URL")?
            .trim_end_matches('/')
            .to_owned(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()?,
    });
    let pids = opts
        .list("gateway-pids")
        .iter()
        .map(|p| pid_of(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!pids.is_empty(), "--gateway-pids");
    // One poster per message a second: each posts once a second, under the 3-per-2-s limit.
    let posters = settings.rate.ceil().max(1.0) as usize;
    eprintln!("==> signing up a DJ and {posters} posters through {edge}");
    let dj = platform.signed_in_user("bdj").await?;
    let room = dj
        .broadcast_now(&platform, "Chat fan-out benchmark")
        .await?;
    let mut users = Vec::new();
    for _ in 0..posters {
        users.push(Arc::new(platform.signed_in_user("bpost").await?));
    }
    let ws_bases = if opts.str("ws").is_some() {
        opts.list("ws")
    } else {
        vec![edge.to_owned()]
    };
    Ok(Hub {
        name: "LiveStreamer",
        ws_urls: ws_bases
            .iter()
            .map(|b| ws_room_url(b.trim_end_matches('/'), room))
            .collect(),
        pids,
        poster: Arc::new(Poster::Ours {
            platform,
            users,
            room,
        }),
    })
}

fn node(opts: &Opts) -> anyhow::Result<Hub> {
    let url = opts
        .str("node")
        .context("--node URL")?
        .trim_end_matches('/')
        .to_owned();
    let pid = pid_of(opts.str("node-pid").context("--node-pid")?)?;
    let room = 1;
    Ok(Hub {
        name: "Node ws",
        ws_urls: vec![ws_room_url(&url, room)],
        pids: vec![pid],
        poster: Arc::new(Poster::Node {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
            url,
            room,
        }),
    })
}
