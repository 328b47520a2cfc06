//! The one background service that owns everything periodic or signalled: backend
//! health and address watchers kept in step with the current snapshot, and reloads
//! on SIGHUP or when the configuration file changes.

use super::reload::{reload, Probes};
use crate::live::Live;
use crate::pool::health;
use crate::snapshot::Snapshot;
use async_trait::async_trait;
use notify::Watcher;
use pingora::server::ShutdownWatch;
use pingora::services::background::BackgroundService;
use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Editors write a file in several steps; changes closer than this are one reload.
const SETTLE: Duration = Duration::from_millis(200);

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

/// Starts watchers the snapshot needs and stops those it no longer has; a new watcher
/// takes its backend's probe from `probes` when the reload already built one.
fn reconcile(
    snapshot: &Snapshot,
    watchers: &mut HashMap<String, AbortHandle>,
    reloaded: bool,
    mut probes: Probes,
) {
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
            let probe = probes.remove(&(p, b));
            tokio::spawn(health::watch(snapshot.pools[p].clone(), b, probe)).abort_handle()
        });
    }
    // A reload drops the series of backends it removed; the watchers keep the rest
    // current.
    if reloaded {
        if let Some(m) = crate::metrics::get() {
            m.backend_up.reset();
        }
    }
    for pool in &snapshot.pools {
        for backend in &pool.backends {
            health::publish_gauge(pool, backend);
        }
    }
}

/// File events for the configuration file, delivered on a channel. The directory
/// is watched, not the file, so a replace-by-rename (what editors and config
/// management do) is seen too.
fn watch_file(live: &Live) -> Option<(notify::RecommendedWatcher, mpsc::UnboundedReceiver<()>)> {
    let path = live.config_path.clone();
    let name = path.file_name()?.to_os_string();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            let ours = event
                .paths
                .iter()
                .any(|p| p.file_name() == Some(name.as_os_str()));
            if ours && !matches!(event.kind, notify::EventKind::Access(_)) {
                let _ = tx.send(());
            }
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "cannot watch the configuration file; reload with SIGHUP");
            return None;
        }
    };
    if let Err(error) = watcher.watch(&dir, notify::RecursiveMode::NonRecursive) {
        tracing::warn!(%error, dir = %dir.display(), "cannot watch the configuration directory; reload with SIGHUP");
        return None;
    }
    Some((watcher, rx))
}

#[async_trait]
impl BackgroundService for Supervisor {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut watchers = HashMap::new();
        reconcile(&self.live.snapshot(), &mut watchers, false, Probes::new());
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(hangup) => Some(hangup),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP");
                None
            }
        };
        let (_file_watcher, mut changes) = match watch_file(&self.live) {
            Some((watcher, rx)) => (Some(watcher), Some(rx)),
            None => (None, None),
        };
        loop {
            let reason = tokio::select! {
                _ = shutdown.changed() => break,
                Some(()) = async { hangup.as_mut()?.recv().await } => "SIGHUP",
                Some(()) = async { changes.as_mut()?.recv().await } => {
                    tokio::time::sleep(SETTLE).await;
                    if let Some(rx) = changes.as_mut() {
                        while rx.try_recv().is_ok() {}
                    }
                    "file changed"
                }
            };
            tracing::info!(reason, "reloading configuration");
            if let Ok((snapshot, probes)) = reload(&self.live).await {
                reconcile(&snapshot, &mut watchers, true, probes);
            }
        }
        for handle in watchers.values() {
            handle.abort();
        }
        exit_when_idle(&self.live).await;
    }
}

/// Pingora waits out the whole grace period after a stop (SIGTERM, or an upgrade's
/// SIGQUIT) even with nothing in flight; nginx leaves as soon as its connections are
/// idle. Once no request has been in flight for two checks in a row (a connection
/// accepted just before the stop gets a moment to send its head), modgate exits;
/// the grace period stays the upper bound, as Pingora ends everything then.
async fn exit_when_idle(live: &Live) {
    const CHECK: Duration = Duration::from_millis(100);
    let mut idle_checks = 0;
    while idle_checks < 2 {
        tokio::time::sleep(CHECK).await;
        idle_checks = if live.in_flight() == 0 {
            idle_checks + 1
        } else {
            0
        };
    }
    tracing::info!("nothing in flight: modgate stopped");
    crate::logging::flush();
    std::process::exit(0);
}
