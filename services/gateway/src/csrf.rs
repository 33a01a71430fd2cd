//! CSRF protection: an unsafe request that carries the session cookie and comes from a browser must
//! carry an `Origin` of this site. Requests without the cookie (sign-up, sign-in) and non-browser
//! clients (the CLI sends no `Origin` and no `Sec-Fetch-*`) pass.

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{AppState, error::ApiError, session};

pub async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if unsafe_method
        && session::session_id(request.headers()).is_some()
        && !same_site(request.headers(), &state.config.public_url)
    {
        return ApiError::forbidden(
            "Cross-site request refused: the Origin does not match this site",
        )
        .into_response();
    }
    next.run(request).await
}

/// Whether the request comes from this site (or from a client that is not a browser).
pub fn same_site(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Browsers send Origin on every unsafe request; Sec-Fetch-Site without Origin is a browser
        // that withheld it, so only a same-origin fetch passes.
        return headers
            .get("sec-fetch-site")
            .is_none_or(|site| site == "same-origin" || site == "none");
    };
    if origin.trim_end_matches('/') == public_url {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    host.is_some() && origin_host == host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn the_site_itself_and_its_host_pass() {
        let site = "https://live.example.com";
        assert!(same_site(
            &headers(&[("origin", "https://live.example.com")]),
            site
        ));
        assert!(same_site(
            &headers(&[
                ("origin", "http://localhost:8080"),
                ("host", "localhost:8080")
            ]),
            site
        ));
    }

    #[test]
    fn other_origins_fail_and_non_browsers_pass() {
        let site = "https://live.example.com";
        assert!(!same_site(
            &headers(&[
                ("origin", "https://evil.example"),
                ("host", "live.example.com")
            ]),
            site
        ));
        assert!(!same_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            site
        ));
        assert!(same_site(&headers(&[]), site));
    }
}
