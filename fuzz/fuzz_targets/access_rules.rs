//! Address rules and trusted-proxy sets (the prefix trie behind them): for any list of
//! networks and any address, the verdict is that of the first listed network containing
//! the address (IPv4-mapped IPv6 addresses judged as IPv4), else the default, exactly as
//! testing the networks one by one with `ipnet` says.
#![no_main]

use ipnet::IpNet;
use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use modgate::access::{AccessRules, NetSet, Verdict};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug)]
struct Input {
    default: Verdict,
    rules: Vec<(Verdict, Vec<IpNet>)>,
    probes: Vec<IpAddr>,
}

fn verdict(u: &mut Unstructured) -> libfuzzer_sys::arbitrary::Result<Verdict> {
    Ok(if bool::arbitrary(u)? {
        Verdict::Allow
    } else {
        Verdict::Deny
    })
}

/// Addresses from a small pool of bits so that networks and probes overlap often.
fn address(u: &mut Unstructured) -> libfuzzer_sys::arbitrary::Result<IpAddr> {
    let high: u8 = u.arbitrary()?;
    let low: u16 = u.arbitrary()?;
    Ok(match u.int_in_range(0..=3)? {
        0 => IpAddr::V4(Ipv4Addr::new(10, high, (low >> 8) as u8, low as u8)),
        1 => IpAddr::V4(Ipv4Addr::from(u32::arbitrary(u)?)),
        2 => IpAddr::V6(Ipv4Addr::new(10, high, (low >> 8) as u8, low as u8).to_ipv6_mapped()),
        _ => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, high.into(), 0, 0, 0, 0, low)),
    })
}

fn net(u: &mut Unstructured) -> libfuzzer_sys::arbitrary::Result<IpNet> {
    let addr = address(u)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = u.int_in_range(0..=max)?;
    Ok(IpNet::new(addr, len).expect("prefix length in range"))
}

impl<'a> Arbitrary<'a> for Input {
    fn arbitrary(u: &mut Unstructured<'a>) -> libfuzzer_sys::arbitrary::Result<Self> {
        let default = verdict(u)?;
        let mut rules = Vec::new();
        for _ in 0..u.int_in_range(0..=6)? {
            let v = verdict(u)?;
            let mut nets = Vec::new();
            for _ in 0..u.int_in_range(0..=4)? {
                nets.push(net(u)?);
            }
            rules.push((v, nets));
        }
        let mut probes = Vec::new();
        while !u.is_empty() && probes.len() < 16 {
            probes.push(address(u)?);
        }
        Ok(Input {
            default,
            rules,
            probes,
        })
    }
}

fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fuzz_target!(|input: Input| {
    let access = AccessRules::new(input.default, &input.rules);
    let all: Vec<IpNet> = input
        .rules
        .iter()
        .flat_map(|(_, n)| n.iter().copied())
        .collect();
    let set = NetSet::new(&all);
    for &probe in &input.probes {
        let addr = canonical(probe);
        let want = input
            .rules
            .iter()
            .flat_map(|(v, nets)| nets.iter().map(move |n| (*v, n)))
            .find(|(_, n)| n.contains(&addr))
            .map_or(input.default, |(v, _)| v);
        assert_eq!(access.verdict(probe), want, "{probe} against {input:?}");
        assert_eq!(
            set.contains(probe),
            all.iter().any(|n| n.contains(&addr)),
            "{probe} in {all:?}"
        );
    }
});
