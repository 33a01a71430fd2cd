use super::*;

async fn read_all(raw: &[u8]) -> Result<Preface, PrefaceError> {
    let mut reader = raw;
    read(&mut reader).await
}

#[tokio::test]
async fn an_icecast_source_head_is_recognised_and_its_body_kept() {
    let raw = b"SOURCE /live/dj HTTP/1.0\r\nAuthorization: Basic c291cmNlOms=\r\nContent-Type: audio/mpeg\r\nice-name: Night\r\n\r\n\xFF\xFB";
    let preface = read_all(raw).await.unwrap();
    assert_eq!(preface.head.method, "SOURCE");
    assert_eq!(preface.head.path(), "/live/dj");
    assert_eq!(preface.head.headers["ice-name"], "Night");
    assert!(preface.head.is_close_delimited_source());
    assert_eq!(&preface.leftover()[..], b"\xFF\xFB");
}

#[tokio::test]
async fn only_unframed_puts_and_source_are_close_delimited() {
    let framed = [
        "PUT /live/dj HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "PUT /live/dj HTTP/1.1\r\nContent-Length: 10\r\n\r\n",
        "GET /live/dj?x=1 HTTP/1.1\r\n\r\n",
    ];
    for raw in framed {
        let preface = read_all(raw.as_bytes()).await.unwrap();
        assert!(!preface.head.is_close_delimited_source(), "{raw}");
    }
    let unframed = read_all(b"PUT /live/dj HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
        .await
        .unwrap();
    assert!(unframed.head.is_close_delimited_source());
}

#[tokio::test]
async fn a_huge_head_is_refused_without_reading_it_all() {
    let mut raw = b"GET / HTTP/1.1\r\nX: ".to_vec();
    raw.resize(1 << 20, b'a');
    assert!(matches!(read_all(&raw).await, Err(PrefaceError::TooLarge)));
}

#[tokio::test]
async fn garbage_and_early_close_are_errors() {
    assert!(matches!(
        read_all(b"\x00\x01\x02 nonsense\r\n\r\n").await,
        Err(PrefaceError::Malformed(_))
    ));
    assert!(matches!(
        read_all(b"PUT /live/dj HTTP/1.1\r\n").await,
        Err(PrefaceError::Closed)
    ));
}
