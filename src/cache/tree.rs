//! Plain file operations on the store's tree, shared by fills and by the offline
//! `modgate cache` commands (which must not open a `Store`: opening clears the
//! temporary files of the modgate that may be running on the same dir).

use super::layout;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

/// A temporary file removed on drop unless it was renamed into place (`kept`).
pub struct Temp {
    pub path: PathBuf,
    pub kept: bool,
}

impl Temp {
    pub fn new(root: &Path) -> Temp {
        Temp {
            path: temp_path(root),
            kept: false,
        }
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A fresh name in the store's temporary directory, on the same file system as the
/// tree, so a rename into place is atomic.
pub fn temp_path(root: &Path) -> PathBuf {
    root.join(layout::TEMP_DIR)
        .join(format!("{:016x}", rand::random::<u64>()))
}

/// Renames a complete, checked file to its place in the tree, durably.
pub fn commit(temp: &Path, root: &Path, path: &str) -> io::Result<()> {
    let target = root.join(path);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::rename(temp, &target)?;
    if let Some(parent) = target.parent() {
        // The rename is durable once the directory is.
        let _ = File::open(parent).and_then(|dir| dir.sync_all());
    }
    Ok(())
}

/// Adds `version` to the module's `@v/list`, so the go command reading the tree
/// (GOPROXY=file://…) finds what is stored. The caller keeps writers of one list apart.
pub fn add_to_list(root: &Path, module: &str, version: &str) -> io::Result<()> {
    let Some(path) = layout::list_path(module) else {
        return Ok(());
    };
    let path = root.join(path);
    let mut list = match fs::read_to_string(&path) {
        Ok(list) => list,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if list.lines().any(|line| line.trim() == version) {
        return Ok(());
    }
    if !list.is_empty() && !list.ends_with('\n') {
        list.push('\n');
    }
    list.push_str(version);
    list.push('\n');
    let temp = temp_path(root);
    fs::write(&temp, list)?;
    fs::rename(&temp, &path)
}
