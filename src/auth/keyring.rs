//! Keys stored as sha256 digests, found by a digest prefix and confirmed with a
//! constant-time compare, and the routes their roles may read.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub type KeyHash = [u8; 32];

pub fn hash_key(key: &[u8]) -> KeyHash {
    Sha256::digest(key).into()
}

/// A set of route indexes, or every route (`"*"`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSet {
    all: bool,
    bits: Vec<u64>,
}

impl RouteSet {
    pub fn every_route() -> RouteSet {
        RouteSet {
            all: true,
            bits: Vec::new(),
        }
    }

    pub fn insert(&mut self, route: usize) {
        let word = route / 64;
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << (route % 64);
    }

    pub fn union(&mut self, other: &RouteSet) {
        self.all |= other.all;
        if self.bits.len() < other.bits.len() {
            self.bits.resize(other.bits.len(), 0);
        }
        for (mine, theirs) in self.bits.iter_mut().zip(&other.bits) {
            *mine |= theirs;
        }
    }

    pub fn contains(&self, route: usize) -> bool {
        self.all
            || self
                .bits
                .get(route / 64)
                .is_some_and(|word| word & (1 << (route % 64)) != 0)
    }
}

/// What an identity may do: the union of its roles.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// The key id for logs; `None` for anonymous requests.
    pub key_id: Option<Arc<str>>,
    pub routes: RouteSet,
    pub admin: bool,
}

#[derive(Debug)]
pub struct Role {
    pub name: String,
    pub grant: Grant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    NoKey,
    BadKey,
}

#[derive(Debug, Default)]
pub struct Keyring {
    /// Indexes into `keys` by the first eight digest bytes.
    by_prefix: HashMap<u64, Vec<u32>>,
    keys: Vec<(KeyHash, Grant)>,
    anonymous: Option<Grant>,
    roles: Vec<Role>,
    /// Without an `auth` section, credentials are not checked (but still never
    /// forwarded) and everyone may read every route.
    open: bool,
}

impl Keyring {
    pub fn open() -> Keyring {
        Keyring {
            anonymous: Some(Grant {
                key_id: None,
                routes: RouteSet::every_route(),
                admin: false,
            }),
            open: true,
            ..Keyring::default()
        }
    }

    pub fn new(roles: Vec<Role>, anonymous: Option<Grant>) -> Keyring {
        Keyring {
            roles,
            anonymous,
            ..Keyring::default()
        }
    }

    pub fn add_key(&mut self, hash: KeyHash, grant: Grant) {
        let index = self.keys.len() as u32;
        self.by_prefix.entry(prefix(&hash)).or_default().push(index);
        self.keys.push((hash, grant));
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// `key` is `None` when the request carried no credentials.
    pub fn authenticate(&self, key: Option<&[u8]>) -> Result<&Grant, AuthError> {
        if self.open {
            return self.anonymous.as_ref().ok_or(AuthError::NoKey);
        }
        let Some(key) = key else {
            return self.anonymous.as_ref().ok_or(AuthError::NoKey);
        };
        let hash = hash_key(key);
        let candidates = self
            .by_prefix
            .get(&prefix(&hash))
            .map_or(&[][..], Vec::as_slice);
        let mut found = None;
        for &index in candidates {
            if let Some((stored, grant)) = self.keys.get(index as usize) {
                if bool::from(stored.ct_eq(&hash)) {
                    found = Some(grant);
                }
            }
        }
        found.ok_or(AuthError::BadKey)
    }

    /// The first role that may read `route`, to tell a refused user what to ask for.
    pub fn role_for(&self, route: usize) -> Option<&str> {
        self.roles
            .iter()
            .find(|role| role.grant.routes.contains(route))
            .map(|role| role.name.as_str())
    }
}

fn prefix(hash: &KeyHash) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: &str, routes: &[usize]) -> Grant {
        let mut set = RouteSet::default();
        for r in routes {
            set.insert(*r);
        }
        Grant {
            key_id: Some(id.into()),
            routes: set,
            admin: false,
        }
    }

    #[test]
    fn hash_matches_the_contract_example() {
        assert_eq!(
            hex::encode(hash_key(b"foo")),
            "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
        );
    }

    #[test]
    fn keys_are_found_and_unknown_keys_refused() {
        let mut ring = Keyring::new(Vec::new(), None);
        ring.add_key(hash_key(b"alpha"), grant("a", &[0]));
        ring.add_key(hash_key(b"beta"), grant("b", &[1, 70]));
        let b = ring.authenticate(Some(b"beta")).expect("beta");
        assert_eq!(b.key_id.as_deref(), Some("b"));
        assert!(b.routes.contains(70) && !b.routes.contains(0));
        assert_eq!(
            ring.authenticate(Some(b"gamma")).err(),
            Some(AuthError::BadKey)
        );
        assert_eq!(ring.authenticate(None).err(), Some(AuthError::NoKey));
    }

    #[test]
    fn anonymous_role_serves_requests_without_a_key_only() {
        let ring = Keyring::new(Vec::new(), Some(grant("", &[0])));
        assert!(ring.authenticate(None).is_ok());
        assert_eq!(
            ring.authenticate(Some(b"wrong")).err(),
            Some(AuthError::BadKey)
        );
    }

    #[test]
    fn route_sets() {
        let mut a = RouteSet::default();
        a.insert(3);
        let mut b = RouteSet::default();
        b.insert(200);
        a.union(&b);
        assert!(a.contains(3) && a.contains(200) && !a.contains(4));
        assert!(RouteSet::every_route().contains(999));
    }
}
