//! Named groups of upstream module proxies: weighted round-robin over the healthy
//! backends, with the live state (health, resolved address) kept across reloads.

pub mod backend;
pub mod health;
pub mod registry;
pub mod schedule;
pub mod tree;

pub use backend::{Backend, BackendState};
pub use health::HealthSpec;

use pingora::utils::tls::{parse_x509, WrappedX509};
use schedule::Schedule;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug)]
pub struct Pool {
    pub name: String,
    pub backends: Vec<Backend>,
    schedule: Schedule,
    pub health: Option<HealthSpec>,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    pub retries: u32,
    /// Set on every upstream request of this pool (e.g. an internal host's credentials).
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Extra trust anchors for https backends; `None` means the system roots.
    pub ca: Option<Arc<[WrappedX509]>>,
    /// A `file://` pool's directory, served directly; it has no backends then.
    pub tree: Option<PathBuf>,
}

impl Pool {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        backends: Vec<Backend>,
        health: Option<HealthSpec>,
        connect_timeout: Duration,
        read_timeout: Duration,
        retries: u32,
        headers: Vec<(http::HeaderName, http::HeaderValue)>,
        ca: Vec<Vec<u8>>,
    ) -> Pool {
        // Each DER was parsed by x509-parser at compile time, so parsing cannot fail here.
        let ca = (!ca.is_empty()).then(|| {
            ca.into_iter()
                .map(|der| WrappedX509::new(der, parse_x509))
                .collect()
        });
        let weights: Vec<u32> = backends.iter().map(|b| b.weight).collect();
        Pool {
            name,
            schedule: Schedule::new(&weights),
            backends,
            health,
            connect_timeout,
            read_timeout,
            retries,
            headers,
            ca,
            tree: None,
        }
    }

    /// A pool that serves a GOPROXY-layout directory instead of asking backends.
    pub fn tree(name: String, dir: PathBuf) -> Pool {
        let mut pool = Pool::new(
            name,
            Vec::new(),
            None,
            Duration::from_secs(1),
            Duration::from_secs(1),
            0,
            Vec::new(),
            Vec::new(),
        );
        pool.tree = Some(dir);
        pool
    }

    /// The next backend in weighted round-robin order that is up, resolved and not
    /// refused by `skip` (the backends this request already tried).
    pub fn select(&self, skip: impl Fn(usize) -> bool) -> Option<usize> {
        self.schedule.pick(|i| {
            !skip(i)
                && self
                    .backends
                    .get(i)
                    .is_some_and(|b| b.state.is_up() && b.state.address().is_some())
        })
    }

    pub fn has_ready_backend(&self) -> bool {
        self.tree.as_deref().is_some_and(|t| t.is_dir())
            || self
                .backends
                .iter()
                .any(|b| b.state.is_up() && b.state.address().is_some())
    }
}
