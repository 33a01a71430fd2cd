//! The outbox over pipes (narrow ones, to cut frames) and over real TCP connections, whose
//! descriptor it writes to.

use super::*;
use futures_util::{FutureExt, StreamExt};
use tokio::io::DuplexStream;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, protocol::Role},
};

/// A client's end of a socket.
pub(crate) type Client = WebSocketStream<DuplexStream>;

/// An outbox over a pipe that holds `capacity` bytes, the server's tungstenite stream over it,
/// and the client's end.
pub(crate) async fn pipe(
    max_backlog: usize,
    capacity: usize,
) -> (Arc<Outbox>, crate::ws::socket::Socket, Client) {
    let (server, client) = tokio::io::duplex(capacity);
    let outbox = Outbox::new(server, max_backlog);
    let socket = WebSocketStream::from_raw_socket(
        SharedConnection(outbox.clone()),
        Role::Server,
        Some(crate::ws::socket::config()),
    )
    .await;
    let client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
    (outbox, socket, client)
}

/// The text frames the client has received so far, without waiting for more (nor for tokio's
/// cooperative budget, which a test reading many clients would spend).
pub(crate) fn received(client: &mut Client) -> Vec<String> {
    std::iter::from_fn(|| {
        tokio::task::unconstrained(client.next())
            .now_or_never()
            .flatten()
    })
    .filter_map(|message| match message.unwrap() {
        Message::Text(text) => Some(text.as_str().to_owned()),
        _ => None,
    })
    .collect()
}

/// The `event` of each JSON frame the client has received so far.
pub(crate) fn events(client: &mut Client) -> Vec<String> {
    received(client)
        .iter()
        .map(|text| {
            let frame: serde_json::Value = serde_json::from_str(text).unwrap();
            frame["event"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Writes the backlog out until it is empty.
async fn drain(outbox: &Outbox) {
    std::future::poll_fn(|cx| outbox.poll_drain(cx))
        .await
        .unwrap();
}

#[tokio::test]
async fn frames_of_every_length_reach_a_client_whole_and_in_order_through_a_narrow_pipe() {
    // The pipe takes 7 bytes at a time: every frame is cut, and most wait in the backlog.
    let (outbox, _socket, mut client) = pipe(64, 7).await;
    let medium = "m".repeat(300);
    let edge = "e".repeat(frames::SMALL_FRAME - 4);
    let long = "é".repeat(40_000);
    let reader = tokio::spawn(async move {
        let mut messages = Vec::new();
        while messages.len() < 5 {
            messages.push(client.next().await.unwrap().unwrap());
        }
        messages
    });
    for text in ["hi", &medium, &edge] {
        assert_eq!(outbox.text(&Bytes::from(text.to_owned())), Sent::Queued);
    }
    assert_eq!(outbox.ping(), Sent::Queued);
    assert_eq!(outbox.text(&Bytes::from(long.clone())), Sent::Queued);
    drain(&outbox).await;
    assert_eq!(
        reader.await.unwrap(),
        [
            Message::text("hi"),
            Message::text(medium),
            Message::text(edge),
            Message::Ping(Default::default()),
            Message::text(long),
        ]
    );
}

#[tokio::test]
async fn a_socket_over_its_backlog_is_too_slow_and_takes_nothing_more() {
    let (outbox, _socket, mut client) = pipe(2, 16).await;
    let frame = Bytes::from("x".repeat(20));
    // The first frame fills the pipe and leaves its rest in the backlog, the second joins it.
    assert_eq!(outbox.text(&frame), Sent::Queued);
    assert_eq!(outbox.text(&frame), Sent::Queued);
    assert_eq!(outbox.text(&frame), Sent::TooSlow);
    assert_eq!(outbox.text(&frame), Sent::Ending);
    assert!(matches!(outbox.work().await, Work::End(ending) if ending == TOO_SLOW));
    // What was taken still arrives whole.
    let reader = tokio::spawn(async move { received_two(&mut client).await });
    drain(&outbox).await;
    assert_eq!(reader.await.unwrap(), ["x".repeat(20), "x".repeat(20)]);
}

#[tokio::test]
async fn the_bound_is_on_what_waits_now_not_on_what_waited_since_the_backlog_was_empty() {
    use tokio::io::AsyncReadExt;
    let (outbox, _socket, mut client) = pipe(2, 16).await;
    let frame = Bytes::from("x".repeat(20));
    assert_eq!(outbox.text(&frame), Sent::Queued); // 16 bytes written, 6 wait
    assert_eq!(outbox.text(&frame), Sent::Queued); // 22 more wait: 2 frames
    let mut taken = [0u8; 16];
    client.get_mut().read_exact(&mut taken).await.unwrap();
    // The first frame's rest goes, the second only in part: one frame waits.
    let drained = std::future::poll_fn(|cx| Poll::Ready(outbox.poll_drain(cx))).await;
    assert!(drained.is_pending());
    assert_eq!(outbox.text(&frame), Sent::Queued);
    assert_eq!(outbox.text(&frame), Sent::TooSlow);
}

async fn received_two(client: &mut Client) -> Vec<String> {
    let mut texts = Vec::new();
    while texts.len() < 2 {
        if let Message::Text(text) = client.next().await.unwrap().unwrap() {
            texts.push(text.as_str().to_owned());
        }
    }
    texts
}

/// An outbox over a real TCP connection on loopback, writing to its descriptor, with send and
/// receive buffers of a few KiB so that a client that does not read soon leaves a backlog; the
/// server's stream over it, and the client's end.
async fn tcp(
    max_backlog: usize,
) -> (
    Arc<Outbox>,
    crate::ws::socket::Socket,
    WebSocketStream<tokio::net::TcpStream>,
) {
    use std::os::fd::AsRawFd;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = tokio::net::TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(4096).unwrap();
    let (client, accepted) = tokio::join!(
        client.connect(listener.local_addr().unwrap()),
        listener.accept()
    );
    let (server, _) = accepted.unwrap();
    socket2::SockRef::from(&server)
        .set_send_buffer_size(4096)
        .unwrap();
    let fd = server.as_raw_fd();
    // SAFETY: the descriptor is `server`'s, which the outbox owns from here on.
    let outbox = unsafe { Outbox::over_tcp(server, fd, max_backlog) };
    let socket = WebSocketStream::from_raw_socket(
        SharedConnection(outbox.clone()),
        Role::Server,
        Some(crate::ws::socket::config()),
    )
    .await;
    let client = WebSocketStream::from_raw_socket(client.unwrap(), Role::Client, None).await;
    (outbox, socket, client)
}

#[tokio::test]
async fn over_tcp_frames_a_client_does_not_read_at_once_wait_and_arrive_whole_in_order() {
    let (outbox, _socket, mut client) = tcp(10_000).await;
    let small = |i: usize| format!("{i:0>200}");
    let big = "b".repeat(3 * frames::SMALL_FRAME);
    let mut sent = Vec::new();
    for i in 0..2_000 {
        let text = if i % 100 == 99 { big.clone() } else { small(i) };
        assert_eq!(outbox.text(&Bytes::from(text.clone())), Sent::Queued);
        sent.push(text);
    }
    assert!(
        !outbox.lock().backlog.is_empty(),
        "the kernel's buffers took 0.7 MB: the test shows nothing of the backlog"
    );
    let reader = tokio::spawn(async move {
        let mut texts = Vec::new();
        while texts.len() < 2_000 {
            if let Message::Text(text) = client.next().await.unwrap().unwrap() {
                texts.push(text.as_str().to_owned());
            }
        }
        texts
    });
    drain(&outbox).await;
    let received = tokio::time::timeout(std::time::Duration::from_secs(10), reader)
        .await
        .expect("the client received fewer frames than were sent");
    assert_eq!(received.unwrap(), sent);
}

#[tokio::test]
async fn over_tcp_a_client_that_went_away_breaks_the_outbox() {
    let (outbox, _socket, client) = tcp(8).await;
    drop(client);
    // The first frames may still go out; the peer's reset makes a later send fail.
    let mut sent = 0;
    while outbox.text(&Bytes::from("lost")) == Sent::Queued && sent < 1_000 {
        sent += 1;
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(sent < 1_000, "every send to a closed connection succeeded");
    assert!(matches!(outbox.work().await, Work::Broken | Work::End(_)));
}

#[tokio::test]
async fn a_client_that_went_away_breaks_the_outbox() {
    let (outbox, _socket, client) = pipe(8, 1024).await;
    drop(client);
    outbox.text(&Bytes::from("lost"));
    assert!(matches!(outbox.work().await, Work::Broken));
    assert_eq!(outbox.text(&Bytes::from("after")), Sent::Ending);
}
