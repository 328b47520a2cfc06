//! The Pingora peer for one backend: its address, TLS name and timeouts. Built the
//! same way for proxied requests and health checks, so both connect alike; health
//! checks do not reuse connections, and requests reuse them per worker.

use crate::pool::{Backend, Pool};
use pingora::upstreams::peer::{HttpPeer, HttpUpstreamRequestPolicy};
use std::net::SocketAddr;
use std::time::Duration;

/// How long an idle upstream connection is kept for reuse.
const UPSTREAM_IDLE: Duration = Duration::from_secs(60);

pub fn backend_peer(pool: &Pool, backend: &Backend, address: SocketAddr) -> HttpPeer {
    let sni = if backend.tls {
        backend.host.clone()
    } else {
        String::new()
    };
    let mut peer = HttpPeer::new(address, backend.tls, sni);
    peer.options.connection_timeout = Some(pool.connect_timeout);
    peer.options.read_timeout = Some(pool.read_timeout);
    peer.options.idle_timeout = Some(UPSTREAM_IDLE);
    peer.options.ca = pool.ca.clone();
    peer.options.http_upstream_request_policy = HttpUpstreamRequestPolicy::deny_upgrades();
    // Pooled per worker: a connection stays with the thread whose runtime it is registered on.
    peer.group_key = crate::server::workers::current().unwrap_or(0);
    peer
}
