//! One immutable, validated configuration with everything the request path needs
//! pre-built. A request takes one `Arc<Snapshot>` at its start and keeps it to the
//! end, so a reload never changes the rules under a request in flight.

use crate::access::{AccessRules, NetSet};
use crate::auth::Keyring;
use crate::pool::Pool;
use crate::route::RouteTable;
use crate::tls::TlsMaterial;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
pub struct Snapshot {
    /// The file this snapshot was built from.
    pub source: PathBuf,
    pub server: ServerSettings,
    pub log: LogSettings,
    pub listeners: Vec<ListenerSpec>,
    pub admin: Option<SocketAddr>,
    pub trusted_proxies: NetSet,
    pub access: AccessRules,
    pub keyring: Keyring,
    pub routes: RouteTable,
    pub pools: Vec<Arc<Pool>>,
    pub sumdbs: Vec<Sumdb>,
    pub cache: Option<CacheSettings>,
}

impl Snapshot {
    pub fn sumdb(&self, name: &str) -> Option<&Sumdb> {
        self.sumdbs.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSettings {
    /// Only read at start; a reload that changes them says so.
    pub start: StartSettings,
    /// Read per connection or request, so a reload applies them to new ones.
    pub limits: ClientLimits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartSettings {
    pub threads: usize,
    pub grace_period: Duration,
    pub pid_file: Option<PathBuf>,
    pub upgrade_socket: Option<PathBuf>,
}

/// What a client may send and how long it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    pub keepalive_timeout: Duration,
    pub header_timeout: Duration,
    /// A client that takes none of an answer's bytes for this long is closed.
    pub send_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_request_line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
    pub on_full: OnFull,
}

/// What logging does when the writer is behind and its queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFull {
    /// Wait for room: no line is lost, and a stalled output stalls the requests.
    Block,
    /// Drop the line and count it: serving never waits for the log.
    Drop,
}

#[derive(Debug, Clone)]
pub struct ListenerSpec {
    pub address: SocketAddr,
    pub tls: Option<TlsSpec>,
}

#[derive(Debug, Clone)]
pub struct TlsSpec {
    pub certificates: Vec<CertificatePaths>,
    pub client_ca: Option<PathBuf>,
    /// The files' content, loaded and checked.
    pub material: TlsMaterial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug)]
pub struct Sumdb {
    pub name: String,
    pub pool: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    pub dir: PathBuf,
    /// Least recently used artifacts are evicted past this many bytes.
    pub max_size: u64,
    pub list_ttl: Duration,
}
