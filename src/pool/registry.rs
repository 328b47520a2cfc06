//! The live state of backends, handed to every snapshot that names the same backend
//! in the same pool, so a reload that leaves a pool alone leaves its health alone.

use super::BackendState;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};

#[derive(Debug, Default)]
pub struct StateRegistry {
    states: Mutex<HashMap<(String, String), Weak<BackendState>>>,
}

impl StateRegistry {
    /// The state of backend `url` in `pool`: the existing one while any snapshot
    /// holds it, else a new one. `fresh` is true for a new state.
    pub fn state(
        &self,
        pool: &str,
        url: &str,
        address: Option<SocketAddr>,
    ) -> (Arc<BackendState>, bool) {
        let mut states = match self.states.lock() {
            Ok(states) => states,
            Err(poisoned) => poisoned.into_inner(),
        };
        let key = (pool.to_string(), url.to_string());
        if let Some(state) = states.get(&key).and_then(Weak::upgrade) {
            return (state, false);
        }
        states.retain(|_, state| state.strong_count() > 0);
        let state = Arc::new(BackendState::new(address));
        states.insert(key, Arc::downgrade(&state));
        (state, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_shared_while_held_and_fresh_after() {
        let registry = StateRegistry::default();
        let (a, fresh) = registry.state("p", "http://a", None);
        assert!(fresh);
        a.set_up(false);
        let (b, fresh) = registry.state("p", "http://a", None);
        assert!(!fresh && !b.is_up());
        let (other, fresh) = registry.state("q", "http://a", None);
        assert!(fresh && other.is_up());
        drop((a, b));
        let (c, fresh) = registry.state("p", "http://a", None);
        assert!(fresh && c.is_up());
    }
}
