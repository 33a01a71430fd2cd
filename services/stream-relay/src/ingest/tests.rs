use http::HeaderValue;

use super::*;

fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| (name.clone(), HeaderValue::from_static(value)))
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
