use super::*;

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            (
                http::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            )
        })
        .collect()
}

fn basic(user_and_key: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_and_key)
    )
}

#[test]
fn basic_auth_names_the_path_user_or_source() {
    for user in ["source", "dj.owl", "DJ.Owl"] {
        let mut map = HeaderMap::new();
        map.insert(
            header::AUTHORIZATION,
            basic(&format!("{user}:k3y:with:colons")).parse().unwrap(),
        );
        match credentials(&map, "dj.owl").unwrap() {
            Credentials::StreamKey { username, key } => {
                assert_eq!(
                    (username.as_str(), key.as_str()),
                    ("dj.owl", "k3y:with:colons")
                );
            }
            other => panic!("{other:?}"),
        }
    }
    let mut other = HeaderMap::new();
    other.insert(header::AUTHORIZATION, basic("mallory:k").parse().unwrap());
    assert_eq!(
        credentials(&other, "dj.owl").unwrap_err().status(),
        http::StatusCode::UNAUTHORIZED
    );
    for bad in ["Basic !!!", "Bearer x", "Basic bm9jb2xvbg=="] {
        let map = headers(&[("authorization", bad)]);
        assert!(credentials(&map, "dj.owl").is_err(), "{bad}");
    }
    assert!(credentials(&HeaderMap::new(), "dj.owl").is_err());
}

#[test]
fn ice_headers_title_and_describe_the_broadcast() {
    let map = headers(&[
        ("ice-name", " Night Owl Radio "),
        ("ice-description", "Deep cuts"),
        ("ice-genre", "House"),
    ]);
    assert_eq!(
        destination(&map),
        Destination::Now {
            title: "Night Owl Radio".into(),
            description: "Deep cuts\n\nGenre: House".into()
        }
    );
    assert_eq!(
        destination(&HeaderMap::new()),
        Destination::Now {
            title: String::new(),
            description: String::new()
        }
    );
}

#[test]
fn a_401_carries_a_basic_challenge() {
    let response = challenge(RelayError::Unauthenticated("no".into()).into_response());
    assert_eq!(
        response.headers()[header::WWW_AUTHENTICATE],
        "Basic realm=\"LiveStreamer\""
    );
    let response = challenge(RelayError::Forbidden("no".into()).into_response());
    assert!(response.headers().get(header::WWW_AUTHENTICATE).is_none());
}

/// Each block a source writes, once it has arrived, is one read: none is cut at what a previous
/// read left of a buffer.
#[tokio::test]
async fn a_block_the_source_wrote_at_once_is_read_at_once() {
    const BLOCK: usize = 3840;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut source = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (relay_side, _) = listener.accept().await.unwrap();
    let mut reads = std::pin::pin!(body_reads(relay_side));
    for n in 0..12u8 {
        source.write_all(&[n; BLOCK]).await.unwrap();
        let read = reads.next().await.unwrap().unwrap();
        assert_eq!(read.len(), BLOCK, "block {n} in one read");
        assert!(read.iter().all(|&byte| byte == n), "block {n}'s bytes");
    }
    drop(source);
    assert!(
        reads.next().await.is_none(),
        "the body ends with the connection"
    );
    assert!(reads.next().await.is_none(), "and stays ended");
}
