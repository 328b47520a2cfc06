//! The client address of a request: the TCP peer, or, when the peer is a trusted
//! proxy, the right-most X-Forwarded-For entry that is not itself a trusted proxy.
//! Entries left of that one were written by parties we cannot vouch for.

use super::rules::NetSet;
use std::net::{IpAddr, SocketAddr};

/// `forwarded_for` holds every X-Forwarded-For header value in arrival order.
pub fn client_address<'a>(
    peer: IpAddr,
    trusted: &NetSet,
    forwarded_for: impl DoubleEndedIterator<Item = &'a [u8]>,
) -> IpAddr {
    if !trusted.contains(peer) {
        return peer;
    }
    let mut client = peer;
    for value in forwarded_for.rev() {
        for entry in value.rsplit(|b| *b == b',') {
            match parse_entry(entry) {
                Some(addr) => {
                    client = addr;
                    if !trusted.contains(addr) {
                        return addr;
                    }
                }
                // A malformed hop breaks the chain: stop at the last address we trust.
                None => return client,
            }
        }
    }
    client
}

/// One X-Forwarded-For entry: an address, possibly with a port or in brackets.
fn parse_entry(entry: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(entry).ok()?.trim();
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn trusted() -> NetSet {
        NetSet::new(&["10.1.2.0/24".parse().expect("net")])
    }

    fn client(peer: &str, headers: &[&str]) -> String {
        client_address(
            peer.parse().expect("peer"),
            &trusted(),
            headers.iter().map(|h| h.as_bytes()),
        )
        .to_string()
    }

    #[test]
    fn untrusted_peers_cannot_claim_another_address() {
        assert_eq!(client("192.0.2.9", &["203.0.113.5"]), "192.0.2.9");
    }

    #[test]
    fn a_trusted_proxy_reports_the_client() {
        assert_eq!(client("10.1.2.3", &["203.0.113.5"]), "203.0.113.5");
        assert_eq!(client("10.1.2.3", &[]), "10.1.2.3");
    }

    #[test]
    fn the_rightmost_untrusted_entry_wins_over_spoofed_left_entries() {
        assert_eq!(
            client("10.1.2.3", &["1.1.1.1, 203.0.113.5, 10.1.2.7"]),
            "203.0.113.5"
        );
        assert_eq!(
            client("10.1.2.3", &["1.1.1.1", "203.0.113.5,10.1.2.7"]),
            "203.0.113.5"
        );
    }

    #[test]
    fn ports_brackets_and_v6_are_understood() {
        assert_eq!(client("10.1.2.3", &["203.0.113.5:4711"]), "203.0.113.5");
        assert_eq!(client("10.1.2.3", &["[2001:db8::1]:443"]), "2001:db8::1");
        assert_eq!(client("10.1.2.3", &["2001:db8::2"]), "2001:db8::2");
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        assert_eq!(client("10.1.2.3", &["203.0.113.5, nonsense"]), "10.1.2.3");
        assert_eq!(
            client("10.1.2.3", &["203.0.113.5, ???, 10.1.2.9"]),
            "10.1.2.9"
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_untrusted_peers_are_kept(header in proptest::collection::vec(any::<u8>(), 0..200)) {
            let peer: IpAddr = "192.0.2.1".parse().expect("peer");
            prop_assert_eq!(client_address(peer, &trusted(), [header.as_slice()].into_iter()), peer);
            let proxy: IpAddr = "10.1.2.1".parse().expect("proxy");
            let _ = client_address(proxy, &trusted(), [header.as_slice()].into_iter());
        }
    }
}
