//! Active health checks: a GET on each backend every `interval`; `unhealthy_threshold`
//! failures in a row take it out, `healthy_threshold` passes bring it back.

use super::{Backend, BackendState, Pool};
use crate::proxy::peer::backend_peer;
use pingora::http::RequestHeader;
use pingora::lb::health_check::{HealthCheck, HttpHealthCheck};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSpec {
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
}

/// How often a backend named by host name is resolved again when no health check
/// sets the pace.
const RESOLVE_INTERVAL: Duration = Duration::from_secs(30);

/// Counts consecutive results and says when the backend's state flips.
#[derive(Debug, Default)]
pub struct Streak {
    passes: u32,
    failures: u32,
}

impl Streak {
    /// Returns the new up/down state when this result completes a threshold.
    pub fn record(&mut self, passed: bool, spec: &HealthSpec, up: bool) -> Option<bool> {
        if passed {
            self.failures = 0;
            self.passes = self.passes.saturating_add(1);
            (!up && self.passes >= spec.healthy_threshold).then_some(true)
        } else {
            self.passes = 0;
            self.failures = self.failures.saturating_add(1);
            (up && self.failures >= spec.unhealthy_threshold).then_some(false)
        }
    }
}

/// The health check of one backend, built once: Pingora's HTTP connector loads the
/// system trust roots when it is made, which is not something to do every interval.
pub struct Probe {
    check: HttpHealthCheck,
    timeout: Duration,
}

/// The request a health check sends to `backend` for the spec's `path`. The
/// configuration check builds it too, so a path it cannot carry is refused there.
pub fn probe_request(backend: &Backend, path: &str) -> pingora::Result<RequestHeader> {
    let target = format!("{}{}", backend.base_path, path);
    let mut request = RequestHeader::build("GET", target.as_bytes(), None)?;
    request.insert_header("Host", backend.host_header())?;
    Ok(request)
}

/// The backend's probe, if its pool has a health check. One that cannot be built (the
/// configuration check rules that out) takes the backend out, loudly: a check that
/// cannot run cannot pass.
pub fn probe(pool: &Pool, backend: &Backend) -> Option<Probe> {
    let spec = pool.health.as_ref()?;
    match Probe::new(pool, backend, spec) {
        Ok(probe) => Some(probe),
        Err(error) => {
            tracing::error!(pool = %pool.name, backend = %backend.url, %error, "the health check cannot be built; backend taken out");
            backend.state.set_up(false);
            None
        }
    }
}

impl Probe {
    fn new(pool: &Pool, backend: &Backend, spec: &HealthSpec) -> pingora::Result<Probe> {
        let mut check = HttpHealthCheck::new(&backend.host_header(), backend.tls);
        // The address is the target's, given to each check; this one is a placeholder.
        let placeholder = std::net::SocketAddr::from(([0, 0, 0, 0], backend.port));
        check.peer_template = backend_peer(pool, backend, placeholder);
        check.peer_template.options.connection_timeout = Some(spec.timeout);
        check.peer_template.options.read_timeout = Some(spec.timeout);
        check.req = probe_request(backend, &spec.path)?;
        Ok(Probe {
            check,
            timeout: spec.timeout,
        })
    }

    /// One check, bounded by the spec's timeout; an unresolved backend fails.
    pub async fn passes(&self, backend: &Backend) -> bool {
        let Some(address) = backend.state.address() else {
            return false;
        };
        let target = pingora::lb::Backend {
            addr: pingora::protocols::l4::socket::SocketAddr::Inet(address),
            weight: 1,
            ext: Default::default(),
        };
        matches!(
            tokio::time::timeout(self.timeout, self.check.check(&target)).await,
            Ok(Ok(()))
        )
    }
}

/// Re-resolves a host name backend; IP literals never change.
pub async fn resolve(backend: &Backend) {
    if backend.host.parse::<std::net::IpAddr>().is_ok() {
        return;
    }
    let lookup = tokio::net::lookup_host((backend.host.as_str(), backend.port));
    match tokio::time::timeout(Duration::from_secs(5), lookup).await {
        Ok(Ok(mut addresses)) => {
            if let Some(address) = addresses.next() {
                backend.state.set_address(address);
            }
        }
        Ok(Err(error)) => {
            tracing::warn!(backend = %backend.url, %error, "cannot resolve backend host")
        }
        Err(_) => tracing::warn!(backend = %backend.url, "resolving backend host timed out"),
    }
}

/// Runs until aborted by the supervisor (when the snapshot no longer has this
/// backend with this spec). `prepared`: the probe a reload built for the backend's
/// first check, if it did.
pub async fn watch(pool: Arc<Pool>, index: usize, prepared: Option<Probe>) {
    let Some(backend) = pool.backends.get(index) else {
        return;
    };
    let state: &BackendState = &backend.state;
    let probe = pool
        .health
        .as_ref()
        .zip(prepared.or_else(|| probe(&pool, backend)));
    let mut streak = Streak::default();
    loop {
        resolve(backend).await;
        let pause = match &probe {
            Some((spec, probe)) => {
                let passed = probe.passes(backend).await;
                if let Some(up) = streak.record(passed, spec, state.is_up()) {
                    state.set_up(up);
                    tracing::warn!(pool = %pool.name, backend = %backend.url, up, "backend health changed");
                }
                spec.interval
            }
            None => RESOLVE_INTERVAL,
        };
        publish_gauge(&pool, backend);
        tokio::time::sleep(pause).await;
    }
}

/// `modgate_backend_up`: 1 while the backend is up and has an address.
pub fn publish_gauge(pool: &Pool, backend: &Backend) {
    if let Some(m) = crate::metrics::get() {
        let up = backend.state.is_up() && backend.state.address().is_some();
        m.backend_up
            .with_label_values(&[pool.name.as_str(), backend.label.as_str()])
            .set(if up { 1.0 } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HealthSpec {
        HealthSpec {
            path: "/".into(),
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            healthy_threshold: 2,
            unhealthy_threshold: 3,
        }
    }

    #[test]
    fn thresholds_flip_state_only_after_a_streak() {
        let mut streak = Streak::default();
        assert_eq!(streak.record(false, &spec(), true), None);
        assert_eq!(streak.record(false, &spec(), true), None);
        assert_eq!(streak.record(true, &spec(), true), None);
        assert_eq!(streak.record(false, &spec(), true), None);
        assert_eq!(streak.record(false, &spec(), true), None);
        assert_eq!(streak.record(false, &spec(), true), Some(false));
        assert_eq!(streak.record(true, &spec(), false), None);
        assert_eq!(streak.record(true, &spec(), false), Some(true));
    }
}
