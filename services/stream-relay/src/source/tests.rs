use std::{convert::Infallible, path::Path};

use livestreamer_proto::broadcasts::Broadcast;

use super::*;
use crate::channel::Limits;

fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let mut frame = vec![0xFF, 0xFB, 0x90, 0x64];
            frame.resize(417, i as u8);
            frame
        })
        .collect()
}

fn live(id: i64) -> Live {
    let broadcast = Broadcast {
        broadcast_id: id,
        username: "dj".into(),
        ..Default::default()
    };
    let limits = Limits {
        burst_bytes: 0,
        queue_bytes: 1 << 20,
    };
    Live::new(
        broadcast,
        limits,
        Path::new("/proc/not-recorded"),
        Duration::from_secs(10),
    )
}

fn body(chunks: Vec<Vec<u8>>) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin {
    futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))))
}

#[tokio::test]
async fn pumps_a_tagged_ragged_source_into_whole_frames_for_listeners() {
    let frames = frames(5);
    let mut stream = b"ID3\x03\x00\x00\x00\x00\x00\x05tag!!".to_vec();
    stream.extend(frames.concat());
    let chunks: Vec<Vec<u8>> = stream.chunks(100).map(<[u8]>::to_vec).collect();

    let live = live(3);
    let mut listener = live.channel.subscribe(Default::default()).unwrap();
    let shutdown = Shutdown::new();
    let (received, end) = pump(&live, body(chunks), SourceEnd::Finished, &shutdown).await;
    live.channel.close();

    assert_eq!((received, end), (stream.len() as u64, SourceEnd::Finished));
    assert_eq!(live.bytes_received(), stream.len() as u64);
    let mut heard = Vec::new();
    while let Some(frame) = listener.next().await.unwrap() {
        heard.push(frame.to_vec());
    }
    assert_eq!(heard, frames, "every frame, whole, the tag left out");
}

#[tokio::test]
async fn a_body_without_mp3_frames_is_not_audio() {
    let live = live(4);
    let noise = vec![vec![0x42u8; 64 * 1024]; 100];
    let (_, end) = pump(&live, body(noise), SourceEnd::Finished, &Shutdown::new()).await;
    assert_eq!(end, SourceEnd::NotAudio);
}

#[tokio::test]
async fn a_huge_id3_tag_is_not_audio_either() {
    let live = live(5);
    // A tag announcing 100 MB (syncsafe 0x2F 0x7A 0x70 0x00 ~ 100 MB), then its body as it comes.
    let mut chunks = vec![b"ID3\x04\x00\x00\x2F\x7A\x70\x00".to_vec()];
    chunks.extend(vec![vec![0u8; 64 * 1024]; 80]);
    let (received, end) = pump(&live, body(chunks), SourceEnd::Finished, &Shutdown::new()).await;
    assert_eq!(end, SourceEnd::NotAudio);
    assert!(received < 6 << 20, "stopped early: {received}");
}

#[tokio::test]
async fn a_failing_body_is_a_drop_and_a_close_delimited_end_too() {
    let live = live(6);
    let failing = futures_util::stream::iter(vec![
        Ok(Bytes::from(frames(2).concat())),
        Err("connection reset"),
    ]);
    let (_, end) = pump(&live, failing, SourceEnd::Finished, &Shutdown::new()).await;
    assert_eq!(end, SourceEnd::Dropped);
    let (_, end) = pump(&live, body(frames(2)), SourceEnd::Dropped, &Shutdown::new()).await;
    assert_eq!(end, SourceEnd::Dropped);
}

#[tokio::test]
async fn shutdown_stops_the_pump() {
    let live = live(7);
    let shutdown = Shutdown::new();
    shutdown.trigger();
    let endless = futures_util::stream::pending::<Result<Bytes, Infallible>>();
    let pumped = tokio::time::timeout(
        Duration::from_secs(5),
        pump(&live, endless, SourceEnd::Finished, &shutdown),
    )
    .await;
    assert_eq!(pumped.ok(), Some((0, SourceEnd::Shutdown)));
}

/// A body that sends `frames` whole, then trickles the next frame one byte per `every`.
fn trickle(
    frames: Vec<Vec<u8>>,
    every: Duration,
) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin {
    let whole = futures_util::stream::iter(frames.clone().into_iter().map(|f| Ok(Bytes::from(f))));
    let bytes: Vec<u8> = frames.concat();
    let slow = futures_util::stream::unfold(bytes.into_iter(), move |mut bytes| async move {
        tokio::time::sleep(every).await;
        let byte = bytes.next()?;
        Some((Ok(Bytes::copy_from_slice(&[byte])), bytes))
    });
    Box::pin(whole.chain(slow))
}

#[tokio::test(start_paused = true)]
async fn a_source_trickling_one_byte_a_second_is_starved_after_ten_seconds_of_no_frame() {
    let live = live(8);
    let mut listener = live.channel.subscribe(Default::default()).unwrap();
    let started = tokio::time::Instant::now();
    let (received, end) = pump(
        &live,
        trickle(frames(3), Duration::from_secs(1)),
        SourceEnd::Finished,
        &Shutdown::new(),
    )
    .await;
    assert_eq!(end, SourceEnd::Starved);
    let waited = started.elapsed();
    assert!(
        waited >= SOURCE_STARVED_AFTER && waited < SOURCE_STARVED_AFTER + Duration::from_secs(2),
        "starved after {waited:?}"
    );
    assert!(
        received < 3 * 417 + 12,
        "about ten trickled bytes: {received}"
    );
    live.channel.close();
    let mut heard = 0;
    while let Some(frame) = listener.next().await.unwrap() {
        assert_eq!(frame.len(), 417, "whole frames only");
        heard += 1;
    }
    assert_eq!(
        heard, 3,
        "the whole frames before the trickle, no partial one"
    );
}

#[tokio::test(start_paused = true)]
async fn a_source_that_keeps_delivering_frames_is_never_starved() {
    let live = live(9);
    // One whole frame every 5 s for a minute: slow, but each frame lands inside the limit.
    let paced = futures_util::stream::unfold(0usize, |sent| async move {
        if sent == 12 {
            return None;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        Some((
            Ok::<_, Infallible>(Bytes::from(frames(1).concat())),
            sent + 1,
        ))
    });
    let (received, end) = pump(
        &live,
        Box::pin(paced),
        SourceEnd::Finished,
        &Shutdown::new(),
    )
    .await;
    assert_eq!((received, end), (12 * 417, SourceEnd::Finished));
}
