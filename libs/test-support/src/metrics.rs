//! Reading a service's `GET /metrics` the way Prometheus does: over HTTP, as text, one sample a line.

use std::net::SocketAddr;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The service's metrics in Prometheus' text format; panics if it does not answer 200.
pub async fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("cannot reach {addr} for /metrics: {e}"));
    let request = b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    stream.write_all(request).await.expect("send GET /metrics");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read /metrics");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer to /metrics: {response:?}"));
    assert!(head.starts_with("HTTP/1.1 200"), "/metrics: {head}");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    }
}

/// The value of one sample, named as it appears in the text (`name{label="value"}` or `name`).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// [`sample`], scraped now; 0 when the series is absent.
pub async fn value(addr: SocketAddr, series: &str) -> f64 {
    sample(&scrape(addr).await, series).unwrap_or(0.0)
}

fn dechunk(mut raw: &str) -> String {
    let mut body = String::new();
    while let Some((size, rest)) = raw.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        body.push_str(&rest[..size]);
        raw = rest[size..].trim_start_matches("\r\n");
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_sample_by_its_full_series_name() {
        let text = "# HELP x_total X.\n# TYPE x_total counter\nx_total 3\n\
                    y_total{cause=\"a\"} 1\ny_total{cause=\"b\"} 2.5\n";
        assert_eq!(sample(text, "x_total"), Some(3.0));
        assert_eq!(sample(text, "y_total{cause=\"b\"}"), Some(2.5));
        assert_eq!(sample(text, "y_total"), None);
        assert_eq!(sample(text, "x"), None);
    }

    #[test]
    fn dechunks_a_chunked_body() {
        assert_eq!(dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
    }
}
