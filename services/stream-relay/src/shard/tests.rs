//! The write loop itself, on one thread, so that what happens between its yields is in order.

use std::{
    io::{ErrorKind, Read},
    net::{TcpListener, TcpStream},
};

use super::*;
use crate::{
    channel::tests::{channel, frame},
    server::tests::wait_until,
};

/// A connected pair: the relay's end (non-blocking, as the write loops need) and the listener's.
fn pair(server: &TcpListener) -> (TcpStream, TcpStream) {
    let listener_end = TcpStream::connect(server.local_addr().unwrap()).unwrap();
    let (relay_end, _) = server.accept().unwrap();
    relay_end.set_nonblocking(true).unwrap();
    listener_end.set_nonblocking(true).unwrap();
    (relay_end, listener_end)
}

/// Whether the listener's end has bytes to read.
fn has_bytes(socket: &TcpStream) -> bool {
    match socket.peek(&mut [0]) {
        Ok(n) => n > 0,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("{e}"),
    }
}

/// A pass over many sockets yields every [`WRITES_PER_YIELD`]; a newcomer who joins meanwhile gets
/// his burst at the next yield, before the pass reaches the last socket, not after it.
#[tokio::test(flavor = "current_thread")]
async fn a_newcomer_is_let_in_during_a_pass_not_after_it() {
    const LISTENERS: usize = 4 * WRITES_PER_YIELD;
    let channel = channel(1 << 16, 1 << 20);
    channel.publish(frame(0));
    let shards = Shards::start(&channel, Duration::ZERO).unwrap();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut listeners = Vec::new();
    for _ in 0..LISTENERS {
        let (socket, listener_end) = pair(&server);
        let joining = Joining {
            socket,
            framing: Framing::CloseDelimited,
        };
        shards.join(0, joining).unwrap();
        listeners.push(listener_end);
    }
    wait_until("every listener is in", || {
        channel.listener_count() == LISTENERS
    })
    .await;
    wait_until("every burst is there", || listeners.iter().all(has_bytes)).await;
    for listener in &mut listeners {
        let mut burst = vec![0; 418];
        listener.read_exact(&mut burst).unwrap();
    }

    channel.publish(frame(1));
    // the write loop starts its pass and stops at its first yield; then the newcomer comes
    tokio::task::yield_now().await;
    let (socket, mut newcomer) = pair(&server);
    let joining = Joining {
        socket,
        framing: Framing::CloseDelimited,
    };
    shards.join(0, joining).unwrap();
    // yield as the write loop does, to look between two of its stretches of writes
    let mut yields = 0;
    while !has_bytes(&newcomer) {
        tokio::task::yield_now().await;
        yields += 1;
        assert!(yields < 100_000, "the newcomer never got his burst");
    }
    let served = listeners.iter().filter(|l| has_bytes(l)).count();
    assert!(
        served < LISTENERS,
        "the newcomer was let in after the pass: all {served} listeners had the frame first"
    );
    let mut got = vec![0; 2 * 418];
    newcomer.read_exact(&mut got).unwrap();
    assert_eq!(got, [frame(0), frame(1)].concat(), "the burst, whole");
    wait_until("the pass ends", || listeners.iter().all(has_bytes)).await;
}
