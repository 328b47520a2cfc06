//! X-Forwarded-For from a trusted proxy: whatever the header holds, the client address
//! is the peer or an address written in one of its entries (as `ADDR`, `ADDR:PORT` or
//! `[V6]`), and an untrusted peer's header is ignored.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::access::client_ip::client_address;
use modgate::access::NetSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

fn written(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

fuzz_target!(|data: &[u8]| {
    let trusted_peer = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let trusted = NetSet::new(&["10.0.0.0/8".parse().expect("literal network")]);
    // Several header lines: the input split at newlines.
    let values: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let client = client_address(trusted_peer, &trusted, values.iter().copied());
    if client != trusted_peer {
        let found = values
            .iter()
            .flat_map(|v| v.split(|b| *b == b','))
            .filter_map(|entry| std::str::from_utf8(entry).ok())
            .any(|entry| written(entry) == Some(client));
        assert!(found, "{client} is in no entry of {:?}", String::from_utf8_lossy(data));
    }
    let outsider = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    assert_eq!(client_address(outsider, &trusted, values.iter().copied()), outsider);
});
