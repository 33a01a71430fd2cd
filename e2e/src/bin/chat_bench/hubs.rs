//! The servers under test, each as a [`Hub`]: where its clients connect, which processes are
//! measured, how it is posted to. LiveStreamer needs a DJ's broadcast and signed-up posters first; the
//! Node hub, and the floor hub when asked for, have one fixed room. With `--baseline-ws`, gateways
//! built from an earlier revision are a hub of their own, in a room of their own, so that a change is
//! measured beside what it changed; their messages are posted through the same edge, so only the
//! fan-out differs (the REST path is the current gateways').

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use e2e::Platform;

use crate::{
    options::{Opts, Settings},
    poster::Poster,
    procfs::pid_of,
};

/// The Node reference hub's name, which the table's ratios divide by.
pub const NODE: &str = "Node ws";

pub struct Hub {
    pub name: String,
    pub ws_urls: Vec<String>,
    pub pids: Vec<u32>,
    pub poster: Arc<Poster>,
}

/// LiveStreamer, then the Node hub, less the one `--only` leaves out; then the floor hub, if `--floor`.
pub async fn hubs(opts: &Opts, settings: &Settings) -> anyhow::Result<Vec<Hub>> {
    let only = opts.str("only").unwrap_or("both");
    let mut hubs = Vec::new();
    if only != "node" {
        let gateways = Gateways {
            ws: opts.str("ws").map(|_| opts.list("ws")),
            pids: opts.list("gateway-pids"),
        };
        hubs.push(ours(opts, settings, "LiveStreamer".into(), gateways).await?);
        if let Some(name) = opts.str("baseline-name") {
            let gateways = Gateways {
                ws: Some(opts.list("baseline-ws")),
                pids: opts.list("baseline-pids"),
            };
            hubs.push(ours(opts, settings, name.to_owned(), gateways).await?);
        }
    }
    if only != "ours" {
        hubs.push(node(opts, NODE, "node")?);
    }
    if opts.str("floor").is_some() {
        hubs.push(node(opts, "floor", "floor")?);
    }
    Ok(hubs)
}

/// The WebSocket URL of `room` on the server at the HTTP URL `base`.
fn ws_room_url(base: &str, room: i64) -> String {
    format!("{}/ws/{room}", base.replacen("http", "ws", 1))
}

/// Which gateway processes a LiveStreamer hub's sockets connect to (the edge when `ws` is none) and
/// whose CPU and memory are measured.
struct Gateways {
    ws: Option<Vec<String>>,
    pids: Vec<String>,
}

async fn ours(
    opts: &Opts,
    settings: &Settings,
    name: String,
    gateways: Gateways,
) -> anyhow::Result<Hub> {
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
    let pids = gateways
        .pids
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
    let ws_bases = gateways.ws.unwrap_or_else(|| vec![edge.to_owned()]);
    anyhow::ensure!(!ws_bases.is_empty(), "no WebSocket URL for {name}");
    Ok(Hub {
        name,
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

/// A hub that speaks the Node reference hub's protocol, at `--{option} URL --{option}-pid PID`: the
/// Node hub itself, or the floor hub (`floor_hub`, one write per socket and nothing else).
fn node(opts: &Opts, name: &str, option: &str) -> anyhow::Result<Hub> {
    let url = opts
        .str(option)
        .with_context(|| format!("--{option} URL"))?
        .trim_end_matches('/')
        .to_owned();
    let pid_option = format!("{option}-pid");
    let pid = pid_of(
        opts.str(&pid_option)
            .with_context(|| format!("--{pid_option}"))?,
    )?;
    let room = 1;
    Ok(Hub {
        name: name.to_owned(),
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
