use super::{valid_name, Ctx};
use crate::auth::keyring::Role;
use crate::auth::{hash_key, Grant, Keyring, RouteSet};
use crate::config::file;
use std::collections::{HashMap, HashSet};

pub(super) fn keyring(ctx: &mut Ctx, auth: Option<&file::Auth>, routes: &[file::Route]) -> Keyring {
    let Some(auth) = auth else {
        return Keyring::open();
    };
    let route_index: HashMap<&str, usize> = routes
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    let mut grants: HashMap<&str, Grant> = HashMap::new();
    let mut roles = Vec::new();
    for (name, role) in &auth.roles {
        let path = format!("auth.roles.{name}");
        if !valid_name(name) {
            ctx.error(
                &path,
                format!("invalid role name {name:?}: use letters, digits, - _ ."),
            );
        }
        let mut set = RouteSet::default();
        for (i, route) in role.routes.iter().enumerate() {
            if route == "*" {
                set = RouteSet::every_route();
            } else if let Some(index) = route_index.get(route.as_str()) {
                set.insert(*index);
            } else {
                ctx.error(
                    &format!("{path}.routes[{i}]"),
                    format!("role {name:?} names unknown route {route:?}: define it under routes or use \"*\""),
                );
            }
        }
        let grant = Grant {
            key_id: None,
            routes: set,
            admin: role.admin,
        };
        roles.push(Role {
            name: name.clone(),
            grant: grant.clone(),
        });
        grants.insert(name, grant);
    }
    let anonymous = auth.anonymous.as_deref().and_then(|name| {
        let grant = grants.get(name).cloned();
        if grant.is_none() {
            ctx.error(
                "auth.anonymous",
                format!("anonymous role {name:?} is not defined under auth.roles"),
            );
        }
        grant
    });
    let mut keyring = Keyring::new(roles, anonymous);
    let mut ids = HashSet::new();
    let mut hashes = HashSet::new();
    for (i, key) in auth.keys.iter().enumerate() {
        let path = format!("auth.keys[{i}]");
        if !valid_name(&key.id) {
            ctx.error(
                &format!("{path}.id"),
                format!("invalid key id {:?}: use letters, digits, - _ .", key.id),
            );
        }
        if !ids.insert(key.id.as_str()) {
            ctx.error(
                &format!("{path}.id"),
                format!("key id {:?} is used twice", key.id),
            );
        }
        let hash = match (&key.sha256, &key.secret) {
            (Some(hex_digest), None) => match hex::decode(hex_digest.trim()) {
                Ok(bytes) if bytes.len() == 32 => bytes.try_into().ok(),
                _ => {
                    ctx.error(
                        &format!("{path}.sha256"),
                        "sha256 must be 64 hex digits: compute it with `modgate hash-key`",
                    );
                    None
                }
            },
            // The clear key is hashed here and not kept anywhere.
            (None, Some(secret)) if !secret.is_empty() => Some(hash_key(secret.as_bytes())),
            (None, Some(_)) => {
                ctx.error(&format!("{path}.secret"), "the key's secret is empty");
                None
            }
            _ => {
                ctx.error(
                    &path,
                    "a key has exactly one of sha256 (from `modgate hash-key`) or secret (\"${ENV_VAR}\")",
                );
                None
            }
        };
        let mut grant = Grant {
            key_id: Some(key.id.as_str().into()),
            ..Grant::default()
        };
        if key.roles.is_empty() {
            ctx.error(
                &format!("{path}.roles"),
                format!("key {:?} has no roles: list at least one", key.id),
            );
        }
        for (r, role) in key.roles.iter().enumerate() {
            match grants.get(role.as_str()) {
                Some(role_grant) => {
                    grant.routes.union(&role_grant.routes);
                    grant.admin |= role_grant.admin;
                }
                None => ctx.error(
                    &format!("{path}.roles[{r}]"),
                    format!(
                        "key {:?} names unknown role {role:?}: define it under auth.roles",
                        key.id
                    ),
                ),
            }
        }
        if let Some(hash) = hash {
            if !hashes.insert(hash) {
                ctx.error(
                    &path,
                    format!("key {:?} has the same secret as another key", key.id),
                );
            }
            keyring.add_key(hash, grant);
        }
    }
    keyring
}
