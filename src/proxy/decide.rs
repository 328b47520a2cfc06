//! The request's way through modgate up to the choice of pools, as one pure function
//! over a snapshot: method, address rules, GOPROXY parsing, key, route, role. No I/O,
//! so every refusal is unit-tested and the whole path is benchmarked.

use crate::access::{client_ip::client_address, Verdict};
use crate::admin::Endpoint;
use crate::auth::{presented_key, AuthError, Presented};
use crate::request::{classify, hygiene, Kind, Refusal, Request};
use crate::snapshot::Snapshot;
use std::net::IpAddr;
use std::sync::Arc;

/// What the request handler knows before deciding.
pub struct Inbound<'a, X> {
    pub method: &'a http::Method,
    pub version: http::Version,
    /// Every header, for the checks on what a GOPROXY request never carries.
    pub headers: &'a http::HeaderMap,
    /// The path as received, without the query.
    pub path: &'a str,
    pub peer: IpAddr,
    /// Every X-Forwarded-For value, in arrival order.
    pub forwarded_for: X,
    pub api_key: Option<&'a [u8]>,
    pub authorization: Option<&'a [u8]>,
}

/// Why a request was refused: the `reason` label of `modgate_denied_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    Address,
    NoKey,
    BadKey,
    Forbidden,
    BadRequest,
    NoRoute,
}

impl DenyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::Address => "address",
            DenyReason::NoKey => "no_key",
            DenyReason::BadKey => "bad_key",
            DenyReason::Forbidden => "forbidden",
            DenyReason::BadRequest => "bad_request",
            DenyReason::NoRoute => "no_route",
        }
    }
}

/// A response modgate writes itself: a refusal, or a checksum database's `supported`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// text/plain, one or two lines the go command shows its user.
    pub body: String,
    pub reason: Option<DenyReason>,
    pub challenge: bool,
}

/// Where a request goes: the pools to try in order and the path to ask them for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub kind: Kind,
    pub module: Option<String>,
    pub version: Option<String>,
    pub route: Option<usize>,
    pub pools: Vec<usize>,
    /// Appended to the backend's base path; the module path stays escaped as it came.
    pub upstream_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub client: IpAddr,
    pub key_id: Option<Arc<str>>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Forward(Forward),
    Answer(Answer),
    /// An admin endpoint, asked for on a listener by a key with an admin role.
    Admin(Endpoint),
}

fn refuse(status: u16, reason: DenyReason, body: String) -> Outcome {
    Outcome::Answer(Answer {
        status,
        body,
        reason: Some(reason),
        challenge: matches!(reason, DenyReason::NoKey | DenyReason::BadKey),
    })
}

/// How a refusal names the requester: by key id, never by key.
fn who(key_id: &Option<Arc<str>>) -> String {
    match key_id {
        Some(id) => format!("key {id:?}"),
        None => "requests without a key".to_string(),
    }
}

pub fn decide<'a, X>(snapshot: &Snapshot, inbound: Inbound<'a, X>) -> Decision
where
    X: DoubleEndedIterator<Item = &'a [u8]>,
{
    let client = client_address(
        inbound.peer,
        &snapshot.trusted_proxies,
        inbound.forwarded_for,
    );
    let decision = |key_id, outcome| Decision {
        client,
        key_id,
        outcome,
    };
    if snapshot.access.verdict(client) == Verdict::Deny {
        return decision(
            None,
            refuse(
                403,
                DenyReason::Address,
                format!("modgate: address {client} is not allowed to use this proxy\n"),
            ),
        );
    }
    if inbound.method != http::Method::GET && inbound.method != http::Method::HEAD {
        return decision(
            None,
            refuse(
                405,
                DenyReason::BadRequest,
                "modgate: only GET and HEAD are served\n".into(),
            ),
        );
    }
    if let Err(flaw) = hygiene::check(inbound.version, inbound.headers) {
        return decision(
            None,
            refuse(400, DenyReason::BadRequest, flaw.message().into()),
        );
    }
    // A GOPROXY request, or else (Err) an admin endpoint asked for on a listener.
    let request = match classify(inbound.path) {
        Ok(request) => Ok(request),
        Err(Refusal::BadRequest(why)) => {
            return decision(
                None,
                refuse(400, DenyReason::BadRequest, format!("modgate: {why}\n")),
            )
        }
        Err(Refusal::NotFound) => match Endpoint::from_path(inbound.path) {
            Some(endpoint) => Err(endpoint),
            None => {
                return decision(
                    None,
                    refuse(
                        404,
                        DenyReason::NoRoute,
                        "modgate: not a module proxy path\n".into(),
                    ),
                )
            }
        },
    };
    let presented = presented_key(inbound.api_key, inbound.authorization);
    let key = match &presented {
        Presented::Nothing => None,
        Presented::Key(key) => Some(key.as_ref()),
        Presented::Malformed if snapshot.keyring.is_open() => None,
        Presented::Malformed => {
            return decision(None, refuse(401, DenyReason::BadKey, BAD_KEY.into()));
        }
    };
    let grant = match snapshot.keyring.authenticate(key) {
        Ok(grant) => grant,
        Err(AuthError::NoKey) => {
            return decision(None, refuse(401, DenyReason::NoKey, NO_KEY.into()))
        }
        Err(AuthError::BadKey) => {
            return decision(None, refuse(401, DenyReason::BadKey, BAD_KEY.into()))
        }
    };
    let key_id = grant.key_id.clone();
    let request = match request {
        Ok(request) => request,
        Err(endpoint) if grant.admin => return decision(key_id, Outcome::Admin(endpoint)),
        Err(_) => {
            let refusal = refuse(
                403,
                DenyReason::Forbidden,
                format!(
                    "modgate: {} may not read the admin endpoints; a role with admin: true can\n",
                    who(&grant.key_id)
                ),
            );
            return decision(key_id, refusal);
        }
    };
    let may_read = |route: usize| -> Result<(), Outcome> {
        if grant.routes.contains(route) {
            return Ok(());
        }
        let name = snapshot.routes.get(route).map_or("", |r| r.name.as_str());
        let who = who(&grant.key_id);
        let hint = match snapshot.keyring.role_for(route) {
            Some(role) => format!("; role {role:?} can"),
            None => String::new(),
        };
        Err(refuse(
            403,
            DenyReason::Forbidden,
            format!("modgate: {who} may not read route {name:?}{hint}\n"),
        ))
    };
    let outcome = match request {
        Request::Module {
            kind,
            module,
            version,
        } => match snapshot.routes.find(&module) {
            None => refuse(
                404,
                DenyReason::NoRoute,
                format!("modgate: no route serves module {module}\n"),
            ),
            Some(route) => match may_read(route) {
                Err(refusal) => refusal,
                Ok(()) => Outcome::Forward(Forward {
                    kind,
                    module: Some(module.into_owned()),
                    version: version.map(|v| v.into_owned()),
                    route: Some(route),
                    pools: snapshot
                        .routes
                        .get(route)
                        .map(|r| r.pools.clone())
                        .unwrap_or_default(),
                    upstream_path: inbound.path.to_string(),
                }),
            },
        },
        Request::SumdbSupported { name } => Outcome::Answer(if snapshot.sumdb(name).is_some() {
            Answer {
                status: 200,
                body: String::new(),
                reason: None,
                challenge: false,
            }
        } else {
            Answer {
                status: 404,
                body: format!("modgate: checksum database {name} is not proxied here\n"),
                reason: None,
                challenge: false,
            }
        }),
        Request::Sumdb {
            name,
            upstream_path,
            module,
        } => match snapshot.sumdb(name) {
            None => Outcome::Answer(Answer {
                status: 404,
                body: format!("modgate: checksum database {name} is not proxied here\n"),
                reason: None,
                challenge: false,
            }),
            Some(sumdb) => {
                let route = module.as_deref().and_then(|m| snapshot.routes.find(m));
                let private = route
                    .and_then(|r| snapshot.routes.get(r))
                    .filter(|r| r.private);
                match (private, module.as_deref()) {
                    (Some(_), Some(module)) => refuse(
                        403,
                        DenyReason::Forbidden,
                        format!("modgate: {module} is private and is never looked up in a checksum database\nset GONOSUMDB (or GOPRIVATE) to include {module}\n"),
                    ),
                    _ => match route.map(may_read).unwrap_or(Ok(())) {
                        Err(refusal) => refusal,
                        Ok(()) => Outcome::Forward(Forward {
                            kind: Kind::Sumdb,
                            module: module.map(|m| m.into_owned()),
                            version: None,
                            route: None,
                            pools: vec![sumdb.pool],
                            upstream_path: upstream_path.to_string(),
                        }),
                    },
                }
            }
        },
    };
    decision(key_id, outcome)
}

const NO_KEY: &str = "modgate: this proxy needs a key\nadd \"machine HOST login ID password KEY\" to ~/.netrc (or send Authorization: Bearer KEY)\n";
const BAD_KEY: &str =
    "modgate: the key sent is not valid here\ncheck the password for this host in ~/.netrc\n";
