//! The one background service that owns everything periodic: backend health and
//! address watchers, kept in step with the current snapshot.

use crate::live::Live;
use crate::pool::health;
use crate::snapshot::Snapshot;
use async_trait::async_trait;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use tokio::task::AbortHandle;

pub struct Supervisor {
    live: Arc<Live>,
}

impl Supervisor {
    pub fn new(live: Arc<Live>) -> Supervisor {
        Supervisor { live }
    }
}

/// Resolves host-name backends once before serving, so the first requests do not
/// find every named backend unresolved. Failures are logged; the watchers retry.
pub fn resolve_now(snapshot: &Snapshot) {
    for pool in &snapshot.pools {
        for backend in &pool.backends {
            if backend.state.address().is_some() {
                continue;
            }
            match (backend.host.as_str(), backend.port).to_socket_addrs() {
                Ok(mut addresses) => {
                    if let Some(address) = addresses.next() {
                        backend.state.set_address(address);
                    }
                }
                Err(error) => {
                    tracing::warn!(backend = %backend.url, %error, "cannot resolve backend host; will retry")
                }
            }
        }
    }
}

/// One watcher per backend and health spec; the key changes when either does.
fn watcher_key(snapshot: &Snapshot, pool: usize, backend: usize) -> String {
    let pool = &snapshot.pools[pool];
    format!(
        "{}\u{0}{}\u{0}{:?}",
        pool.name, pool.backends[backend].url, pool.health
    )
}

/// Starts watchers the snapshot needs and stops those it no longer has.
pub fn reconcile(snapshot: &Snapshot, watchers: &mut HashMap<String, AbortHandle>) {
    let mut wanted = HashMap::new();
    for (p, pool) in snapshot.pools.iter().enumerate() {
        for b in 0..pool.backends.len() {
            wanted.insert(watcher_key(snapshot, p, b), (p, b));
        }
    }
    watchers.retain(|key, handle| {
        let keep = wanted.contains_key(key);
        if !keep {
            handle.abort();
        }
        keep
    });
    for (key, (p, b)) in wanted {
        watchers.entry(key).or_insert_with(|| {
            tokio::spawn(health::watch(snapshot.pools[p].clone(), b)).abort_handle()
        });
    }
}

#[async_trait]
impl BackgroundService for Supervisor {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut watchers = HashMap::new();
        reconcile(&self.live.snapshot(), &mut watchers);
        let _ = shutdown.changed().await;
        for handle in watchers.values() {
            handle.abort();
        }
    }
}
