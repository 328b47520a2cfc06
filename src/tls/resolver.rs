//! SNI → certificate, swappable at runtime.

use super::material::NamedKey;
use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Default)]
struct Store {
    default: Option<Arc<CertifiedKey>>,
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `*.example.com` stored as `example.com`; covers exactly one more label.
    wildcard: HashMap<String, Arc<CertifiedKey>>,
}

impl Store {
    fn new(keys: &[NamedKey]) -> Store {
        let mut store = Store {
            default: keys.first().map(|k| k.key.clone()),
            ..Store::default()
        };
        for named in keys {
            for name in &named.names {
                // The first certificate to claim a name keeps it.
                match name.strip_prefix("*.") {
                    Some(parent) => store.wildcard.entry(parent.to_string()),
                    None => store.exact.entry(name.clone()),
                }
                .or_insert_with(|| named.key.clone());
            }
        }
        store
    }

    fn find(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = name.map(str::to_ascii_lowercase) else {
            return self.default.clone();
        };
        let name = name.trim_end_matches('.');
        self.exact
            .get(name)
            .or_else(|| {
                name.split_once('.')
                    .and_then(|(_, parent)| self.wildcard.get(parent))
            })
            .or(self.default.as_ref())
            .cloned()
    }
}

#[derive(Debug, Default)]
pub struct CertResolver {
    store: ArcSwap<Store>,
}

impl CertResolver {
    pub fn new(keys: &[NamedKey]) -> CertResolver {
        CertResolver {
            store: ArcSwap::from_pointee(Store::new(keys)),
        }
    }

    /// New handshakes use `keys`; established connections keep theirs.
    pub fn replace(&self, keys: &[NamedKey]) {
        self.store.store(Arc::new(Store::new(keys)));
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.store.load().find(hello.server_name())
    }
}
