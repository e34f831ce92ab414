//! Where a webhook may be delivered: the SSRF rules of SPEC §9.
//!
//! A webhook URL is typed by an organisation's administrator but fetched by
//! the server, from inside the operator's network. Without a guard it would
//! let any administrator make the server talk to its own loopback, the cloud
//! metadata service or the private network behind it. The rules:
//!
//! - the URL must be `https://`; `http://` only when the destination lies in
//!   a network the operator allowed (`TESSERA_WEBHOOK_ALLOWED_NETWORKS`);
//! - the host must not be, or resolve to, an address that is never a public
//!   destination ([`classify`]), whatever its spelling: the WHATWG parser
//!   reads `2130706433`, `0x7f.1` and `0177.0.0.1` as the 127.0.0.1 they mean,
//!   trailing dots are stripped, and IPv6 forms that embed an IPv4 address are
//!   judged by that address — unless the operator allowed its network;
//! - the URL carries no credentials (`user:password@`);
//! - `localhost` and `*.localhost` are refused by name: resolvers answer them
//!   from the machine itself (RFC 6761 §6.3) and may not ask DNS at all.
//!
//! [`Destination::parse`] applies every rule that needs no DNS, when the
//! endpoint is saved and again before each delivery (the operator's allowed
//! networks may have changed). [`Destination::check_resolved`] applies the
//! rest to the addresses a name resolved to, and returns those the caller may
//! connect to: the caller connects to nothing else, so a second, different
//! DNS answer cannot slip in between the check and the connection.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use url::{Host, Url};

/// Networks the operator declared reachable for webhooks
/// (`TESSERA_WEBHOOK_ALLOWED_NETWORKS`): an address inside one is accepted
/// whatever its class, and `http://` is accepted for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedNetworks(Vec<IpNet>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a network: expected a CIDR such as 10.0.0.0/8 or fd00::/8, or a single address"
)]
pub struct InvalidAllowedNetwork(String);

impl FromStr for AllowedNetworks {
    type Err = InvalidAllowedNetwork;

    /// A comma-separated list of CIDRs or single addresses; blank entries
    /// are ignored, so an empty string allows nothing.
    fn from_str(list: &str) -> Result<Self, Self::Err> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                IpNet::from_str(entry)
                    .or_else(|_| IpAddr::from_str(entry).map(IpNet::from))
                    .map(|net| as_ipv4_if_mapped(net).trunc())
                    .map_err(|_| InvalidAllowedNetwork(entry.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(AllowedNetworks)
    }
}

impl AllowedNetworks {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn networks(&self) -> &[IpNet] {
        &self.0
    }

    /// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) compare as the IPv4
    /// address they carry, since that is where a connection to them goes.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = unmapped(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) as the IPv4 network
/// it means, so that it matches the unmapped addresses `contains` compares.
fn as_ipv4_if_mapped(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(net, IpNet::V4),
        other => other,
    }
}

fn unmapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Why an address is never a public destination. Displays as the noun
/// phrase used in refusals ("a loopback address").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
    Private,
    /// 169.254.0.0/16 (where cloud metadata services answer), fe80::/10.
    LinkLocal,
    /// Carrier-grade NAT, RFC 6598: 100.64.0.0/10.
    Cgnat,
    /// RFC 4193: fc00::/7.
    UniqueLocal,
    /// fec0::/10, deprecated by RFC 3879 but still routed by some stacks.
    SiteLocal,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 0.0.0.0 and ::, which connect to the machine itself on most systems.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 0.0.0.0/8 other than 0.0.0.0: "this network" (RFC 791).
    ThisNetwork,
    /// 192.0.0.0/24: IETF protocol assignments (RFC 6890), and likewise
    /// 2001::/23 outside Teredo and benchmarking.
    ProtocolAssignment,
    /// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32,
    /// 3fff::/20 (RFC 5737, 3849, 9637).
    Documentation,
    /// 198.18.0.0/15, 2001:2::/48 (RFC 2544, 5180).
    Benchmarking,
    /// 2001::/32 (RFC 4380). Teredo tunnels through relays to an obfuscated
    /// IPv4 address; nothing legitimate receives webhooks there.
    Teredo,
    /// 240.0.0.0/4, the deprecated 6to4 relay anycast 192.88.99.0/24, the
    /// discard prefix 100::/64, local-use NAT64 64:ff9b:1::/48 (RFC 8215),
    /// and every IPv6 address outside global unicast 2000::/3 that no other
    /// class covers.
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private (RFC 1918) address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Cgnat => "a carrier-grade NAT (RFC 6598) address",
            AddressClass::UniqueLocal => "a unique-local (RFC 4193) address",
            AddressClass::SiteLocal => "a site-local address",
            AddressClass::Multicast => "a multicast address",
            AddressClass::Unspecified => "the unspecified address",
            AddressClass::Broadcast => "the broadcast address",
            AddressClass::ThisNetwork => "a 'this network' (0.0.0.0/8) address",
            AddressClass::ProtocolAssignment => "an IETF protocol assignment address",
            AddressClass::Documentation => "a documentation address",
            AddressClass::Benchmarking => "a benchmarking address",
            AddressClass::Teredo => "a Teredo tunnel address",
            AddressClass::Reserved => "a reserved address",
        })
    }
}

/// `None` for an address that may be a public destination.
///
/// IPv6 addresses that carry an IPv4 address are classified by that IPv4
/// address: IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`)
/// ones, which stacks connect to over IPv4, and NAT64 (64:ff9b::/96) and 6to4
/// (2002::/16) ones, which gateways translate to it.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

const fn v4_net(octets: [u8; 4], prefix_len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(
        Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]),
        prefix_len,
    )
}

/// A network given by the first three 16-bit groups of its address.
const fn v6_net(groups: [u16; 3], prefix_len: u8) -> Ipv6Net {
    let [a, b, c] = groups;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, 0, 0, 0, 0, 0), prefix_len)
}

/// Most specific first: the first match decides.
const IPV4_SPECIAL: &[(Ipv4Net, AddressClass)] = &[
    (v4_net([0, 0, 0, 0], 32), AddressClass::Unspecified),
    (v4_net([255, 255, 255, 255], 32), AddressClass::Broadcast),
    (v4_net([0, 0, 0, 0], 8), AddressClass::ThisNetwork),
    (v4_net([10, 0, 0, 0], 8), AddressClass::Private),
    (v4_net([100, 64, 0, 0], 10), AddressClass::Cgnat),
    (v4_net([127, 0, 0, 0], 8), AddressClass::Loopback),
    (v4_net([169, 254, 0, 0], 16), AddressClass::LinkLocal),
    (v4_net([172, 16, 0, 0], 12), AddressClass::Private),
    (v4_net([192, 0, 0, 0], 24), AddressClass::ProtocolAssignment),
    (v4_net([192, 0, 2, 0], 24), AddressClass::Documentation),
    (v4_net([192, 88, 99, 0], 24), AddressClass::Reserved),
    (v4_net([192, 168, 0, 0], 16), AddressClass::Private),
    (v4_net([198, 18, 0, 0], 15), AddressClass::Benchmarking),
    (v4_net([198, 51, 100, 0], 24), AddressClass::Documentation),
    (v4_net([203, 0, 113, 0], 24), AddressClass::Documentation),
    (v4_net([224, 0, 0, 0], 4), AddressClass::Multicast),
    (v4_net([240, 0, 0, 0], 4), AddressClass::Reserved),
];

/// Most specific first: the first match decides. Prefixes embedding an IPv4
/// address are handled before this table.
const IPV6_SPECIAL: &[(Ipv6Net, AddressClass)] = &[
    (v6_net([0x0100, 0, 0], 64), AddressClass::Reserved),
    (v6_net([0x0064, 0xff9b, 1], 48), AddressClass::Reserved),
    (v6_net([0x2001, 0, 0], 32), AddressClass::Teredo),
    (v6_net([0x2001, 2, 0], 48), AddressClass::Benchmarking),
    (v6_net([0x2001, 0, 0], 23), AddressClass::ProtocolAssignment),
    (v6_net([0x2001, 0x0db8, 0], 32), AddressClass::Documentation),
    (v6_net([0x3fff, 0, 0], 20), AddressClass::Documentation),
    (v6_net([0xfc00, 0, 0], 7), AddressClass::UniqueLocal),
    (v6_net([0xfe80, 0, 0], 10), AddressClass::LinkLocal),
    (v6_net([0xfec0, 0, 0], 10), AddressClass::SiteLocal),
    (v6_net([0xff00, 0, 0], 8), AddressClass::Multicast),
];

const GLOBAL_UNICAST: Ipv6Net = v6_net([0x2000, 0, 0], 3);
const NAT64: Ipv6Net = v6_net([0x0064, 0xff9b, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6_net([0x2002, 0, 0], 16);
/// IPv4-compatible `::/96` and IPv4-mapped `::ffff:0:0/96` share these bits.
const MAPPED_OR_COMPATIBLE: Ipv6Net = v6_net([0, 0, 0], 80);

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    IPV4_SPECIAL
        .iter()
        .find(|(network, _)| network.contains(&ip))
        .map(|(_, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    if let Some(v4) = embedded_ipv4(ip) {
        return classify_v4(v4);
    }
    let special = IPV6_SPECIAL
        .iter()
        .find(|(network, _)| network.contains(&ip))
        .map(|(_, class)| *class);
    special.or((!GLOBAL_UNICAST.contains(&ip)).then_some(AddressClass::Reserved))
}

/// The IPv4 address an IPv6 address stands for or tunnels to: IPv4-mapped
/// `::ffff:0:0/96`, IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` and 6to4
/// `2002::/16`. `::` and `::1` are themselves, not IPv4 in disguise.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    let mapped_or_compatible = MAPPED_OR_COMPATIBLE.contains(&ip)
        && matches!(ip.segments()[5], 0 | 0xffff)
        && !ip.is_unspecified()
        && !ip.is_loopback();
    if mapped_or_compatible || NAT64.contains(&ip) {
        Some(Ipv4Addr::from_bits(bits as u32))
    } else if SIX_TO_FOUR.contains(&ip) {
        Some(Ipv4Addr::from_bits((bits >> 80) as u32))
    } else {
        None
    }
}

/// The host a destination names, after normalisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DestinationHost {
    Ip(IpAddr),
    /// Lowercase, ASCII (IDNs in punycode), without trailing dots.
    Name(String),
}

impl fmt::Display for DestinationHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestinationHost::Ip(ip) => ip.fmt(f),
            DestinationHost::Name(name) => f.write_str(name),
        }
    }
}

/// Why a URL may not receive webhooks. Displays as a sentence an
/// administrator can act on; [`class`](Self::class) is the stable name
/// delivery logs record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationRefusal {
    #[error("the URL must start with https://")]
    NoScheme,
    #[error("the URL is not valid: {0}")]
    Malformed(url::ParseError),
    #[error("the URL must start with https:// ({scheme}:// is not accepted)")]
    SchemeNotAllowed { scheme: String },
    #[error(
        "the URL must start with https://: http:// is accepted only for networks the operator has allowed"
    )]
    PlainHttpNotAllowed,
    #[error("the URL must not contain credentials (user:password@)")]
    Credentials,
    #[error("the URL has no host")]
    NoHost,
    #[error("{host} is not a public host name")]
    LocalName { host: String },
    #[error("{}", AddressWithClass(*address, *class))]
    ForbiddenAddress {
        address: IpAddr,
        class: AddressClass,
    },
    #[error("{host} resolves to {}", AddressWithClass(*address, *class).as_apposition())]
    ResolvesToForbiddenAddress {
        host: String,
        address: IpAddr,
        class: AddressClass,
    },
    #[error("{address} is outside the networks the operator has allowed for http://: use https://")]
    PlainHttpOutsideAllowedNetworks { address: IpAddr },
    #[error(
        "{host} resolves to {address}, outside the networks the operator has allowed for http://: use https://"
    )]
    PlainHttpResolvesOutsideAllowedNetworks { host: String, address: IpAddr },
    #[error("{host} resolves to no address")]
    NoAddress { host: String },
}

impl DestinationRefusal {
    /// `dns` when a name resolved to nothing, `refused_address` otherwise:
    /// a stored URL is refused at delivery only because its address (or the
    /// operator's allowed networks) changed since it was saved.
    pub fn class(&self) -> &'static str {
        match self {
            DestinationRefusal::NoAddress { .. } => "dns",
            _ => "refused_address",
        }
    }
}

/// "127.0.0.1 is a loopback address", or for an address carrying an IPv4
/// one, "::ffff:127.0.0.1 embeds 127.0.0.1, a loopback address".
struct AddressWithClass(IpAddr, AddressClass);

impl AddressWithClass {
    /// The same facts after "resolves to": "10.1.2.3, a private address".
    fn as_apposition(&self) -> String {
        match self.embedded() {
            Some(v4) => format!("{}, which embeds {v4}, {}", self.0, self.1),
            None => format!("{}, {}", self.0, self.1),
        }
    }

    fn embedded(&self) -> Option<Ipv4Addr> {
        match self.0 {
            IpAddr::V6(v6) => embedded_ipv4(v6),
            IpAddr::V4(_) => None,
        }
    }
}

impl fmt::Display for AddressWithClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.embedded() {
            Some(v4) => write!(f, "{} embeds {v4}, {}", self.0, self.1),
            None => write!(f, "{} is {}", self.0, self.1),
        }
    }
}

/// A webhook URL that passed every check possible without DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    url: Url,
    host: DestinationHost,
    port: u16,
    plain_http: bool,
}

/// Top-level names that only ever lead inside a private network: mDNS
/// (RFC 6762), ICANN's private-use `.internal`, home networks (RFC 8375)
/// and the `/etc/hosts` habit `.localdomain`.
const PRIVATE_USE_SUFFIXES: &[&str] = &["local", "internal", "home.arpa", "localdomain"];

impl Destination {
    /// Checks `raw` against every rule that needs no DNS.
    ///
    /// The normalised URL has a lowercase host without trailing dots and no
    /// fragment: a fragment is never sent over HTTP, so it is dropped rather
    /// than refused. Host names are refused by name when they cannot be
    /// public: `localhost` and `*.localhost` always; names under `.local`,
    /// `.internal`, `.home.arpa` and `.localdomain` while the operator has
    /// allowed no network (they could only resolve to a refused address, and
    /// saying so by name needs no lookup). Once networks are allowed those
    /// names are resolved and checked like any other. Any other name is
    /// checked when it is resolved, by [`check_resolved`](Self::check_resolved).
    pub fn parse(raw: &str, allowed: &AllowedNetworks) -> Result<Destination, DestinationRefusal> {
        let mut url = Url::parse(raw).map_err(|error| match error {
            url::ParseError::RelativeUrlWithoutBase => DestinationRefusal::NoScheme,
            other => DestinationRefusal::Malformed(other),
        })?;
        let plain_http = match url.scheme() {
            "https" => false,
            "http" if allowed.is_empty() => return Err(DestinationRefusal::PlainHttpNotAllowed),
            "http" => true,
            other => {
                return Err(DestinationRefusal::SchemeNotAllowed {
                    scheme: other.to_owned(),
                });
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(DestinationRefusal::Credentials);
        }
        url.set_fragment(None);
        let host = normalise_host(&mut url)?;
        match &host {
            DestinationHost::Ip(ip) => check_address(*ip, plain_http, allowed)?,
            DestinationHost::Name(name) => check_name(name, allowed)?,
        }
        let port = url.port().unwrap_or(if plain_http { 80 } else { 443 });
        Ok(Destination {
            url,
            host,
            port,
            plain_http,
        })
    }

    /// The URL to send to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn host(&self) -> &DestinationHost {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_plain_http(&self) -> bool {
        self.plain_http
    }

    /// The addresses this destination may be connected to, given what its
    /// host resolved to. Refused if any address is forbidden, not only the
    /// first: whoever controls the DNS also controls the order, and a
    /// connection may be attempted on any of them.
    pub fn check_resolved(
        &self,
        addresses: &[IpAddr],
        allowed: &AllowedNetworks,
    ) -> Result<Vec<IpAddr>, DestinationRefusal> {
        let host = self.host.to_string();
        if addresses.is_empty() {
            return Err(DestinationRefusal::NoAddress { host });
        }
        for &address in addresses {
            if allowed.contains(address) {
                continue;
            }
            if self.plain_http {
                return Err(
                    DestinationRefusal::PlainHttpResolvesOutsideAllowedNetworks { host, address },
                );
            }
            if let Some(class) = classify(address) {
                return Err(DestinationRefusal::ResolvesToForbiddenAddress {
                    host,
                    address,
                    class,
                });
            }
        }
        Ok(addresses.to_vec())
    }
}

/// Lowercases (the parser already did) and strips trailing dots, then reads
/// the host again: `127.0.0.1..` is a domain to the WHATWG parser but
/// 127.0.0.1 once its dots are gone, and must be judged as that address.
fn normalise_host(url: &mut Url) -> Result<DestinationHost, DestinationRefusal> {
    let domain = match url.host() {
        None => return Err(DestinationRefusal::NoHost),
        Some(Host::Ipv4(v4)) => return Ok(DestinationHost::Ip(IpAddr::V4(v4))),
        Some(Host::Ipv6(v6)) => return Ok(DestinationHost::Ip(IpAddr::V6(v6))),
        Some(Host::Domain(domain)) => domain.to_ascii_lowercase(),
    };
    let stripped = domain.trim_end_matches('.');
    if stripped.is_empty() {
        return Err(DestinationRefusal::NoHost);
    }
    if stripped != domain {
        url.set_host(Some(stripped))
            .map_err(DestinationRefusal::Malformed)?;
    }
    match url.host() {
        Some(Host::Ipv4(v4)) => Ok(DestinationHost::Ip(IpAddr::V4(v4))),
        Some(Host::Ipv6(v6)) => Ok(DestinationHost::Ip(IpAddr::V6(v6))),
        Some(Host::Domain(name)) => Ok(DestinationHost::Name(name.to_owned())),
        None => Err(DestinationRefusal::NoHost),
    }
}

fn check_address(
    address: IpAddr,
    plain_http: bool,
    allowed: &AllowedNetworks,
) -> Result<(), DestinationRefusal> {
    if allowed.contains(address) {
        return Ok(());
    }
    if plain_http {
        return Err(DestinationRefusal::PlainHttpOutsideAllowedNetworks { address });
    }
    match classify(address) {
        Some(class) => Err(DestinationRefusal::ForbiddenAddress { address, class }),
        None => Ok(()),
    }
}

fn check_name(name: &str, allowed: &AllowedNetworks) -> Result<(), DestinationRefusal> {
    let is_under = |suffix: &str| {
        name == suffix
            || name
                .strip_suffix(suffix)
                .is_some_and(|prefix| prefix.ends_with('.'))
    };
    let loopback_name = is_under("localhost");
    let private_use_name = PRIVATE_USE_SUFFIXES.iter().any(|suffix| is_under(suffix));
    if loopback_name || (private_use_name && allowed.is_empty()) {
        return Err(DestinationRefusal::LocalName {
            host: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
