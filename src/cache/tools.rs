//! `modgate cache import | ls | verify`: work on a store from outside, also while a
//! modgate serves it (what is added is found on its first request, counted from then).

use super::tree::{self, Temp};
use super::{check, layout};
use crate::module::{is_canonical, unescape_path, unescape_version};
use crate::request::Kind;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One artifact found in a GOPROXY-layout tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub module: String,
    pub version: String,
    pub kind: Kind,
    pub file: PathBuf,
    pub size: u64,
}

impl Found {
    /// Where it belongs in a store.
    pub fn path(&self) -> Option<String> {
        layout::artifact_path(self.kind, &self.module, &self.version)
    }
}

/// Every `.info`, `.mod` and `.zip` of a canonical version under `root`, in a GOPROXY
/// tree or a `$GOMODCACHE/cache/download` directory (the same layout; its `.lock`,
/// `.ziphash` and `.partial` files are passed over), sorted by module and version.
pub fn scan(root: &Path) -> io::Result<Vec<Found>> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                if entry.file_name() != layout::TEMP_DIR {
                    dirs.push(path);
                }
            } else if kind.is_file() && dir.file_name().is_some_and(|d| d == "@v") {
                if let Some(artifact) = artifact(root, &dir, &path, entry.metadata()?.len()) {
                    found.push(artifact);
                }
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.module, &a.version, a.kind.as_str()).cmp(&(&b.module, &b.version, b.kind.as_str()))
    });
    Ok(found)
}

fn artifact(root: &Path, version_dir: &Path, file: &Path, size: u64) -> Option<Found> {
    let escaped_module = version_dir.parent()?.strip_prefix(root).ok()?.to_str()?;
    let name = file.file_name()?.to_str()?;
    let (escaped_version, ext) = name.rsplit_once('.')?;
    let kind = match ext {
        "info" => Kind::Info,
        "mod" => Kind::Mod,
        "zip" => Kind::Zip,
        _ => return None,
    };
    let module = unescape_path(escaped_module).ok()?.into_owned();
    let version = unescape_version(escaped_version).ok()?.into_owned();
    is_canonical(&version).then(|| Found {
        module,
        version,
        kind,
        file: file.to_path_buf(),
        size,
    })
}

#[derive(Debug, Default)]
pub struct Imported {
    pub added: usize,
    pub present: usize,
    /// What was refused, each with its reason.
    pub refused: Vec<String>,
}

/// Adds what `from` holds to the store at `root`, each artifact checked as a fill
/// would check it and renamed into place complete.
pub fn import(root: &Path, from: &Path) -> io::Result<Imported> {
    fs::create_dir_all(root.join(layout::TEMP_DIR))?;
    let mut report = Imported::default();
    for found in scan(from)? {
        let Some(path) = found.path() else {
            continue;
        };
        let target = root.join(&path);
        if fs::metadata(&target).is_ok_and(|m| m.len() == found.size) {
            report.present += 1;
            continue;
        }
        let mut temp = Temp::new(root);
        let copied = fs::copy(&found.file, &temp.path)
            .and_then(|_| fs::File::open(&temp.path)?.sync_all())
            .map_err(|e| format!("copying: {e}"))
            .and_then(|()| check::check(&temp.path, found.kind, &found.module, &found.version));
        if let Err(why) = copied {
            report
                .refused
                .push(format!("{}: {why}", found.file.display()));
            continue;
        }
        tree::commit(&temp.path, root, &path)?;
        temp.kept = true;
        tree::add_to_list(root, &found.module, &found.version)?;
        report.added += 1;
    }
    Ok(report)
}

/// Each artifact of the store that fails its check, with the reason.
pub fn verify(root: &Path) -> io::Result<(usize, Vec<String>)> {
    let found = scan(root)?;
    let bad = found
        .iter()
        .filter_map(|f| {
            check::check(&f.file, f.kind, &f.module, &f.version)
                .err()
                .map(|why| format!("{}: {why}", f.file.display()))
        })
        .collect();
    Ok((found.len(), bad))
}
