//! Each listener's first stop for a new connection: the TLS handshake, if the listener
//! has TLS, and the request-head deadline, before Pingora's HTTP handling takes over.
//! One deadline covers connect to the end of the first head, so a client cannot spend
//! the whole of it in the handshake and then again in the head.

use super::head_deadline::{Guarded, Limits};
use super::workers::Workers;
use crate::live::Live;
use crate::proxy::Gateway;
use async_trait::async_trait;
use pingora::apps::ServerApp;
use pingora::listeners::tls::Acceptor;
use pingora::protocols::{Stream, ALPN};
use pingora::proxy::HttpProxy;
use pingora::server::ShutdownWatch;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;

/// All listeners share one service (and so one set of worker threads, as many as
/// `server.threads`); a connection's listener is found by the address it came in on.
pub struct Front {
    proxy: Arc<HttpProxy<Gateway>>,
    listeners: Vec<(SocketAddr, Option<Acceptor>)>,
    live: Arc<Live>,
    workers: Option<Workers>,
}

impl Front {
    /// `listeners`: every listener's address, with its TLS acceptor if it has TLS.
    pub fn new(
        proxy: HttpProxy<Gateway>,
        listeners: Vec<(SocketAddr, Option<Acceptor>)>,
        live: Arc<Live>,
        workers: Option<Workers>,
    ) -> Front {
        Front {
            proxy: Arc::new(proxy),
            listeners,
            live,
            workers,
        }
    }

    /// The listener a connection came in on; `None` if that cannot be told, and then
    /// the connection is closed rather than guessed to be plaintext.
    fn listener(&self, stream: &Stream) -> Option<&Option<Acceptor>> {
        let digest = stream.get_socket_digest()?;
        let local = *digest.local_addr()?.as_inet()?;
        let exact = self.listeners.iter().find(|(address, _)| *address == local);
        // A listener on 0.0.0.0 or [::] sees the connection's own local address.
        exact
            .or_else(|| {
                self.listeners.iter().find(|(address, _)| {
                    address.ip().is_unspecified() && address.port() == local.port()
                })
            })
            .map(|(_, tls)| tls)
    }
}

#[async_trait]
impl ServerApp for Front {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let Some(workers) = &self.workers else {
            return self.serve(stream, shutdown).await;
        };
        let moved = match workers.take(&stream) {
            Ok(moved) => moved,
            Err(error) => {
                tracing::warn!(%error, "a connection could not move to a worker: served here");
                return self.serve(stream, shutdown).await;
            }
        };
        // The connection stays open through the moved descriptor.
        drop(stream);
        let front = self.clone();
        let shutdown = shutdown.clone();
        workers.run(moved, move |stream| async move {
            front.serve(stream, &shutdown).await;
        });
        None
    }

    async fn cleanup(&self) {
        self.proxy.cleanup().await
    }
}

impl Front {
    /// Serves a connection on the thread that runs this, until the connection ends.
    async fn serve(self: &Arc<Self>, stream: Stream, shutdown: &ShutdownWatch) -> Option<Stream> {
        let limits = Limits::of(&self.live.snapshot().server.limits);
        let limit = limits.header;
        let deadline = Instant::now() + limit;
        let Some(tls) = self.listener(&stream) else {
            tracing::warn!("a connection on an address no listener has: closed");
            return None;
        };
        let stream: Stream = match tls {
            None => stream,
            Some(acceptor) => {
                let socket = stream.get_socket_digest();
                let handshake = acceptor.tls_handshake(Guarded::plain(stream));
                match tokio::time::timeout_at(deadline, handshake).await {
                    Ok(Ok(tls)) => Box::new(tls),
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "TLS handshake failed");
                        return None;
                    }
                    Err(_) => {
                        let peer = socket.as_ref().and_then(|s| s.peer_addr());
                        tracing::info!(
                            peer = %peer.map(ToString::to_string).unwrap_or_default(),
                            "TLS handshake not complete within {limit:?}: connection closed"
                        );
                        if let Some(m) = crate::metrics::get() {
                            m.denied.with_label_values(&["handshake_timeout"]).inc();
                        }
                        return None;
                    }
                }
            }
        };
        // An h2 connection carries its heads in frames the h2 library bounds; only its
        // preface needs the deadline, or Pingora's h2 handshake waits for it forever.
        let stream: Stream = if matches!(stream.selected_alpn_proto(), Some(ALPN::H2)) {
            Box::new(Guarded::with_preface_deadline(stream, deadline, limits))
        } else {
            Box::new(Guarded::with_deadline(stream, deadline, limits))
        };
        self.proxy.process_new(stream, shutdown).await
    }
}
