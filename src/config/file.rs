//! The YAML file as written by the operator: a mirror of the configuration contract.
//!
//! Nothing here is interpreted; `compile` turns it into a `Snapshot`. Keeping the two
//! apart lets the file format change without the request path noticing.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub log: Log,
    pub listeners: Vec<Listener>,
    pub admin: Option<Admin>,
    #[serde(default)]
    pub client_ip: ClientIp,
    pub access: Option<Access>,
    pub auth: Option<Auth>,
    pub pools: BTreeMap<String, Pool>,
    pub routes: Vec<Route>,
    #[serde(default)]
    pub sumdb: Vec<Sumdb>,
    pub cache: Option<Cache>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub threads: Option<usize>,
    pub grace_period: Option<String>,
    pub pid_file: Option<String>,
    pub upgrade_socket: Option<String>,
    /// How long an idle keep-alive connection is kept open.
    pub keepalive_timeout: Option<String>,
    /// How long a client may take from connecting (or its first byte on a kept
    /// connection) to the end of its request headers.
    pub header_timeout: Option<String>,
    /// How long a client may take none of an answer's bytes before it is closed.
    pub send_timeout: Option<String>,
    /// Largest request header block accepted, in bytes.
    pub max_header_bytes: Option<usize>,
    /// Longest request line (method, target, version) accepted, in bytes.
    pub max_request_line: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Log {
    pub format: Option<String>,
    pub level: Option<String>,
    /// What a full log queue does to the request that logs: block (default) or drop.
    pub on_full: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    pub address: String,
    pub tls: Option<ListenerTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    pub certificates: Vec<Certificate>,
    pub client_ca: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    pub cert: String,
    pub key: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientIp {
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    pub default: String,
    #[serde(default)]
    pub rules: Vec<AccessRule>,
}

/// Exactly one of the two is set; `compile` reports a rule with both or neither.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    pub allow: Option<Vec<String>>,
    pub deny: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    pub anonymous: Option<String>,
    #[serde(default)]
    pub roles: BTreeMap<String, Role>,
    #[serde(default)]
    pub keys: Vec<Key>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    #[serde(default)]
    pub routes: Vec<String>,
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Key {
    pub id: String,
    pub sha256: Option<String>,
    pub secret: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub backends: Vec<Backend>,
    pub health_check: Option<HealthCheck>,
    pub connect_timeout: Option<String>,
    pub read_timeout: Option<String>,
    pub retries: Option<u32>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub tls: Option<PoolTls>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    pub url: String,
    pub weight: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    pub path: Option<String>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub healthy_threshold: Option<u32>,
    pub unhealthy_threshold: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolTls {
    pub ca: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub name: String,
    pub modules: Vec<String>,
    pub pools: Vec<String>,
    #[serde(default)]
    pub private: bool,
    /// Default: true when a cache section exists.
    pub cache: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sumdb {
    pub name: String,
    pub pool: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    pub dir: String,
    pub max_size: Option<String>,
    pub list_ttl: Option<String>,
    /// A shared object store; not served yet, so its presence is an error that says so.
    pub store: Option<serde_yaml::Value>,
}
