//! The admin endpoints: served on `admin.address` to whoever can reach it, and on the
//! listeners to keys with an `admin: true` role (so an operator can scrape through the
//! same TLS front and keys as the go command).

use crate::cache::Store;
use crate::snapshot::Snapshot;
use crate::TEXT_PLAIN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Metrics,
    Health,
    Ready,
}

impl Endpoint {
    /// None of these is a GOPROXY path: a module path's first element has a dot.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        match path {
            "/metrics" => Some(Endpoint::Metrics),
            "/healthz" => Some(Endpoint::Health),
            "/readyz" => Some(Endpoint::Ready),
            _ => None,
        }
    }
}

pub struct Report {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// `store`: the cache's store when one is configured and could be opened.
pub fn report(endpoint: Endpoint, snapshot: &Snapshot, store: Option<&Store>) -> Report {
    match endpoint {
        Endpoint::Metrics => Report {
            status: 200,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: crate::metrics::render(),
        },
        Endpoint::Health => Report {
            status: 200,
            content_type: TEXT_PLAIN,
            body: b"ok\n".to_vec(),
        },
        Endpoint::Ready => {
            let waiting: Vec<&str> = snapshot
                .pools
                .iter()
                .filter(|p| !p.has_ready_backend())
                .map(|p| p.name.as_str())
                .collect();
            let unwritable = snapshot.cache.as_ref().and_then(|cache| {
                let writable = store
                    .map(Store::writable)
                    .unwrap_or_else(|| Err(std::io::Error::other("the store could not be opened")));
                writable
                    .err()
                    .map(|e| format!("the cache dir {} is not writable: {e}", cache.dir.display()))
            });
            let (status, body) = match (waiting.is_empty(), unwritable) {
                (true, None) => (200, "ready\n".to_string()),
                (_, Some(unwritable)) => (503, format!("not ready: {unwritable}\n")),
                (false, None) => (
                    503,
                    format!(
                        "not ready: no healthy backend in pool(s) {}\n",
                        waiting.join(", ")
                    ),
                ),
            };
            Report {
                status,
                content_type: TEXT_PLAIN,
                body: body.into_bytes(),
            }
        }
    }
}
