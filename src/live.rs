//! What outlives a snapshot: the current snapshot itself (swapped on reload), the
//! backend states, the TLS listeners' certificate holders and the cache's store.

use crate::cache::Store;
use crate::pool::registry::StateRegistry;
use crate::snapshot::Snapshot;
use crate::tls::{CertResolver, ClientAuth};
use arc_swap::{ArcSwap, ArcSwapOption};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct Live {
    pub config_path: PathBuf,
    snapshot: ArcSwap<Snapshot>,
    pub states: StateRegistry,
    /// The certificate and client-CA holders of each TLS listener, fixed at start and
    /// refilled on reload.
    tls: Vec<TlsEndpoint>,
    /// Kept across reloads while `cache.dir` stays the same, with its index.
    store: ArcSwapOption<Store>,
    /// Requests read and not yet logged, so a stop can end as soon as there are none.
    in_flight: Arc<AtomicUsize>,
}

/// Held by a request from its head to its log line.
#[derive(Debug)]
pub struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
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
            store: ArcSwapOption::empty(),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    pub fn enter(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.in_flight.clone())
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    pub fn store(&self) -> Option<Arc<Store>> {
        self.store.load_full()
    }

    /// Opens the store a snapshot names (before it is published): the running one
    /// when the dir is the same, with the new size bound. An error leaves the running
    /// store and configuration in place.
    pub fn prepare_store(&self, snapshot: &Snapshot) -> Result<Option<Arc<Store>>, String> {
        let Some(settings) = &snapshot.cache else {
            return Ok(None);
        };
        if let Some(store) = self.store().filter(|s| s.root() == settings.dir) {
            store.set_max_size(settings.max_size);
            return Ok(Some(store));
        }
        Store::open(settings).map(|store| Some(Arc::new(store)))
    }

    pub fn set_store(&self, store: Option<Arc<Store>>) {
        self.store.store(store);
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

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    pub fn publish(&self, snapshot: Snapshot) {
        self.snapshot.store(Arc::new(snapshot));
    }
}
