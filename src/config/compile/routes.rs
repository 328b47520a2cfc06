use super::{valid_name, Ctx};
use crate::config::file;
use crate::module::pattern::ModulePatterns;
use crate::pool::Pool;
use crate::route::{Route, RouteTable};
use crate::snapshot::Sumdb;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// How many upstream tries one request may make, all pools and retries of its route
/// together. Pingora stops at its `max_retries` without a word, so the server is
/// given this bound and a route that could need more is refused.
pub const MAX_TRIES: usize = 256;

pub(super) fn routes(
    ctx: &mut Ctx,
    routes: &[file::Route],
    pool_names: &HashMap<String, usize>,
    pools_built: &[Arc<Pool>],
    cache_configured: bool,
) -> RouteTable {
    if routes.is_empty() {
        ctx.error(
            "routes",
            "no route: add one, e.g. - {name: public, modules: [\"*\"], pools: [public]}",
        );
    }
    let mut names = HashSet::new();
    let mut table = Vec::with_capacity(routes.len());
    for (i, route) in routes.iter().enumerate() {
        let path = format!("routes[{i}]");
        if !valid_name(&route.name) {
            ctx.error(
                &format!("{path}.name"),
                format!(
                    "invalid route name {:?}: use letters, digits, - _ .",
                    route.name
                ),
            );
        }
        if !names.insert(route.name.as_str()) {
            ctx.error(
                &format!("{path}.name"),
                format!("route name {:?} is used twice", route.name),
            );
        }
        if route.modules.is_empty() {
            ctx.error(
                &format!("{path}.modules"),
                "a route needs module patterns, e.g. [\"*.corp.example.com\"] or [\"*\"]",
            );
        }
        let patterns = match ModulePatterns::new(&route.modules) {
            Ok(patterns) => patterns,
            Err(error) => {
                ctx.error(
                    &format!("{path}.modules"),
                    format!("{error}: use Go's GOPRIVATE pattern syntax"),
                );
                continue;
            }
        };
        if route.pools.is_empty() {
            ctx.error(&format!("{path}.pools"), "a route needs at least one pool");
        }
        let pools = route
            .pools
            .iter()
            .enumerate()
            .filter_map(|(p, name)| {
                let found = pool_names.get(name).copied();
                if found.is_none() {
                    ctx.error(
                        &format!("{path}.pools[{p}]"),
                        format!(
                            "route {:?} names unknown pool {name:?}: define it under pools",
                            route.name
                        ),
                    );
                }
                found
            })
            .collect::<Vec<usize>>();
        let tries: u64 = pools
            .iter()
            .filter_map(|p| pools_built.get(*p))
            .map(|pool| u64::from(pool.retries) + 1)
            .sum();
        if tries > MAX_TRIES as u64 {
            ctx.error(
                &format!("{path}.pools"),
                format!(
                    "route {:?} may try its pools {tries} times (each pool's retries + 1, added up); at most {MAX_TRIES}: lower some pool's retries",
                    route.name
                ),
            );
        }
        let is_tree = |p: &usize| pools_built.get(*p).is_some_and(|pool| pool.tree.is_some());
        if pools.iter().skip_while(|p| is_tree(p)).any(is_tree) {
            ctx.error(
                &format!("{path}.pools"),
                format!(
                    "route {:?} lists a file:// pool after a network pool: list file:// pools first (they are asked first)",
                    route.name
                ),
            );
        }
        table.push(Route {
            name: route.name.clone(),
            patterns,
            pools,
            private: route.private,
            cache: route.cache.unwrap_or(cache_configured),
        });
    }
    RouteTable::new(table)
}

pub(super) fn sumdbs(
    ctx: &mut Ctx,
    sumdbs: &[file::Sumdb],
    pool_names: &HashMap<String, usize>,
    pools_built: &[Arc<Pool>],
) -> Vec<Sumdb> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, sumdb) in sumdbs.iter().enumerate() {
        let path = format!("sumdb[{i}]");
        if !valid_name(&sumdb.name) {
            ctx.error(
                &format!("{path}.name"),
                format!(
                    "invalid checksum database name {:?}: write its host name, e.g. sum.golang.org",
                    sumdb.name
                ),
            );
        }
        if !names.insert(sumdb.name.as_str()) {
            ctx.error(
                &format!("{path}.name"),
                format!("checksum database {:?} is listed twice", sumdb.name),
            );
        }
        if pool_names
            .get(&sumdb.pool)
            .and_then(|p| pools_built.get(*p))
            .is_some_and(|p| p.tree.is_some())
        {
            ctx.error(
                &format!("{path}.pool"),
                "a checksum database cannot be served from a file:// pool",
            );
        }
        match pool_names.get(&sumdb.pool) {
            Some(pool) => out.push(Sumdb {
                name: sumdb.name.clone(),
                pool: *pool,
            }),
            None => ctx.error(
                &format!("{path}.pool"),
                format!(
                    "checksum database {:?} names unknown pool {:?}: define it under pools",
                    sumdb.name, sumdb.pool
                ),
            ),
        }
    }
    out
}
