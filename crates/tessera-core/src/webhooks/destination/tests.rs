use super::*;
use proptest::prelude::*;

fn nothing_allowed() -> AllowedNetworks {
    AllowedNetworks::default()
}

fn allowing(list: &str) -> AllowedNetworks {
    list.parse().expect("valid test networks")
}

fn refusal(raw: &str) -> String {
    match Destination::parse(raw, &nothing_allowed()) {
        Ok(destination) => panic!("{raw} was accepted as {}", destination.url()),
        Err(refusal) => refusal.to_string(),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("valid test address")
}

#[test]
fn the_url_parser_reads_numeric_ipv4_spellings_as_the_address_they_mean() {
    for spelling in [
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
    ] {
        let url = Url::parse(spelling).expect("parses");
        assert_eq!(
            url.host(),
            Some(Host::Ipv4(Ipv4Addr::LOCALHOST)),
            "{spelling}"
        );
    }
}

#[test]
fn every_spelling_of_a_forbidden_address_is_refused_with_its_reason() {
    let loopback = "127.0.0.1 is a loopback address";
    let cases = [
        ("https://2130706433/", loopback),
        ("https://0x7f000001/", loopback),
        ("https://0x7f.1/", loopback),
        ("https://0177.0.0.01/", loopback),
        ("https://0177.1/", loopback),
        ("https://0x7F.0.0.1/", loopback),
        ("https://127.1/", loopback),
        ("https://127.0.0.1./", loopback),
        ("https://127.0.0.1../", loopback),
        ("https://127.0.0.1:8443/hook", loopback),
        (
            "https://[::ffff:127.0.0.1]/",
            "::ffff:127.0.0.1 embeds 127.0.0.1, a loopback address",
        ),
        (
            "https://[::ffff:7f00:1]/",
            "::ffff:127.0.0.1 embeds 127.0.0.1, a loopback address",
        ),
        (
            "https://[::127.0.0.1]/",
            "::7f00:1 embeds 127.0.0.1, a loopback address",
        ),
        ("https://[::1]/", "::1 is a loopback address"),
        ("https://[0:0:0:0:0:0:0:1]/", "::1 is a loopback address"),
        ("https://localhost/", "localhost is not a public host name"),
        ("https://localhost./", "localhost is not a public host name"),
        (
            "https://localhost../",
            "localhost is not a public host name",
        ),
        ("https://LOCALHOST/", "localhost is not a public host name"),
        (
            "https://foo.localhost/",
            "foo.localhost is not a public host name",
        ),
        (
            "https://Foo.LocalHost./",
            "foo.localhost is not a public host name",
        ),
        (
            "https://printer.local/",
            "printer.local is not a public host name",
        ),
        (
            "https://hooks.corp.internal/",
            "hooks.corp.internal is not a public host name",
        ),
        (
            "https://169.254.169.254/latest/meta-data/",
            "169.254.169.254 is a link-local address",
        ),
        ("https://[fe80::1]/", "fe80::1 is a link-local address"),
        (
            "https://[fd00::1]/",
            "fd00::1 is a unique-local (RFC 4193) address",
        ),
        ("https://[fec0::1]/", "fec0::1 is a site-local address"),
        (
            "https://100.64.0.1/",
            "100.64.0.1 is a carrier-grade NAT (RFC 6598) address",
        ),
        ("https://0.0.0.0/", "0.0.0.0 is the unspecified address"),
        ("https://0/", "0.0.0.0 is the unspecified address"),
        ("https://[::]/", ":: is the unspecified address"),
        (
            "https://0.1.2.3/",
            "0.1.2.3 is a 'this network' (0.0.0.0/8) address",
        ),
        (
            "https://255.255.255.255/",
            "255.255.255.255 is the broadcast address",
        ),
        ("https://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("https://[ff02::1]/", "ff02::1 is a multicast address"),
        (
            "https://10.0.0.1/",
            "10.0.0.1 is a private (RFC 1918) address",
        ),
        (
            "https://172.16.0.1/",
            "172.16.0.1 is a private (RFC 1918) address",
        ),
        (
            "https://172.31.255.255/",
            "172.31.255.255 is a private (RFC 1918) address",
        ),
        (
            "https://192.168.1.1/",
            "192.168.1.1 is a private (RFC 1918) address",
        ),
        ("https://240.0.0.1/", "240.0.0.1 is a reserved address"),
        (
            "https://192.0.2.10/",
            "192.0.2.10 is a documentation address",
        ),
        (
            "https://[2001:db8::1]/",
            "2001:db8::1 is a documentation address",
        ),
        (
            "https://198.18.0.1/",
            "198.18.0.1 is a benchmarking address",
        ),
        (
            "https://192.0.0.8/",
            "192.0.0.8 is an IETF protocol assignment address",
        ),
        ("https://[2001::1]/", "2001::1 is a Teredo tunnel address"),
        (
            "https://[64:ff9b::a00:1]/",
            "64:ff9b::a00:1 embeds 10.0.0.1, a private (RFC 1918) address",
        ),
        (
            "https://[2002:a9fe:a9fe::]/",
            "2002:a9fe:a9fe:: embeds 169.254.169.254, a link-local address",
        ),
        ("https://[100::1]/", "100::1 is a reserved address"),
        (
            "https://[64:ff9b:1::1]/",
            "64:ff9b:1::1 is a reserved address",
        ),
        (
            "https://user:pw@example.com/",
            "the URL must not contain credentials (user:password@)",
        ),
        (
            "https://user@example.com/",
            "the URL must not contain credentials (user:password@)",
        ),
        (
            "https://:pw@example.com/",
            "the URL must not contain credentials (user:password@)",
        ),
        (
            "ftp://example.com/",
            "the URL must start with https:// (ftp:// is not accepted)",
        ),
        (
            "file:///etc/passwd",
            "the URL must start with https:// (file:// is not accepted)",
        ),
        (
            "http://example.com/",
            "the URL must start with https://: http:// is accepted only for networks the operator has allowed",
        ),
        (
            "http://2130706433/",
            "the URL must start with https://: http:// is accepted only for networks the operator has allowed",
        ),
        ("example.com/hook", "the URL must start with https://"),
        ("", "the URL must start with https://"),
        ("https://", "the URL is not valid: empty host"),
        ("https://./", "the URL has no host"),
        (
            "https://256.1.1.1/",
            "the URL is not valid: invalid IPv4 address",
        ),
        (
            "https://[fe80::1%25eth0]/",
            "the URL is not valid: invalid IPv6 address",
        ),
    ];
    for (raw, reason) in cases {
        assert_eq!(refusal(raw), reason, "{raw}");
    }
}

#[test]
fn public_destinations_pass_normalised() {
    let cases = [
        (
            "https://example.com/hook",
            "https://example.com/hook",
            DestinationHost::Name("example.com".into()),
        ),
        (
            "https://Hooks.Example.COM.:8443/in?x=1#top",
            "https://hooks.example.com:8443/in?x=1",
            DestinationHost::Name("hooks.example.com".into()),
        ),
        (
            "https://93.184.216.34/",
            "https://93.184.216.34/",
            DestinationHost::Ip(ip("93.184.216.34")),
        ),
        (
            "https://[2606:4700::1111]/",
            "https://[2606:4700::1111]/",
            DestinationHost::Ip(ip("2606:4700::1111")),
        ),
        (
            "https://[::ffff:93.184.216.34]/",
            "https://[::ffff:5db8:d822]/",
            DestinationHost::Ip(ip("::ffff:93.184.216.34")),
        ),
        (
            "https://[64:ff9b::5db8:d822]/",
            "https://[64:ff9b::5db8:d822]/",
            DestinationHost::Ip(ip("64:ff9b::93.184.216.34")),
        ),
        (
            "https://bücher.example/",
            "https://xn--bcher-kva.example/",
            DestinationHost::Name("xn--bcher-kva.example".into()),
        ),
        (
            "https://localhost.example.com/",
            "https://localhost.example.com/",
            DestinationHost::Name("localhost.example.com".into()),
        ),
    ];
    for (raw, normalised, host) in cases {
        let destination = Destination::parse(raw, &nothing_allowed())
            .unwrap_or_else(|refusal| panic!("{raw} refused: {refusal}"));
        assert_eq!(destination.url().as_str(), normalised, "{raw}");
        assert_eq!(destination.host(), &host, "{raw}");
        assert!(!destination.is_plain_http());
    }
}

#[test]
fn the_port_is_explicit_or_the_scheme_default() {
    let allowed = allowing("10.0.0.0/8");
    let port = |raw: &str| Destination::parse(raw, &allowed).map(|d| d.port());
    assert_eq!(port("https://example.com/"), Ok(443));
    assert_eq!(port("https://example.com:8443/"), Ok(8443));
    assert_eq!(port("http://10.0.0.1/"), Ok(80));
    assert_eq!(port("http://10.0.0.1:8080/"), Ok(8080));
}

#[test]
fn an_allowed_network_admits_its_addresses_over_plain_http() {
    let allowed = allowing("127.0.0.1/32");
    let destination =
        Destination::parse("http://127.0.0.1:8080/", &allowed).expect("allowed network");
    assert!(destination.is_plain_http());
    assert_eq!(destination.port(), 8080);
    assert_eq!(
        destination.host(),
        &DestinationHost::Ip(Ipv4Addr::LOCALHOST.into())
    );

    for spelling in ["https://2130706433/", "https://[::ffff:127.0.0.1]/"] {
        assert!(Destination::parse(spelling, &allowed).is_ok(), "{spelling}");
    }
    assert_eq!(
        Destination::parse("http://127.0.0.2/", &allowed),
        Err(DestinationRefusal::PlainHttpOutsideAllowedNetworks {
            address: ip("127.0.0.2")
        })
    );
    assert_eq!(
        Destination::parse("https://127.0.0.2/", &allowed),
        Err(DestinationRefusal::ForbiddenAddress {
            address: ip("127.0.0.2"),
            class: AddressClass::Loopback
        })
    );
    assert_eq!(
        Destination::parse("http://93.184.216.34/", &allowed)
            .map_err(|refusal| refusal.to_string()),
        Err("93.184.216.34 is outside the networks the operator has allowed for http://: use https://".into())
    );
    assert!(
        Destination::parse("http://localhost:8080/", &allowed).is_err(),
        "localhost is refused by name even when loopback is allowed"
    );
}

#[test]
fn private_use_names_wait_for_resolution_once_networks_are_allowed() {
    let allowed = allowing("10.0.0.0/8");
    let destination = Destination::parse("http://hooks.corp.internal:8080/", &allowed)
        .expect("checked when resolved");
    assert_eq!(
        destination.host(),
        &DestinationHost::Name("hooks.corp.internal".into())
    );
    assert_eq!(
        destination.check_resolved(&[ip("10.1.2.3")], &allowed),
        Ok(vec![ip("10.1.2.3")])
    );
    assert_eq!(
        destination
            .check_resolved(&[ip("192.168.0.1")], &allowed)
            .map_err(|refusal| refusal.to_string()),
        Err("hooks.corp.internal resolves to 192.168.0.1, outside the networks the operator has allowed for http://: use https://".into())
    );
}

#[test]
fn a_name_is_refused_if_any_of_its_addresses_is_forbidden() {
    let allowed = nothing_allowed();
    let destination =
        Destination::parse("https://webhooks.internal.example/", &allowed).expect("a name");
    let public = ip("93.184.216.34");
    assert_eq!(
        destination.check_resolved(&[public, ip("2606:4700::1111")], &allowed),
        Ok(vec![public, ip("2606:4700::1111")])
    );
    let refused = destination
        .check_resolved(&[public, ip("10.1.2.3")], &allowed)
        .expect_err("one private address");
    assert_eq!(
        refused.to_string(),
        "webhooks.internal.example resolves to 10.1.2.3, a private (RFC 1918) address"
    );
    assert_eq!(refused.class(), "refused_address");
    assert_eq!(
        destination
            .check_resolved(&[ip("::ffff:169.254.169.254")], &allowed)
            .map_err(|refusal| refusal.to_string()),
        Err("webhooks.internal.example resolves to ::ffff:169.254.169.254, which embeds 169.254.169.254, a link-local address".into())
    );
    let nothing = destination
        .check_resolved(&[], &allowed)
        .expect_err("no address");
    assert_eq!(
        nothing.to_string(),
        "webhooks.internal.example resolves to no address"
    );
    assert_eq!(nothing.class(), "dns");
}

#[test]
fn https_accepts_public_and_allowed_addresses_together() {
    let allowed = allowing("10.0.0.0/8");
    let destination = Destination::parse("https://hooks.example/", &allowed).expect("a name");
    assert!(
        destination
            .check_resolved(&[ip("93.184.216.34"), ip("10.1.2.3")], &allowed)
            .is_ok()
    );
    assert!(
        destination
            .check_resolved(&[ip("10.1.2.3"), ip("127.0.0.1")], &allowed)
            .is_err()
    );
}

#[test]
fn plain_http_requires_every_address_inside_allowed_networks() {
    let allowed = allowing("10.0.0.0/8");
    let destination = Destination::parse("http://hooks.example/", &allowed).expect("a name");
    assert!(
        destination
            .check_resolved(&[ip("10.1.2.3")], &allowed)
            .is_ok()
    );
    assert_eq!(
        destination.check_resolved(&[ip("10.1.2.3"), ip("93.184.216.34")], &allowed),
        Err(
            DestinationRefusal::PlainHttpResolvesOutsideAllowedNetworks {
                host: "hooks.example".into(),
                address: ip("93.184.216.34"),
            }
        )
    );
}

#[test]
fn allowed_networks_read_cidrs_and_single_addresses() {
    let allowed = allowing(" 127.0.0.1/32, 10.0.0.0/8 ,::1,, fd00::/8,::ffff:192.168.0.0/112");
    for inside in [
        "127.0.0.1",
        "::ffff:127.0.0.1",
        "10.200.0.1",
        "::1",
        "fd12::3",
        "192.168.4.5",
    ] {
        assert!(allowed.contains(ip(inside)), "{inside}");
    }
    for outside in ["127.0.0.2", "11.0.0.1", "::2", "fe80::1", "192.169.0.1"] {
        assert!(!allowed.contains(ip(outside)), "{outside}");
    }
    assert_eq!(allowed.networks().len(), 5);
    assert_eq!(allowed.networks()[4].to_string(), "192.168.0.0/16");
}

#[test]
fn allowed_networks_default_to_none() {
    assert!(AllowedNetworks::default().is_empty());
    assert!(allowing("").is_empty());
    assert!(allowing(" , ").is_empty());
    assert!(!AllowedNetworks::default().contains(ip("127.0.0.1")));
}

#[test]
fn a_bad_allowed_network_is_named() {
    for (list, bad) in [
        ("10.0.0.0/8, 10.0.0.0/33", "10.0.0.0/33"),
        ("localhost", "localhost"),
        ("10.0.0.0/8;192.168.0.0/16", "10.0.0.0/8;192.168.0.0/16"),
    ] {
        let error = list.parse::<AllowedNetworks>().expect_err("invalid entry");
        assert_eq!(error, InvalidAllowedNetwork(bad.into()));
        assert!(
            error
                .to_string()
                .starts_with(&format!("'{bad}' is not a network"))
        );
    }
}

#[test]
fn classification_of_edges() {
    let cases = [
        ("9.255.255.255", None),
        ("11.0.0.0", None),
        ("100.63.255.255", None),
        ("100.128.0.0", None),
        ("172.15.255.255", None),
        ("172.32.0.0", None),
        ("192.0.1.1", None),
        ("198.17.255.255", None),
        ("198.20.0.0", None),
        ("223.255.255.255", None),
        ("1.1.1.1", None),
        ("2606:4700::1111", None),
        ("2001:4860:4860::8888", None),
        ("2002:5db8:d822::1", None),
        ("::8.8.8.8", None),
        ("239.255.255.255", Some(AddressClass::Multicast)),
        ("255.255.255.254", Some(AddressClass::Reserved)),
        ("192.88.99.1", Some(AddressClass::Reserved)),
        ("::ffff:0:0", Some(AddressClass::Unspecified)),
        ("::2", Some(AddressClass::ThisNetwork)),
        ("2001:2::1", Some(AddressClass::Benchmarking)),
        ("2001:1ff::1", Some(AddressClass::ProtocolAssignment)),
        ("3fff:fff::1", Some(AddressClass::Documentation)),
        ("4000::1", Some(AddressClass::Reserved)),
        ("fe00::1", Some(AddressClass::Reserved)),
    ];
    for (address, class) in cases {
        assert_eq!(classify(ip(address)), class, "{address}");
    }
}

fn decimal(address: Ipv4Addr) -> String {
    address.to_bits().to_string()
}

fn hexadecimal(address: Ipv4Addr) -> String {
    format!("0x{:x}", address.to_bits())
}

fn dotted_octal(address: Ipv4Addr) -> String {
    let [a, b, c, d] = address.octets();
    format!("0{a:o}.0{b:o}.0{c:o}.0{d:o}")
}

fn first_octet_then_24_bits(address: Ipv4Addr) -> String {
    let [a, ..] = address.octets();
    format!("0x{a:x}.{}", address.to_bits() & 0x00ff_ffff)
}

proptest! {
    #[test]
    fn arbitrary_allowed_network_lists_parse_or_are_refused_never_panic(
        list in prop_oneof!["[0-9a-f:./, ]{0,40}", ".{0,40}"],
    ) {
        if let Ok(allowed) = list.parse::<AllowedNetworks>() {
            let shown: Vec<String> = allowed.networks().iter().map(ToString::to_string).collect();
            let again: AllowedNetworks = shown.join(",").parse().expect("a parsed list parses again");
            prop_assert_eq!(again.networks(), allowed.networks());
        }
    }

    #[test]
    fn every_spelling_of_a_private_address_is_refused(low_bits in 0u32..(1 << 24), trailing_dot in any::<bool>()) {
        let address = Ipv4Addr::from_bits((10 << 24) | low_bits);
        let dot = if trailing_dot { "." } else { "" };
        for spelling in [
            address.to_string(),
            decimal(address),
            hexadecimal(address),
            dotted_octal(address),
            first_octet_then_24_bits(address),
        ] {
            let raw = format!("https://{spelling}{dot}/hook");
            prop_assert_eq!(
                Destination::parse(&raw, &nothing_allowed()),
                Err(DestinationRefusal::ForbiddenAddress {
                    address: IpAddr::V4(address),
                    class: AddressClass::Private,
                }),
                "{}", raw
            );
        }
    }

    #[test]
    fn ipv6_forms_carrying_an_ipv4_address_are_judged_by_it(bits in any::<u32>()) {
        let v4 = Ipv4Addr::from_bits(bits);
        let class = classify(IpAddr::V4(v4));
        let nat64 = Ipv6Addr::from_bits((0x0064_ff9b_u128 << 96) | u128::from(bits));
        let six_to_four = Ipv6Addr::from_bits((0x2002_u128 << 112) | (u128::from(bits) << 80));
        prop_assert_eq!(classify(IpAddr::V6(v4.to_ipv6_mapped())), class);
        prop_assert_eq!(classify(IpAddr::V6(nat64)), class);
        prop_assert_eq!(classify(IpAddr::V6(six_to_four)), class);
        if bits > 1 {
            prop_assert_eq!(classify(IpAddr::V6(v4.to_ipv6_compatible())), class);
        }
    }

    #[test]
    fn an_https_ip_literal_passes_exactly_when_it_is_public(bits in any::<u32>()) {
        let address = Ipv4Addr::from_bits(bits);
        let accepted = Destination::parse(&format!("https://{}/", decimal(address)), &nothing_allowed()).is_ok();
        prop_assert_eq!(accepted, classify(IpAddr::V4(address)).is_none());
    }

    #[test]
    fn arbitrary_input_never_panics(raw in "\\PC{0,80}") {
        let _ = Destination::parse(&raw, &nothing_allowed());
        let _ = Destination::parse(&format!("https://{raw}"), &allowing("10.0.0.0/8"));
    }
}
