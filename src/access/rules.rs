//! Security-group style address rules: ordered allow/deny lists, first match wins,
//! a default for everything else.

use super::trie::PrefixTrie;
use ipnet::IpNet;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
pub struct AccessRules {
    trie: PrefixTrie,
    /// The verdict of each trie entry, by entry number.
    verdicts: Vec<Verdict>,
    default: Verdict,
}

impl AccessRules {
    /// Everyone is allowed: the meaning of a file without an `access` section.
    pub fn allow_all() -> AccessRules {
        AccessRules::new(Verdict::Allow, &[])
    }

    /// `rules` in file order; each CIDR becomes one entry so the first listed wins.
    pub fn new(default: Verdict, rules: &[(Verdict, Vec<IpNet>)]) -> AccessRules {
        let mut trie = PrefixTrie::default();
        let mut verdicts = Vec::new();
        for (verdict, nets) in rules {
            for net in nets {
                trie.insert(*net, verdicts.len() as u32);
                verdicts.push(*verdict);
            }
        }
        AccessRules {
            trie,
            verdicts,
            default,
        }
    }

    pub fn verdict(&self, addr: IpAddr) -> Verdict {
        self.trie
            .first_match(addr)
            .and_then(|entry| self.verdicts.get(entry as usize).copied())
            .unwrap_or(self.default)
    }
}

/// A set of networks, such as the trusted proxies.
#[derive(Debug, Clone, Default)]
pub struct NetSet {
    trie: PrefixTrie,
    empty: bool,
}

impl NetSet {
    pub fn new(nets: &[IpNet]) -> NetSet {
        let mut trie = PrefixTrie::default();
        for net in nets {
            trie.insert(*net, 0);
        }
        NetSet {
            trie,
            empty: nets.is_empty(),
        }
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        !self.empty && self.trie.first_match(addr).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().expect("net")).collect()
    }

    #[test]
    fn contract_example() {
        let rules = AccessRules::new(
            Verdict::Deny,
            &[
                (
                    Verdict::Allow,
                    nets(&["127.0.0.0/8", "::1/128", "10.0.0.0/8"]),
                ),
                (Verdict::Deny, nets(&["0.0.0.0/0", "::/0"])),
            ],
        );
        assert_eq!(
            rules.verdict("127.0.0.2".parse().expect("ip")),
            Verdict::Allow
        );
        assert_eq!(rules.verdict("::1".parse().expect("ip")), Verdict::Allow);
        assert_eq!(
            rules.verdict("192.0.2.1".parse().expect("ip")),
            Verdict::Deny
        );
    }

    #[test]
    fn the_default_applies_when_nothing_matches() {
        let rules = AccessRules::new(Verdict::Deny, &[(Verdict::Allow, nets(&["10.0.0.0/8"]))]);
        assert_eq!(
            rules.verdict("11.0.0.1".parse().expect("ip")),
            Verdict::Deny
        );
        let rules = AccessRules::new(Verdict::Allow, &[(Verdict::Deny, nets(&["10.0.0.0/8"]))]);
        assert_eq!(
            rules.verdict("11.0.0.1".parse().expect("ip")),
            Verdict::Allow
        );
        assert_eq!(
            rules.verdict("10.0.0.1".parse().expect("ip")),
            Verdict::Deny
        );
    }

    #[test]
    fn an_earlier_deny_beats_a_later_allow() {
        let rules = AccessRules::new(
            Verdict::Allow,
            &[
                (Verdict::Deny, nets(&["127.0.0.2/32"])),
                (Verdict::Allow, nets(&["127.0.0.0/8"])),
            ],
        );
        assert_eq!(
            rules.verdict("127.0.0.2".parse().expect("ip")),
            Verdict::Deny
        );
        assert_eq!(
            rules.verdict("127.0.0.3".parse().expect("ip")),
            Verdict::Allow
        );
    }
}
