//! Address rules applied to the TCP peer before the TLS handshake, so a denied
//! address costs us an accept and a close, not a handshake. Trusted proxies pass:
//! their clients are judged per request from X-Forwarded-For.

use crate::access::Verdict;
use crate::live::Live;
use async_trait::async_trait;
use pingora::listeners::ConnectionFilter;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct PeerFilter {
    live: Arc<Live>,
}

impl PeerFilter {
    pub fn new(live: Arc<Live>) -> PeerFilter {
        PeerFilter { live }
    }
}

impl std::fmt::Debug for PeerFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PeerFilter")
    }
}

#[async_trait]
impl ConnectionFilter for PeerFilter {
    async fn should_accept(&self, peer: Option<&SocketAddr>) -> bool {
        let Some(peer) = peer else {
            return true;
        };
        let snapshot = self.live.snapshot();
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; log them as IPv4.
        let ip = peer.ip().to_canonical();
        let accept =
            snapshot.trusted_proxies.contains(ip) || snapshot.access.verdict(ip) == Verdict::Allow;
        if !accept {
            if let Some(m) = crate::metrics::get() {
                m.denied.with_label_values(&["address"]).inc();
            }
            tracing::info!(target: "access", client = %ip, denied = "address", "connection refused");
        }
        accept
    }
}
