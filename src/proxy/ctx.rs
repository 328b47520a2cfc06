//! Per-request state: the snapshot taken at the start, the decision, and where the
//! request stands in its pools and retries.

use super::decide::{Answer, Forward};
use crate::cache::{Fill, Lead, Progress, Store};
use crate::live::InFlight;
use crate::snapshot::Snapshot;
use pingora::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

/// The `result` label of `modgate_cache_requests_total` and the access log's `cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheResult {
    Hit,
    Miss,
    /// A kept list or `@latest` answer served because every upstream failed.
    Stale,
    /// Not stored: the route has `cache: false`, the answer can change (lists,
    /// queries), or the store is not available.
    Bypass,
}

impl CacheResult {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheResult::Hit => "hit",
            CacheResult::Miss => "miss",
            CacheResult::Stale => "stale",
            CacheResult::Bypass => "bypass",
        }
    }
}

pub struct RequestCtx {
    pub snapshot: Arc<Snapshot>,
    _in_flight: InFlight,
    pub started: Instant,
    pub client: Option<IpAddr>,
    pub key_id: Option<Arc<str>>,
    pub forward: Option<Forward>,
    pub answered: Option<Answer>,
    /// Position in `forward.pools`.
    pub pool_step: usize,
    /// Tries in the current pool, the first one included.
    pub tries_in_pool: u32,
    /// Every (pool, backend) tried, across pools.
    pub tried: Vec<(usize, usize)>,
    pub backend: Option<(usize, usize)>,
    pub upstream_status: Option<u16>,
    pub downstream_started: bool,
    pub failed_status: Option<u16>,
    pub bytes: u64,
    /// What the store did for a module request; `None` without a cache.
    pub cache: Option<CacheResult>,
    /// On a miss: the store and where the answer would go, until a 200 starts the fill.
    pub artifact: Option<(Arc<Store>, String)>,
    pub fill: Option<Fill>,
    /// This request leads the upstream fetch of its artifact for any that follow.
    pub lead: Option<Lead>,
    /// Another request is fetching this artifact: where to follow it.
    pub follow: Option<(Arc<Store>, String, watch::Receiver<Progress>)>,
    /// A kept list or `@latest` answer past `list_ttl`: the answer if every upstream
    /// fails.
    pub stale: Option<(Arc<Store>, String)>,
    /// Set when an upstream answer (5xx, or 404/410 with another pool left) was
    /// turned into an error so that Pingora asks for another peer.
    retry_requested: bool,
    /// Why the last peer selection failed, for the client.
    failure: Option<String>,
    /// When the current backend was chosen.
    upstream_started: Instant,
    /// Whether the current try was already counted in the upstream metrics.
    observed: bool,
}

impl RequestCtx {
    pub fn new(snapshot: Arc<Snapshot>, in_flight: InFlight) -> RequestCtx {
        RequestCtx {
            snapshot,
            _in_flight: in_flight,
            started: Instant::now(),
            client: None,
            key_id: None,
            forward: None,
            answered: None,
            pool_step: 0,
            tries_in_pool: 0,
            tried: Vec::new(),
            backend: None,
            upstream_status: None,
            downstream_started: false,
            failed_status: None,
            bytes: 0,
            cache: None,
            artifact: None,
            fill: None,
            lead: None,
            follow: None,
            stale: None,
            retry_requested: false,
            failure: None,
            upstream_started: Instant::now(),
            observed: false,
        }
    }

    fn pool_index(&self) -> Option<usize> {
        self.forward.as_ref()?.pools.get(self.pool_step).copied()
    }

    /// Picks the next backend of the current pool: an untried one when there is one,
    /// else any healthy one (a one-backend pool retries itself after a backoff).
    pub fn next_backend(&mut self) -> Result<(usize, usize)> {
        let pool_index = self
            .pool_index()
            .ok_or_else(|| Error::explain(InternalError, "no pool to try"))?;
        let pool = &self.snapshot.pools[pool_index];
        let tried = &self.tried;
        let choice = pool
            .select(|b| tried.contains(&(pool_index, b)))
            .or_else(|| pool.select(|_| false));
        match choice {
            Some(backend) => {
                self.tries_in_pool += 1;
                self.tried.push((pool_index, backend));
                self.backend = Some((pool_index, backend));
                self.upstream_started = Instant::now();
                self.observed = false;
                Ok((pool_index, backend))
            }
            None => {
                self.failure = Some(format!(
                    "modgate: no healthy backend in pool {:?}; try again later\n",
                    pool.name
                ));
                Error::e_explain(HTTPStatus(503), "no healthy backend")
            }
        }
    }

    /// Whether another backend of the current pool may still be tried.
    pub fn may_retry_in_pool(&self) -> bool {
        self.pool_index()
            .and_then(|p| self.snapshot.pools.get(p))
            .is_some_and(|pool| self.tries_in_pool <= pool.retries)
    }

    /// Decides on an upstream status before anything reaches the client: a 5xx is
    /// retried within the pool, a 404/410 moves to the next pool (the GOPROXY comma
    /// rule); anything else is the answer.
    pub fn should_try_again(&mut self, status: u16) -> bool {
        let pools = self.forward.as_ref().map_or(0, |f| f.pools.len());
        let again = if status >= 500 {
            self.may_retry_in_pool()
        } else if (status == 404 || status == 410) && self.pool_step + 1 < pools {
            self.pool_step += 1;
            self.tries_in_pool = 0;
            true
        } else {
            false
        };
        self.retry_requested = again;
        again
    }

    /// Counts one try at the current backend: its status, or `None` when it gave
    /// no answer (connect error, timeout, reset).
    pub fn observe_upstream(&mut self, status: Option<u16>) {
        self.observed = true;
        let (Some((p, b)), Some(m)) = (self.backend, crate::metrics::get()) else {
            return;
        };
        let pool = &self.snapshot.pools[p];
        let status = status.map_or_else(|| "error".to_string(), |s| s.to_string());
        m.upstream_requests
            .with_label_values(&[
                pool.name.as_str(),
                pool.backends[b].label.as_str(),
                status.as_str(),
            ])
            .inc();
        m.upstream_duration
            .with_label_values(&[pool.name.as_str()])
            .observe(self.upstream_started.elapsed().as_secs_f64());
    }

    /// Whether the current try was counted already (an answer turned into a retry).
    pub fn take_observed(&mut self) -> bool {
        std::mem::take(&mut self.observed)
    }

    pub fn take_retry_request(&mut self) -> bool {
        std::mem::take(&mut self.retry_requested)
    }

    pub fn failure_message(&self, status: u16) -> String {
        if let Some(message) = &self.failure {
            return message.clone();
        }
        let pool = self
            .backend
            .and_then(|(p, _)| self.snapshot.pools.get(p))
            .map_or("?", |p| p.name.as_str());
        match status {
            504 => format!(
                "modgate: the upstream proxies of pool {pool:?} timed out; try again later\n"
            ),
            _ => {
                format!("modgate: the upstream proxies of pool {pool:?} failed; try again later\n")
            }
        }
    }
}
