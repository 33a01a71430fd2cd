use std::convert::Infallible;

use http::HeaderValue;
use http_body::Frame;
use http_body_util::StreamBody;
use livestreamer_proto::broadcasts::Broadcast;

use super::*;
use crate::channel::Limits;

fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
        .collect()
}

/// A source body that arrives in the given chunks.
fn body(
    chunks: Vec<Vec<u8>>,
) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Unpin> {
    StreamBody::new(futures_util::stream::iter(
        chunks.into_iter().map(|c| Ok(Frame::data(Bytes::from(c)))),
    ))
}

fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
            frame.resize(417, i as u8);
            frame
        })
        .collect()
}

#[test]
fn accepts_audio_mpeg_with_parameters_only() {
    assert!(require_audio_mpeg(&headers(&[(header::CONTENT_TYPE, "audio/mpeg")])).is_ok());
    assert!(
        require_audio_mpeg(&headers(&[(
            header::CONTENT_TYPE,
            "Audio/MPEG; rate=44100"
        )]))
        .is_ok()
    );
    let refused =
        require_audio_mpeg(&headers(&[(header::CONTENT_TYPE, "text/plain")])).unwrap_err();
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(refused.to_string().contains("text/plain"), "{refused}");
    assert!(require_audio_mpeg(&HeaderMap::new()).is_err());
}

#[test]
fn refuses_a_cross_site_origin_but_not_a_missing_one() {
    assert!(require_same_site(&headers(&[(header::HOST, "localhost:8080")])).is_ok());
    let same = [
        (header::HOST, "localhost:8080"),
        (header::ORIGIN, "http://localhost:8080"),
    ];
    assert!(require_same_site(&headers(&same)).is_ok());
    let other = [
        (header::HOST, "localhost:8080"),
        (header::ORIGIN, "https://evil.example"),
    ];
    assert_eq!(
        require_same_site(&headers(&other)).unwrap_err().status(),
        StatusCode::FORBIDDEN
    );
    assert!(require_same_site(&headers(&[(header::ORIGIN, "null")])).is_err());
}

#[tokio::test]
async fn pumps_a_tagged_ragged_source_into_whole_frames_for_listeners() {
    let frames = frames(5);
    let mut stream = b"ID3\x03\x00\x00\x00\x00\x00\x05tag!!".to_vec();
    stream.extend(frames.concat());
    let chunks: Vec<Vec<u8>> = stream.chunks(100).map(<[u8]>::to_vec).collect();

    let broadcast = Broadcast {
        broadcast_id: 3,
        username: "dj".into(),
        ..Default::default()
    };
    let channel = LiveChannel::new(
        broadcast,
        now_ms(),
        Limits {
            burst_bytes: 0,
            queue_bytes: 1 << 20,
        },
    );
    let mut listener = channel.subscribe(Default::default()).unwrap();
    let received = pump(&channel, body(chunks), &Shutdown::new()).await;
    channel.close();

    assert_eq!(received, stream.len() as u64);
    let mut heard = Vec::new();
    while let Some(frame) = listener.next().await.unwrap() {
        heard.push(frame.to_vec());
    }
    assert_eq!(heard, frames, "every frame, whole, the tag left out");
}

#[tokio::test]
async fn shutdown_stops_the_pump() {
    let broadcast = Broadcast {
        broadcast_id: 4,
        ..Default::default()
    };
    let channel = LiveChannel::new(
        broadcast,
        now_ms(),
        Limits {
            burst_bytes: 0,
            queue_bytes: 1 << 20,
        },
    );
    let shutdown = Shutdown::new();
    shutdown.trigger();
    let endless = StreamBody::new(futures_util::stream::pending::<
        Result<Frame<Bytes>, Infallible>,
    >());
    let received =
        tokio::time::timeout(Duration::from_secs(5), pump(&channel, endless, &shutdown)).await;
    assert_eq!(received.ok(), Some(0));
}
