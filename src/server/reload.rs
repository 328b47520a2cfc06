//! Replacing the running configuration: the new file is loaded and compiled
//! completely, new backends get their first health check, and only then is the
//! snapshot swapped. An invalid file changes nothing.

use crate::config;
use crate::live::Live;
use crate::pool::health::{self, Probe};
use crate::snapshot::Snapshot;
use std::collections::HashMap;
use std::sync::Arc;

/// The probes built for the backends a reload added, by (pool, backend) index in the
/// new snapshot: their watchers take them over rather than build them again.
pub type Probes = HashMap<(usize, usize), Probe>;

pub async fn reload(live: &Live) -> Result<(Arc<Snapshot>, Probes), config::ConfigErrors> {
    let metrics = crate::metrics::get();
    let path = live.config_path.clone();
    let loaded = config::load(&path, &live.states).and_then(|new| {
        // Blocking: a walk of sizes when the cache dir changes, at most.
        match live.prepare_store(&new) {
            Ok(store) => Ok((new, store)),
            Err(message) => Err(config::ConfigErrors(vec![config::ConfigError {
                file: path.clone(),
                position: None,
                message,
            }])),
        }
    });
    let (new, store) = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => {
            if let Some(m) = metrics {
                m.config_reloads.with_label_values(&["failure"]).inc();
            }
            tracing::error!(config = %path.display(), errors = %errors, "configuration not reloaded; the previous one keeps serving");
            return Err(errors);
        }
    };
    let old = live.snapshot();
    warn_about_restart_only_changes(&old, &new);
    let probes = prepare_new_backends(&old, &new).await;
    live.replace_tls(&new);
    live.set_store(store);
    live.publish(new);
    if let Some(m) = metrics {
        m.config_reloads.with_label_values(&["success"]).inc();
        m.last_reload_success.set(crate::metrics::now_seconds());
    }
    tracing::info!(config = %path.display(), "configuration reloaded");
    Ok((live.snapshot(), probes))
}

/// Backends this reload adds start with a check of their own (in parallel), so a
/// dead one never takes traffic; backends kept from the old snapshot keep their state.
async fn prepare_new_backends(old: &Snapshot, new: &Snapshot) -> Probes {
    let known = |state: &Arc<crate::pool::BackendState>| {
        old.pools
            .iter()
            .flat_map(|p| &p.backends)
            .any(|b| Arc::ptr_eq(&b.state, state))
    };
    let mut checks = Vec::new();
    for (p, pool) in new.pools.iter().enumerate() {
        for (b, backend) in pool.backends.iter().enumerate() {
            if known(&backend.state) {
                continue;
            }
            let pool = pool.clone();
            let check = tokio::spawn(async move {
                let backend = &pool.backends[b];
                health::resolve(backend).await;
                let probe = health::probe(&pool, backend)?;
                backend.state.set_up(probe.passes(backend).await);
                Some(probe)
            });
            checks.push(((p, b), check));
        }
    }
    let mut probes = Probes::new();
    for (at, check) in checks {
        if let Ok(Some(probe)) = check.await {
            probes.insert(at, probe);
        }
    }
    probes
}

fn warn_about_restart_only_changes(old: &Snapshot, new: &Snapshot) {
    let addresses = |s: &Snapshot| {
        s.listeners
            .iter()
            .map(|l| (l.address, l.tls.is_some()))
            .collect::<Vec<_>>()
    };
    if addresses(old) != addresses(new) || old.admin != new.admin {
        tracing::warn!(
            "listener or admin addresses changed: they take effect after a restart (or an upgrade)"
        );
    }
    if old.server.limits.keepalive_timeout != new.server.limits.keepalive_timeout {
        tracing::warn!(
            "server.keepalive_timeout changed: HTTP/1 connections use it at once, HTTP/2 connections after a restart (or an upgrade)"
        );
    }
    if old.server.start != new.server.start {
        tracing::warn!(
            "server threads, grace period, pid file or upgrade socket changed: they take effect after a restart (or an upgrade)"
        );
    }
}
