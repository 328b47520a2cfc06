//! The store: artifacts that cannot change (`.info`, `.mod`, `.zip` of canonical
//! versions) kept in a GOPROXY tree, served without asking any upstream, and bounded
//! by `max_size` (least recently used out first).
//!
//! Why not `pingora-cache`: its storage is keyed by hashed cache keys with its own
//! metadata, while the store here must stay a plain GOPROXY tree that the go command,
//! rsync and a file server read as it is; and its lock serves waiters after the fill,
//! not while the bytes arrive.

mod check;
mod fill;
pub mod flight;
mod index;
pub mod layout;
pub mod tools;
mod tree;

pub use fill::Fill;
pub use flight::{Lead, Progress, Role};

use crate::request::Kind;
use crate::snapshot::CacheSettings;
use index::Index;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    max_size: AtomicU64,
    index: Mutex<Index>,
    /// Serializes the read-modify-write of `@v/list` files.
    lists: Mutex<()>,
    /// When a fill failure was last logged, in seconds since the epoch.
    last_failure_log: AtomicU64,
    flights: flight::Flights,
}

/// A stored artifact, opened: eviction may unlink it, and the open file stays valid.
#[derive(Debug)]
pub struct Stored {
    pub file: File,
    pub len: u64,
    pub etag: String,
    pub modified: SystemTime,
}

impl Store {
    /// Creates the dir when missing, removes what interrupted fills left, and counts
    /// what is already stored (a walk of sizes, no file is read).
    pub fn open(settings: &CacheSettings) -> Result<Store, String> {
        let root = settings.dir.clone();
        let shown = root.display();
        fs::create_dir_all(&root).map_err(|e| format!("cache.dir {shown}: cannot create: {e}"))?;
        let temp = root.join(layout::TEMP_DIR);
        match fs::remove_dir_all(&temp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(format!(
                    "cache.dir {shown}: cannot clear interrupted fills: {e}"
                ))
            }
        }
        fs::create_dir(&temp).map_err(|e| format!("cache.dir {shown}: not writable: {e}"))?;
        let mut found = Vec::new();
        walk(&root, &root, &mut found)
            .map_err(|e| format!("cache.dir {shown}: cannot be read: {e}"))?;
        found.sort_by_key(|(_, _, modified)| *modified);
        let mut index = Index::default();
        for (path, size, _) in found {
            index.insert(&path, size);
        }
        let store = Store {
            root,
            max_size: AtomicU64::new(settings.max_size),
            index: Mutex::new(index),
            lists: Mutex::new(()),
            last_failure_log: AtomicU64::new(0),
            flights: flight::Flights::default(),
        };
        store.evict();
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether a fill could be written now: a file is made and removed where fills go.
    pub fn writable(&self) -> io::Result<()> {
        let probe = tree::temp_path(&self.root);
        File::create(&probe)?;
        fs::remove_file(&probe)
    }

    pub fn set_max_size(&self, max_size: u64) {
        self.max_size.store(max_size, Ordering::Relaxed);
        self.evict();
    }

    /// Opens a stored artifact and marks it used.
    pub fn open_artifact(&self, path: &str) -> Option<Stored> {
        let stored = self.open_file(path)?;
        let mut index = self.index();
        // Put there by hand or by `cache import` while modgate ran: counted from now.
        if !index.touch(path) {
            index.insert(path, stored.len);
        }
        Some(stored)
    }

    /// Opens a kept list or `@latest` answer, with how long ago it was fetched. It is
    /// not an artifact: not counted in `max_size`, replaced on every fetch.
    pub fn open_answer(&self, path: &str) -> Option<(Stored, std::time::Duration)> {
        let stored = self.open_file(path)?;
        let age = stored
            .modified
            .elapsed()
            .unwrap_or(std::time::Duration::ZERO);
        Some((stored, age))
    }

    fn open_file(&self, path: &str) -> Option<Stored> {
        Stored::from_file(File::open(self.root.join(path)).ok()?)
    }

    /// Leads the upstream fetch of an artifact not stored yet, or follows the one in
    /// flight.
    pub fn join(&self, path: &str) -> Role {
        self.flights.join(path)
    }

    /// Starts storing an upstream answer as it streams to the client; with `lead`,
    /// the followers of its flight stream it from the file as it is written.
    pub fn begin_fill(
        self: &std::sync::Arc<Self>,
        path: String,
        kind: Kind,
        module: &str,
        version: &str,
        expected_len: Option<u64>,
        lead: Option<Lead>,
    ) -> Fill {
        Fill::start(
            self.clone(),
            fill::Job {
                path,
                kind,
                module: module.to_owned(),
                version: version.to_owned(),
                expected_len,
                lead,
            },
        )
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a committed artifact, then keeps the total under `max_size`.
    fn stored(&self, path: &str, size: u64) {
        self.index().insert(path, size);
        self.evict();
    }

    fn evict(&self) {
        let max = self.max_size.load(Ordering::Relaxed);
        let (evicted, total) = {
            let mut index = self.index();
            (index.evict_to(max), index.total())
        };
        for path in &evicted {
            if let Err(error) = fs::remove_file(self.root.join(path)) {
                if error.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(path, %error, "cache: an evicted artifact could not be removed");
                }
            }
        }
        if let Some(m) = crate::metrics::get() {
            m.cache_evictions.inc_by(evicted.len() as u64);
            m.cache_size.set(total as f64);
        }
    }

    fn list_version(&self, module: &str, version: &str) -> io::Result<()> {
        let _guard = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        tree::add_to_list(&self.root, module, version)
    }

    /// Whether a fill failure may be logged now: once a minute, not once a request.
    fn may_log_failure(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_failure_log.load(Ordering::Relaxed);
        now >= last + 60
            && self
                .last_failure_log
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

impl Stored {
    /// A regular file, with the validators it is served with; `None` for anything else.
    pub fn from_file(file: File) -> Option<Stored> {
        let metadata = file.metadata().ok()?;
        if !metadata.is_file() {
            return None;
        }
        let len = metadata.len();
        let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
        let nanos = modified
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        Some(Stored {
            file,
            len,
            etag: format!("\"{len:x}-{nanos:x}\""),
            modified,
        })
    }
}

/// Collects `(path relative to root, size, modified)` of every stored artifact.
fn walk(root: &Path, dir: &Path, found: &mut Vec<(String, u64, SystemTime)>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if path != root.join(layout::TEMP_DIR) {
                walk(root, &path, found)?;
            }
            continue;
        }
        let artifact = kind.is_file()
            && dir.file_name().is_some_and(|d| d == "@v")
            && [".info", ".mod", ".zip"]
                .iter()
                .any(|ext| entry.file_name().to_string_lossy().ends_with(ext));
        if !artifact {
            continue;
        }
        let (Ok(relative), Ok(metadata)) = (path.strip_prefix(root), entry.metadata()) else {
            continue;
        };
        let modified = metadata.modified().unwrap_or(UNIX_EPOCH);
        found.push((
            relative.to_string_lossy().into_owned(),
            metadata.len(),
            modified,
        ));
    }
    Ok(())
}
