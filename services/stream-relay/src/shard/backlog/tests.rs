use super::*;

fn frame(n: u8, len: usize) -> Bytes {
    Bytes::from(vec![n; len])
}

/// Everything `at` still has to write, as the socket would receive it.
fn wire(backlog: &Backlog, at: Position, framing: Framing) -> Vec<u8> {
    let mut out = [IoSlice::new(&[]); 8];
    let mut bytes = Vec::new();
    let mut at = at;
    loop {
        let filled = backlog.slices(at, framing, &mut out);
        if filled == 0 {
            return bytes;
        }
        let chunk: Vec<u8> = out[..filled].iter().flat_map(|s| s.to_vec()).collect();
        at = backlog.advance(at, framing, chunk.len());
        bytes.extend(chunk);
    }
}

#[test]
fn a_chunked_listener_gets_each_frame_as_one_chunk() {
    let mut backlog = Backlog::new(10_000);
    backlog.push(frame(1, 3));
    backlog.push(frame(2, 300));
    let wire = wire(
        &backlog,
        Position {
            entry: 0,
            written: 0,
        },
        Framing::Chunked,
    );
    let expected = [&b"3\r\n\x01\x01\x01\r\n12c\r\n"[..], &[2; 300], b"\r\n"].concat();
    assert_eq!(wire, expected);
}

#[test]
fn a_partial_write_resumes_mid_frame_without_repeating_a_byte() {
    let mut backlog = Backlog::new(10_000);
    for n in 0..5 {
        backlog.push(frame(n, 100));
    }
    for framing in [Framing::Chunked, Framing::CloseDelimited] {
        let whole = wire(
            &backlog,
            Position {
                entry: 0,
                written: 0,
            },
            framing,
        );
        for cut in [1, 2, 5, 104, 105, 106, 250, whole.len() - 1] {
            let at = backlog.advance(
                Position {
                    entry: 0,
                    written: 0,
                },
                framing,
                cut,
            );
            assert_eq!(wire(&backlog, at, framing), whole[cut..], "cut at {cut}");
        }
    }
}

#[test]
fn the_burst_is_the_newest_whole_frames_within_its_size() {
    let mut backlog = Backlog::new(10_000);
    for n in 0..10 {
        backlog.push(frame(n, 100));
    }
    let start = backlog.burst_start(250);
    assert_eq!(
        start,
        Position {
            entry: 8,
            written: 0
        }
    );
    assert_eq!(
        wire(&backlog, start, Framing::CloseDelimited),
        [frame(8, 100), frame(9, 100)].concat()
    );
    assert_eq!(backlog.burst_start(0), backlog.head(), "no burst");
}

#[test]
fn a_listener_behind_more_than_the_backlog_keeps_is_forgotten() {
    let mut backlog = Backlog::new(300);
    let start = Position {
        entry: 0,
        written: 0,
    };
    backlog.push(frame(0, 100));
    assert_eq!(backlog.behind(start), Some(100));
    for n in 1..4 {
        backlog.push(frame(n, 100));
    }
    assert_eq!(backlog.behind(start), None, "frame 0 is gone");
    assert_eq!(
        backlog.behind(Position {
            entry: 1,
            written: 0
        }),
        Some(300)
    );
    assert_eq!(backlog.behind(backlog.head()), Some(0));
    assert!(wire(&backlog, start, Framing::Chunked).is_empty());
}

#[test]
fn the_end_of_the_stream_is_the_last_chunk_or_nothing() {
    let mut backlog = Backlog::new(10_000);
    backlog.push(frame(7, 2));
    backlog.push(Bytes::new());
    let start = Position {
        entry: 0,
        written: 0,
    };
    assert_eq!(
        wire(&backlog, start, Framing::Chunked),
        b"2\r\n\x07\x07\r\n0\r\n\r\n"
    );
    assert_eq!(wire(&backlog, start, Framing::CloseDelimited), [7, 7]);
    let after_frame = backlog.advance(start, Framing::CloseDelimited, 2);
    assert_eq!(after_frame, backlog.head(), "the empty end needs no write");
}
