//! What outlives a snapshot: the current snapshot itself (swapped on reload), the
//! backend states, and the request records (log and metrics).

use crate::pool::registry::StateRegistry;
use crate::proxy::ctx::RequestCtx;
use crate::snapshot::Snapshot;
use crate::tls::{CertResolver, ClientAuth};
use arc_swap::ArcSwap;
use pingora::prelude::*;
use pingora::proxy::Session;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

pub struct Live {
    pub config_path: PathBuf,
    snapshot: ArcSwap<Snapshot>,
    pub states: StateRegistry,
    /// The certificate and client-CA holders of each TLS listener, fixed at start and
    /// refilled on reload.
    tls: Vec<TlsEndpoint>,
}

pub struct TlsEndpoint {
    pub address: SocketAddr,
    pub certificates: Arc<CertResolver>,
    pub client_auth: Arc<ClientAuth>,
}

impl Live {
    pub fn new(
        config_path: PathBuf,
        snapshot: Snapshot,
        states: StateRegistry,
        tls: Vec<TlsEndpoint>,
    ) -> Live {
        Live {
            config_path,
            snapshot: ArcSwap::from_pointee(snapshot),
            states,
            tls,
        }
    }

    pub fn tls_endpoint(&self, address: SocketAddr) -> Option<&TlsEndpoint> {
        self.tls.iter().find(|t| t.address == address)
    }

    /// Hands a reloaded snapshot's certificates and client CAs to the running
    /// listeners with the same address (others need a restart, which reload logs).
    pub fn replace_tls(&self, snapshot: &Snapshot) {
        for endpoint in &self.tls {
            let spec = snapshot
                .listeners
                .iter()
                .find(|l| l.address == endpoint.address)
                .and_then(|l| l.tls.as_ref());
            if let Some(spec) = spec {
                endpoint.certificates.replace(&spec.material.certificates);
                endpoint
                    .client_auth
                    .replace(spec.material.client_verifier.clone());
            }
        }
    }

    /// A connection refused before TLS by the address rules.
    pub fn denied_connection(&self, peer: IpAddr) {
        if let Some(m) = crate::metrics::get() {
            m.denied.with_label_values(&["address"]).inc();
        }
        tracing::info!(target: "access", client = %peer, denied = "address", "connection refused");
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    pub fn publish(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
    }

    /// One access-log event per request: the audit trail of who fetched what.
    pub fn record(&self, session: &Session, error: Option<&Error>, ctx: &RequestCtx) {
        let status = session
            .response_written()
            .map(|r| r.status.as_u16())
            .or(ctx.failed_status)
            .unwrap_or(0);
        let request = session.req_header();
        let forward = ctx.forward.as_ref();
        let route = forward
            .and_then(|f| f.route)
            .and_then(|r| ctx.snapshot.routes.get(r))
            .map(|r| r.name.as_str());
        let (pool, backend) = match ctx.backend {
            Some((p, b)) => {
                let pool = &ctx.snapshot.pools[p];
                (
                    Some(pool.name.as_str()),
                    Some(pool.backends[b].label.as_str()),
                )
            }
            None => (None, None),
        };
        let kind = forward.map_or("-", |f| f.kind.as_str());
        let route_label = route.unwrap_or(if kind == "sumdb" { "sumdb" } else { "-" });
        if let Some(m) = crate::metrics::get() {
            let status_label = status.to_string();
            m.requests
                .with_label_values(&[route_label, kind, status_label.as_str()])
                .inc();
            m.request_duration
                .with_label_values(&[route_label, kind])
                .observe(ctx.started.elapsed().as_secs_f64());
            m.response_bytes
                .with_label_values(&[route_label])
                .inc_by(ctx.bytes);
            if let Some(reason) = ctx.answered.as_ref().and_then(|a| a.reason) {
                m.denied.with_label_values(&[reason.as_str()]).inc();
            }
        }
        tracing::info!(
            target: "access",
            client = %ctx.client.map(|c| c.to_string()).unwrap_or_default(),
            key = ctx.key_id.as_deref().unwrap_or("-"),
            method = %request.method,
            path = request.uri.path(),
            kind = forward.map(|f| f.kind.as_str()),
            module = forward.and_then(|f| f.module.as_deref()),
            version = forward.and_then(|f| f.version.as_deref()),
            route,
            pool,
            backend,
            upstream_status = ctx.upstream_status,
            tries = ctx.tried.len(),
            status,
            bytes = ctx.bytes,
            duration_ms = ctx.started.elapsed().as_secs_f64() * 1000.0,
            error = error.map(|e| e.to_string()),
            denied = ctx.answered.as_ref().and_then(|a| a.reason).map(|r| r.as_str()),
        );
    }
}
