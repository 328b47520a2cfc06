//! A module zip is stored only if it is one: readable, every entry under
//! `module@version/`. Its central directory is read; nothing is decompressed.

use std::fs::File;
use std::path::Path;

pub fn check(path: &Path, prefix: &str) -> Result<(), String> {
    let file = File::open(path).map_err(|e| format!("cannot reopen the zip: {e}"))?;
    let archive = zip::ZipArchive::new(file).map_err(|e| format!("not a readable zip: {e}"))?;
    if archive.is_empty() {
        return Err("the zip has no files".into());
    }
    let outside = archive
        .file_names()
        .find(|name| !name.starts_with(prefix))
        .map(str::to_owned);
    match outside {
        Some(name) => Err(format!("zip entry {name:?} is not under {prefix}")),
        None => Ok(()),
    }
}
