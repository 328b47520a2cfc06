//! Which artifacts the store holds, their sizes and the order they were last used
//! in, so `max_size` is kept without reading the disk on every request.

use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Default)]
pub struct Index {
    entries: HashMap<String, Entry>,
    /// Use order: the smallest tick is the least recently used.
    order: BTreeMap<u64, String>,
    tick: u64,
    total: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    size: u64,
    tick: u64,
}

impl Index {
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Records an artifact (again) as used now.
    pub fn insert(&mut self, path: &str, size: u64) {
        self.remove(path);
        self.tick += 1;
        self.entries.insert(
            path.to_owned(),
            Entry {
                size,
                tick: self.tick,
            },
        );
        self.order.insert(self.tick, path.to_owned());
        self.total += size;
    }

    /// Marks a stored artifact used now; false if the index does not hold it.
    pub fn touch(&mut self, path: &str) -> bool {
        let Some(entry) = self.entries.get_mut(path) else {
            return false;
        };
        self.tick += 1;
        if let Some(name) = self.order.remove(&entry.tick) {
            self.order.insert(self.tick, name);
        }
        entry.tick = self.tick;
        true
    }

    pub fn remove(&mut self, path: &str) -> bool {
        match self.entries.remove(path) {
            Some(entry) => {
                self.order.remove(&entry.tick);
                self.total -= entry.size;
                true
            }
            None => false,
        }
    }

    /// The least recently used artifacts to remove until the total fits `max`, taken
    /// out of the index.
    pub fn evict_to(&mut self, max: u64) -> Vec<String> {
        let mut evicted = Vec::new();
        while self.total > max {
            let Some((_, path)) = self.order.pop_first() else {
                break;
            };
            if let Some(entry) = self.entries.remove(&path) {
                self.total -= entry.size;
            }
            evicted.push(path);
        }
        evicted
    }
}

#[cfg(test)]
mod tests {
    use super::Index;

    #[test]
    fn the_least_recently_used_go_first_and_the_total_is_kept() {
        let mut index = Index::default();
        index.insert("a", 10);
        index.insert("b", 10);
        index.insert("c", 10);
        assert!(index.touch("a"));
        assert!(!index.touch("z"));
        assert_eq!(index.total(), 30);
        assert_eq!(index.evict_to(15), ["b", "c"]);
        assert_eq!(index.total(), 10);
        // Stored again: counted once, at its new size.
        index.insert("a", 4);
        assert_eq!(index.total(), 4);
        assert!(index.remove("a"));
        assert_eq!(index.total(), 0);
        assert_eq!(index.evict_to(0), Vec::<String>::new());
    }
}
