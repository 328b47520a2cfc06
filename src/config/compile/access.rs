use super::Ctx;
use crate::access::{AccessRules, NetSet, Verdict};
use crate::config::file;
use ipnet::IpNet;

pub(super) fn trusted_proxies(ctx: &mut Ctx, client_ip: &file::ClientIp) -> NetSet {
    let nets = cidrs(ctx, "client_ip.trusted_proxies", &client_ip.trusted_proxies);
    NetSet::new(&nets)
}

pub(super) fn rules(ctx: &mut Ctx, access: Option<&file::Access>) -> AccessRules {
    let Some(access) = access else {
        return AccessRules::allow_all();
    };
    let default = verdict(ctx, "access.default", &access.default);
    let mut rules = Vec::new();
    for (i, rule) in access.rules.iter().enumerate() {
        let path = format!("access.rules[{i}]");
        match (&rule.allow, &rule.deny) {
            (Some(nets), None) => {
                rules.push((Verdict::Allow, cidrs(ctx, &format!("{path}.allow"), nets)))
            }
            (None, Some(nets)) => {
                rules.push((Verdict::Deny, cidrs(ctx, &format!("{path}.deny"), nets)))
            }
            _ => ctx.error(
                &path,
                "an access rule has exactly one of allow or deny, e.g. - allow: [\"10.0.0.0/8\"]",
            ),
        }
    }
    AccessRules::new(default, &rules)
}

fn verdict(ctx: &mut Ctx, path: &str, text: &str) -> Verdict {
    match text {
        "allow" => Verdict::Allow,
        "deny" => Verdict::Deny,
        other => {
            ctx.error(
                path,
                format!("unknown access default {other:?}: use allow or deny"),
            );
            Verdict::Deny
        }
    }
}

/// A bare address is taken as a single host (`/32` or `/128`).
fn cidrs(ctx: &mut Ctx, path: &str, list: &[String]) -> Vec<IpNet> {
    let mut nets = Vec::with_capacity(list.len());
    for (i, text) in list.iter().enumerate() {
        let parsed = text
            .parse::<IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => nets.push(net),
            Err(_) => ctx.error(
                &format!("{path}[{i}]"),
                format!("invalid CIDR {text:?}: write an address with a prefix length, e.g. \"10.0.0.0/8\" or \"::1/128\""),
            ),
        }
    }
    nets
}
