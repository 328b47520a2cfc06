//! A binary prefix trie over IP addresses that answers "which is the first listed
//! CIDR containing this address" in at most 32 (IPv4) or 128 (IPv6) steps, whatever
//! the number of entries: thousands of rules cost the same as ten.

use ipnet::IpNet;
use std::net::IpAddr;

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    children: [u32; 2],
    /// Lowest entry index whose prefix ends here.
    entry: u32,
}

#[derive(Debug, Clone)]
struct Family {
    nodes: Vec<Node>,
}

impl Family {
    fn new() -> Family {
        Family {
            nodes: vec![Node {
                children: [NONE; 2],
                entry: NONE,
            }],
        }
    }

    fn insert(&mut self, bits: u128, len: u8, width: u8, entry: u32) {
        let mut at = 0usize;
        for i in 0..len {
            let bit = ((bits >> (width - 1 - i)) & 1) as usize;
            let next = self.nodes[at].children[bit];
            at = if next == NONE {
                self.nodes.push(Node {
                    children: [NONE; 2],
                    entry: NONE,
                });
                let new = (self.nodes.len() - 1) as u32;
                self.nodes[at].children[bit] = new;
                new as usize
            } else {
                next as usize
            };
        }
        let node = &mut self.nodes[at];
        node.entry = node.entry.min(entry);
    }

    fn first_match(&self, bits: u128, width: u8) -> Option<u32> {
        let mut best = NONE;
        let mut at = 0usize;
        for i in 0..=width {
            let node = &self.nodes[at];
            best = best.min(node.entry);
            if i == width {
                break;
            }
            let bit = ((bits >> (width - 1 - i)) & 1) as usize;
            match node.children[bit] {
                NONE => break,
                next => at = next as usize,
            }
        }
        (best != NONE).then_some(best)
    }
}

/// Entries are numbered in the order they were added; lookups return the lowest
/// number that contains the address.
#[derive(Debug, Clone)]
pub struct PrefixTrie {
    v4: Family,
    v6: Family,
}

impl Default for PrefixTrie {
    fn default() -> Self {
        PrefixTrie {
            v4: Family::new(),
            v6: Family::new(),
        }
    }
}

impl PrefixTrie {
    pub fn insert(&mut self, net: IpNet, entry: u32) {
        match net.trunc() {
            IpNet::V4(n) => self
                .v4
                .insert(u32::from(n.addr()) as u128, n.prefix_len(), 32, entry),
            IpNet::V6(n) => self
                .v6
                .insert(u128::from(n.addr()), n.prefix_len(), 128, entry),
        }
    }

    pub fn first_match(&self, addr: IpAddr) -> Option<u32> {
        match canonical(addr) {
            IpAddr::V4(a) => self.v4.first_match(u32::from(a) as u128, 32),
            IpAddr::V6(a) => self.v6.first_match(u128::from(a), 128),
        }
    }
}

/// An IPv4 client reached over an IPv6 socket (`::ffff:1.2.3.4`) is judged by the
/// IPv4 rules, as the operator wrote them.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trie(nets: &[&str]) -> PrefixTrie {
        let mut t = PrefixTrie::default();
        for (i, n) in nets.iter().enumerate() {
            t.insert(n.parse().expect("net"), i as u32);
        }
        t
    }

    fn at(t: &PrefixTrie, a: &str) -> Option<u32> {
        t.first_match(a.parse().expect("addr"))
    }

    #[test]
    fn the_first_listed_match_wins_not_the_longest() {
        let t = trie(&["10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0"]);
        assert_eq!(at(&t, "10.1.2.3"), Some(0));
        assert_eq!(at(&t, "11.0.0.1"), Some(2));
        let t = trie(&["10.1.0.0/16", "10.0.0.0/8"]);
        assert_eq!(at(&t, "10.1.2.3"), Some(0));
        assert_eq!(at(&t, "10.2.2.3"), Some(1));
    }

    #[test]
    fn families_are_separate_and_mapped_v4_uses_v4_rules() {
        let t = trie(&["::1/128", "127.0.0.0/8"]);
        assert_eq!(at(&t, "::1"), Some(0));
        assert_eq!(at(&t, "127.0.0.2"), Some(1));
        assert_eq!(at(&t, "::ffff:127.0.0.2"), Some(1));
        assert_eq!(at(&t, "::2"), None);
    }

    #[test]
    fn host_bits_in_a_network_are_ignored() {
        let t = trie(&["192.168.1.77/24"]);
        assert_eq!(at(&t, "192.168.1.1"), Some(0));
        assert_eq!(at(&t, "192.168.2.1"), None);
    }

    #[test]
    fn matches_a_linear_scan() {
        // A deterministic pseudo-random set of nets compared with the obvious algorithm.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let nets: Vec<IpNet> = (0..300)
            .map(|_| {
                let addr = std::net::Ipv4Addr::from((next() as u32) & 0xff0f_0f00);
                IpNet::V4(
                    ipnet::Ipv4Net::new(addr, (next() % 33) as u8)
                        .expect("prefix")
                        .trunc(),
                )
            })
            .collect();
        let mut t = PrefixTrie::default();
        for (i, n) in nets.iter().enumerate() {
            t.insert(*n, i as u32);
        }
        for _ in 0..2000 {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from((next() as u32) & 0xff0f_0fff));
            let linear = nets
                .iter()
                .position(|n| n.contains(&addr))
                .map(|i| i as u32);
            assert_eq!(t.first_match(addr), linear, "{addr}");
        }
    }
}
