//! Who is asking, for rate limits: the address of the client, not of our proxy.
//!
//! nginx appends the address it saw to `X-Forwarded-For`. That header is read from the right, and only
//! while the hop that wrote an entry is trusted (loopback, or a configured proxy address or network):
//! the first untrusted address is the client. A client that sends its own `X-Forwarded-For` only adds
//! entries to the left of the ones our proxies appended, which are never reached.

use std::net::IpAddr;

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};

use service_kit::serve::Peer;

use crate::AppState;

/// An address or a network (`10.0.0.0/8`, `fd00::/8`) whose hops are trusted to tell the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let (address, prefix) = raw.trim().split_once('/').unwrap_or((raw.trim(), ""));
        let network: IpAddr = address
            .parse()
            .map_err(|_| format!("{raw:?} is not an IP address or network"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            "" => bits,
            p => p
                .parse()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{raw:?} has an invalid prefix length"))?,
        };
        Ok(Self { network, prefix })
    }
}

impl TrustedProxy {
    fn contains(&self, ip: IpAddr) -> bool {
        let (a, b, bits) = match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (a >> shift) == (b >> shift)
    }
}

/// The client's address, given the peer of the connection and the request's headers.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let is_trusted = |ip: IpAddr| ip.is_loopback() || trusted.iter().any(|t| t.contains(ip));
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        if !is_trusted(client) {
            break;
        }
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => client = ip,
            Err(_) => break,
        }
    }
    client
}

/// The extractor: `ClientIp(ip)`; without a known peer (a test calling the router directly) it is
/// the unspecified address.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.addr.ip());
        Ok(Self(client_ip(
            peer,
            &parts.headers,
            &state.config.trusted_proxies,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn behind_our_proxy_the_last_untrusted_hop_is_the_client() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        // A client spoofing its own header: nginx appends the real address, which wins.
        let headers = xff("1.2.3.4, 203.0.113.9");
        assert_eq!(client_ip(ip("127.0.0.1"), &headers, &[]), ip("203.0.113.9"));
        // Two trusted hops: an ingress in the cluster network, then nginx on loopback.
        let headers = xff("198.51.100.7, 10.1.2.3");
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &headers, &[]), ip("10.1.2.3"));
    }

    #[test]
    fn a_direct_client_cannot_name_another_address() {
        let headers = xff("1.2.3.4");
        assert_eq!(
            client_ip(ip("198.51.100.7"), &headers, &[]),
            ip("198.51.100.7")
        );
        assert_eq!(client_ip(ip("::1"), &HeaderMap::new(), &[]), ip("::1"));
        assert_eq!(
            client_ip(ip("127.0.0.1"), &xff("garbage"), &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn networks_parse_and_match() {
        let net: TrustedProxy = "fd00::/8".parse().unwrap();
        assert!(net.contains(ip("fd12::1")) && !net.contains(ip("fe80::1")));
        let one: TrustedProxy = "192.0.2.1".parse().unwrap();
        assert!(one.contains(ip("192.0.2.1")) && !one.contains(ip("192.0.2.2")));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("proxy".parse::<TrustedProxy>().is_err());
    }
}
