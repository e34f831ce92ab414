//! Which address a request really comes from.
//!
//! By default the socket peer is the client. `X-Forwarded-For` is believed
//! only when the peer is one of the configured trusted proxies, and then only
//! as far back as the chain stays inside trusted proxies: the first untrusted
//! hop from the right is the client, since anything left of it could have
//! been written by the client itself.

use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

#[derive(Debug, thiserror::Error)]
#[error(
    "invalid trusted proxy range '{0}': expected a CIDR such as 10.0.0.0/8 or fd00::/8, or a single address"
)]
pub struct InvalidProxyRange(String);

impl TrustedProxies {
    pub fn none() -> Self {
        TrustedProxies(Vec::new())
    }

    /// Parses a comma-separated list of CIDR ranges or single addresses.
    pub fn parse(list: &str) -> Result<Self, InvalidProxyRange> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                IpNet::from_str(item)
                    .or_else(|_| IpAddr::from_str(item).map(IpNet::from))
                    .map_err(|_| InvalidProxyRange(item.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0.iter().any(|net| net.contains(&addr))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The client's address given the socket peer and the `X-Forwarded-For`
    /// header values, if any.
    pub fn client_ip<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match IpAddr::from_str(hop) {
                Ok(addr) => {
                    client = canonical(addr);
                    if !self.contains(client) {
                        break;
                    }
                }
                // A hop we cannot read ends what we can believe.
                Err(_) => break,
            }
        }
        client
    }
}

/// IPv4 addresses arriving as IPv4-mapped IPv6 (`::ffff:a.b.c.d`) compare as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `--trusted-proxies` and `X-Forwarded-For` are text an operator
        /// or a client wrote: parsed or refused, never a panic, and a peer
        /// outside the trusted ranges is the client whatever it forwards.
        #[test]
        fn arbitrary_proxy_lists_and_forwarded_headers_never_panic(
            list in prop_oneof!["[0-9a-f:./, ]{0,40}", ".{0,40}"],
            forwarded in prop::collection::vec(prop_oneof!["[0-9a-f:., ]{0,40}", ".{0,40}"], 0..3),
            peer_bits in any::<u32>(),
        ) {
            let peer = IpAddr::from(std::net::Ipv4Addr::from_bits(peer_bits));
            let proxies = TrustedProxies::parse(&list).unwrap_or_else(|_| TrustedProxies::none());
            let client = proxies.client_ip(peer, forwarded.iter().map(String::as_str));
            if !proxies.contains(peer) {
                prop_assert_eq!(client, peer);
            }
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let proxies = TrustedProxies::none();
        assert_eq!(
            proxies.client_ip(ip("198.51.100.7"), ["203.0.113.9"]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_is_believed_up_to_the_first_untrusted_hop() {
        let proxies = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").unwrap();
        // The client forged the left-most entry; the right-most untrusted hop is the truth.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), ["1.2.3.4, 203.0.113.9, 10.0.0.5"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            proxies.client_ip(ip("192.168.1.1"), ["2001:db8::1"]),
            ip("2001:db8::1")
        );
        // Repeated headers are one list.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), ["203.0.113.9", "10.0.0.7"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk() {
        let proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), ["203.0.113.9, garbage"]),
            ip("10.0.0.2")
        );
        assert_eq!(
            proxies.client_ip(ip("10.0.0.2"), Vec::<&str>::new()),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn mapped_ipv4_is_treated_as_ipv4() {
        let proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        assert_eq!(
            proxies.client_ip(ip("::ffff:127.0.0.1"), ["203.0.113.9"]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn invalid_ranges_are_named() {
        let err = TrustedProxies::parse("10.0.0.0/8, nonsense").unwrap_err();
        assert!(err.to_string().contains("'nonsense'"));
    }
}
