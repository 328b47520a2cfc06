//! X-Forwarded-For from a trusted proxy: whatever the header holds, the client address
//! is the peer or an address written in one of its entries (as `ADDR`, `ADDR:PORT` or
//! `[V6]`), an untrusted peer's header is ignored, and the answer is the one a plain
//! reference implementation (right to left, stop at the first untrusted or malformed
//! entry, networks tested with `ipnet` one by one) gives, for several trusted sets
//! including IPv6 and IPv4-mapped peers.
#![no_main]

use ipnet::IpNet;
use libfuzzer_sys::fuzz_target;
use modgate::access::client_ip::client_address;
use modgate::access::NetSet;
use std::net::{IpAddr, SocketAddr};

fn written(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

/// An IPv4 client reached over IPv6 (`::ffff:a.b.c.d`) is judged as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn reference(peer: IpAddr, nets: &[IpNet], values: &[&[u8]]) -> IpAddr {
    let trusted = |addr: IpAddr| nets.iter().any(|n| n.contains(&canonical(addr)));
    if !trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for value in values.iter().rev() {
        for entry in value.rsplit(|b| *b == b',') {
            match std::str::from_utf8(entry).ok().and_then(written) {
                Some(addr) => {
                    client = addr;
                    if !trusted(addr) {
                        return addr;
                    }
                }
                None => return client,
            }
        }
    }
    client
}

const SETS: &[(&str, &[&str])] = &[
    ("10.0.0.1", &["10.0.0.0/8"]),
    ("::ffff:10.0.0.1", &["10.0.0.0/8", "2001:db8::/32"]),
    ("2001:db8::1", &["2001:db8::/32", "192.0.2.0/24", "::1/128"]),
    ("127.0.0.1", &["0.0.0.0/0"]),
    ("::1", &["::/0"]),
];

fuzz_target!(|data: &[u8]| {
    // Several header lines: the input split at newlines.
    let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    for (peer, nets) in SETS {
        let peer: IpAddr = peer.parse().expect("literal peer");
        let nets: Vec<IpNet> = nets
            .iter()
            .map(|n| n.parse().expect("literal net"))
            .collect();
        let trusted = NetSet::new(&nets);
        let client = client_address(peer, &trusted, values.iter().copied());
        if client != peer {
            let found = values
                .iter()
                .flat_map(|v| v.split(|b| *b == b','))
                .filter_map(|entry| std::str::from_utf8(entry).ok())
                .any(|entry| written(entry) == Some(client));
            assert!(
                found,
                "{client} is in no entry of {:?}",
                String::from_utf8_lossy(data)
            );
        }
        assert_eq!(
            client,
            reference(peer, &nets, &values),
            "peer {peer}, trusted {nets:?}, header {:?}",
            String::from_utf8_lossy(data)
        );
    }
    let outsider: IpAddr = "192.0.2.9".parse().expect("literal address");
    let trusted = NetSet::new(&["10.0.0.0/8".parse().expect("literal network")]);
    assert_eq!(
        client_address(outsider, &trusted, values.iter().copied()),
        outsider
    );
    // No trusted proxies at all: the peer is the client.
    assert_eq!(
        client_address(outsider, &NetSet::new(&[]), values.iter().copied()),
        outsider
    );
});
