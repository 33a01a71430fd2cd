//! One sign-up is one trace: the browser's `traceparent` is continued by the gateway, carried over
//! gRPC to auth, over RabbitMQ to the mailer, and every span the services export for it hangs in
//! one tree under the browser's span. The test stack's services export to the `otlp_sink` binary.

use std::time::Duration;

use e2e::{
    Platform, audio, client_address,
    traces::{ReceivedSpan, TraceSink, ancestors},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The hops a sign-up must cross, as (service, span kind, what the span's name contains).
const HOPS: &[(&str, &str, &str)] = &[
    ("gateway", "server", "POST /api/v1/users"),
    ("gateway", "client", "Auth/SignUp"),
    ("auth", "server", "Auth/SignUp"),
    ("auth", "producer", "mail.send"),
    ("mailer", "consumer", "mail.send"),
];

fn find<'a>(spans: &'a [ReceivedSpan], hop: &(&str, &str, &str)) -> Option<&'a ReceivedSpan> {
    let (service, kind, name) = hop;
    spans
        .iter()
        .find(|s| s.service == *service && s.kind == *kind && s.name.contains(name))
}

#[tokio::test]
async fn a_sign_up_is_one_trace_from_the_gateway_to_the_mailer() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let sink = TraceSink::from_env();
    // The browser's span: a fresh trace per run, so spans of earlier runs cannot count.
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let browser_span = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();

    let username = Platform::unique_username("traced");
    let email = format!("{username}@example.com");
    let response = platform
        .sign_up(&username, &email, "a long enough secret", &client_address())
        .header("traceparent", format!("00-{trace_id}-{browser_span}-01"))
        .send()
        .await?;
    anyhow::ensure!(
        response.status() == 202,
        "sign-up answered {}",
        response.status()
    );
    platform
        .wait_for_mail(&email, "Confirm your email address")
        .await?;

    let spans = sink
        .wait_for(&trace_id, Duration::from_secs(20), |spans| {
            HOPS.iter().all(|hop| find(spans, hop).is_some())
        })
        .await?;
    let listing = format!("{spans:#?}");
    for hop in HOPS {
        assert!(
            find(&spans, hop).is_some(),
            "no {hop:?} span in the sign-up's trace {trace_id}: {listing}"
        );
    }

    // The mailer's span descends, hop by hop, from the gateway's span for the browser's request.
    let mailer = find(&spans, &HOPS[4]).expect("found above");
    let (chain, top) = ancestors(&spans, mailer);
    assert_eq!(
        top, browser_span,
        "the chain above the mailer's span ends elsewhere than at the browser's span: {chain:#?}"
    );
    let mut expected: Vec<&ReceivedSpan> =
        HOPS[..4].iter().filter_map(|h| find(&spans, h)).collect();
    expected.reverse();
    let chain_ids: Vec<&str> = chain.iter().map(|s| s.span_id.as_str()).collect();
    let mut position = 0;
    for hop in &expected {
        let at = chain_ids[position..]
            .iter()
            .position(|id| *id == hop.span_id)
            .unwrap_or_else(|| panic!("{hop:?} is not above the mailer's span: {chain:#?}"));
        position += at + 1;
    }

    // And no span of the trace hangs anywhere but under the browser's span: one tree.
    for span in &spans {
        let (_, top) = ancestors(&spans, span);
        assert_eq!(
            top, browser_span,
            "{span:?} is cut off from the tree: {listing}"
        );
    }
    Ok(())
}

/// The hops of a DJ going live: the relay's request span, its calls to auth and broadcasts-archive,
/// and theirs.
const GO_LIVE_HOPS: &[(&str, &str, &str)] = &[
    ("stream-relay", "server", "PUT /api/v1/users/me/stream"),
    ("stream-relay", "client", "Auth/ResolveSession"),
    ("auth", "server", "Auth/ResolveSession"),
    ("stream-relay", "client", "GoLiveNow"),
    ("broadcasts-archive", "server", "GoLiveNow"),
];

#[tokio::test]
async fn going_live_continues_the_sources_trace_through_the_relay() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let sink = TraceSink::from_env();
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let source_span = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    let dj = platform.signed_in_user("tracedj").await?;

    let headers = format!(
        "Cookie: {}\r\nice-name: Traced session\r\ntraceparent: 00-{trace_id}-{source_span}-01\r\n",
        dj.cookie
    );
    let url = platform.url("/api/v1/users/me/stream");
    let mut ffmpeg = audio::ffmpeg_put(&url, &headers, &["-t", "2"])?;
    assert!(
        ffmpeg.wait().await?.success(),
        "ffmpeg streamed without error"
    );

    assert_one_tree(&sink, &trace_id, &source_span, GO_LIVE_HOPS).await
}

/// The hops of a DJ going live through the Icecast source port, where the relay reads the request
/// itself rather than through hyper.
const ICECAST_HOPS: &[(&str, &str, &str)] = &[
    ("stream-relay", "server", "SOURCE /live/{username}"),
    ("stream-relay", "client", "Auth/AuthenticateStreamKey"),
    ("auth", "server", "Auth/AuthenticateStreamKey"),
    ("stream-relay", "client", "GoLiveNow"),
    ("broadcasts-archive", "server", "GoLiveNow"),
];

#[tokio::test]
async fn an_icecast_source_continues_its_trace_through_the_relay() -> anyhow::Result<()> {
    let platform = Platform::from_env();
    let sink = TraceSink::from_env();
    let trace_id = uuid::Uuid::new_v4().simple().to_string();
    let source_span = uuid::Uuid::new_v4().simple().to_string()[..16].to_owned();
    let dj = platform.signed_in_user("icetrace").await?;
    let key = audio::stream_key(&platform, &dj.cookie).await?;

    let head = format!(
        "SOURCE /live/{} HTTP/1.0\r\nAuthorization: Basic {}\r\nContent-Type: audio/mpeg\r\n\
         ice-name: Traced Icecast session\r\ntraceparent: 00-{trace_id}-{source_span}-01\r\n\r\n",
        dj.username,
        audio::basic_auth("source", &key)
    );
    let mut source = TcpStream::connect(audio::source_addr()).await?;
    source.write_all(head.as_bytes()).await?;
    let mut answer = vec![0; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), source.read(&mut answer)).await??;
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let tone = std::fs::read(audio::tone_path())?;
    source.write_all(&tone[..32 * 1024]).await?;
    drop(source); // the request, and its span, end with the connection

    assert_one_tree(&sink, &trace_id, &source_span, ICECAST_HOPS).await
}

/// Waits for every one of `hops` (the relay's request span first, then the calls it makes and
/// their servers) in trace `trace_id`, and checks that they hang under the source's span `top`
/// and that the calls descend from the relay's request span.
async fn assert_one_tree(
    sink: &TraceSink,
    trace_id: &str,
    top: &str,
    hops: &[(&str, &str, &str)],
) -> anyhow::Result<()> {
    let spans = sink
        .wait_for(trace_id, Duration::from_secs(20), |spans| {
            hops.iter().all(|hop| find(spans, hop).is_some())
        })
        .await?;
    let listing = format!("{spans:#?}");
    for hop in hops {
        let span = find(&spans, hop)
            .unwrap_or_else(|| panic!("no {hop:?} span in the trace {trace_id}: {listing}"));
        let (chain, root) = ancestors(&spans, span);
        assert_eq!(
            root, top,
            "{hop:?} is not under the source's span: {chain:#?}"
        );
    }
    let relay = find(&spans, &hops[0]).expect("found above");
    for callee in hops.iter().skip(1).filter(|(_, kind, _)| *kind == "server") {
        let span = find(&spans, callee).expect("found above");
        let (chain, _) = ancestors(&spans, span);
        assert!(
            chain.iter().any(|s| s.span_id == relay.span_id),
            "{callee:?} does not descend from the relay's request span: {chain:#?}"
        );
    }
    Ok(())
}
