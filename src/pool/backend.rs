//! One upstream module proxy and its live state.

use arc_swap::ArcSwapOption;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug)]
pub struct Backend {
    /// As written in the file, for logs.
    pub url: String,
    /// `host:port`, the metrics label.
    pub label: String,
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// The URL's path without a trailing slash: `$base/<module>/@v/...`.
    pub base_path: String,
    pub weight: u32,
    pub state: Arc<BackendState>,
}

impl Backend {
    /// The Host header an upstream expects: the port only when it is not the default.
    pub fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// What survives a reload: shared by every snapshot that has this backend in this pool.
#[derive(Debug)]
pub struct BackendState {
    up: AtomicBool,
    address: ArcSwapOption<SocketAddr>,
}

impl BackendState {
    /// Backends start up, as in Pingora: a fresh gateway serves before its first check.
    pub fn new(address: Option<SocketAddr>) -> BackendState {
        BackendState {
            up: AtomicBool::new(true),
            address: ArcSwapOption::new(address.map(Arc::new)),
        }
    }

    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::Relaxed);
    }

    pub fn address(&self) -> Option<SocketAddr> {
        self.address.load().as_deref().copied()
    }

    pub fn set_address(&self, address: SocketAddr) {
        if self.address() != Some(address) {
            self.address.store(Some(Arc::new(address)));
        }
    }
}
