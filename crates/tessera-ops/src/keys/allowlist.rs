//! The address ranges a key may be used from.

use ipnet::IpNet;
use std::net::IpAddr;
use std::str::FromStr;

/// CIDR ranges (IPv4 and IPv6), normalised, as keys and organisations store
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpAllowlist(Vec<String>);

impl IpAllowlist {
    /// CIDR ranges or single addresses, normalised to CIDR; on failure, the
    /// entries that are neither.
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<IpAllowlist, Vec<String>> {
        let mut bad = Vec::new();
        let mut ranges = Vec::new();
        for entry in entries {
            let entry = entry.trim();
            let parsed =
                IpNet::from_str(entry).or_else(|_| IpAddr::from_str(entry).map(IpNet::from));
            match parsed {
                Ok(net) => ranges.push(unmapped(net).trunc().to_string()),
                Err(_) => bad.push(entry.to_owned()),
            }
        }
        if bad.is_empty() {
            Ok(IpAllowlist(ranges))
        } else {
            Err(bad)
        }
    }

    /// Ranges already stored, which were normalised when written.
    pub fn from_stored(ranges: Vec<String>) -> IpAllowlist {
        IpAllowlist(ranges)
    }

    pub fn ranges(&self) -> &[String] {
        &self.0
    }

    pub fn into_ranges(self) -> Vec<String> {
        self.0
    }
}

/// An IPv4-mapped IPv6 range (`::ffff:203.0.113.0/120`) as the IPv4 range
/// it means, which is how requests from those addresses are compared.
fn unmapped(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(net, IpNet::V4),
            None => net,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::IpAllowlist;
    use proptest::prelude::*;

    proptest! {
        /// A key's allow-list is typed by whoever creates the key: every
        /// entry is normalised or named as bad, never a panic, and what is
        /// stored parses to itself again.
        #[test]
        fn arbitrary_allow_lists_are_normalised_or_refused_never_panic(
            entries in prop::collection::vec(prop_oneof!["[0-9a-f:./ ]{0,30}", ".{0,30}"], 0..4),
        ) {
            match IpAllowlist::parse(entries.iter().map(String::as_str)) {
                Ok(list) => {
                    let again = IpAllowlist::parse(list.ranges().iter().map(String::as_str));
                    prop_assert_eq!(again.as_ref(), Ok(&list));
                }
                Err(bad) => prop_assert!(!bad.is_empty()),
            }
        }
    }

    #[test]
    fn allow_lists_are_normalised_to_cidr_and_ipv4_mapped_ranges_to_ipv4() {
        let list = IpAllowlist::parse([
            "203.0.113.7",
            "198.51.100.9/24",
            "2001:db8::1/32",
            "::ffff:192.0.2.1",
            "::ffff:192.0.2.0/120",
        ])
        .unwrap();
        assert_eq!(
            list.ranges(),
            [
                "203.0.113.7/32",
                "198.51.100.0/24",
                "2001:db8::/32",
                "192.0.2.1/32",
                "192.0.2.0/24",
            ]
        );
        assert_eq!(
            IpAllowlist::parse(["10.0.0.0/8", "nope", "300.1.1.1"]),
            Err(vec!["nope".to_owned(), "300.1.1.1".to_owned()])
        );
    }
}
