//! A `file://` pool: a GOPROXY-layout directory served directly, for sites with no
//! upstream at all (a store copied from a connected site is such a tree). A tree
//! without `@v/list` or `@latest` files gets them computed from the files it has.

use crate::module::version::compare;
use crate::module::{escape_path, escape_version, is_canonical, unescape_version};
use crate::request::Kind;
use std::fs::{self, File};
use std::path::Path;

/// An answer found in a tree.
#[derive(Debug)]
pub enum Found {
    /// A file of the tree, served as it is.
    File(File),
    /// A list or `@latest` the tree does not have, computed from its files.
    Computed(Vec<u8>),
}

/// The tree's answer for a module request, or `None` (the next pool is asked).
pub fn lookup(root: &Path, kind: Kind, module: &str, version: Option<&str>) -> Option<Found> {
    let dir = root.join(escape_path(module).ok()?).join("@v");
    let open = |path: &Path| {
        let file = File::open(path).ok()?;
        file.metadata().ok()?.is_file().then_some(file)
    };
    match kind {
        Kind::Info | Kind::Mod | Kind::Zip => {
            let name = format!("{}.{}", escape_version(version?).ok()?, kind.as_str());
            open(&dir.join(name)).map(Found::File)
        }
        Kind::List => match open(&dir.join("list")) {
            Some(file) => Some(Found::File(file)),
            None => {
                let versions = versions(&dir)?;
                let mut list = versions.join("\n");
                list.push('\n');
                Some(Found::Computed(list.into_bytes()))
            }
        },
        Kind::Latest => {
            if let Some(file) = dir.parent().and_then(|m| open(&m.join("@latest"))) {
                return Some(Found::File(file));
            }
            let versions = versions(&dir)?;
            let latest = latest(&versions)?;
            let info = escape_version(latest)
                .ok()
                .and_then(|v| open(&dir.join(format!("{v}.info"))));
            Some(match info {
                Some(file) => Found::File(file),
                None => Found::Computed(format!("{{\"Version\":\"{latest}\"}}\n").into_bytes()),
            })
        }
        Kind::Sumdb => None,
    }
}

/// The canonical versions a module's `@v` directory has files of, in semver order;
/// `None` when it has none.
fn versions(dir: &Path) -> Option<Vec<String>> {
    let mut versions: Vec<String> = fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let (escaped, ext) = name.rsplit_once('.')?;
            if !matches!(ext, "info" | "mod" | "zip") {
                return None;
            }
            let version = unescape_version(escaped).ok()?.into_owned();
            is_canonical(&version).then_some(version)
        })
        .collect();
    versions.sort_by(|a, b| compare(a, b));
    versions.dedup();
    (!versions.is_empty()).then_some(versions)
}

/// What `@latest` means: the highest release, else the highest prerelease (which
/// pseudo-versions are).
fn latest(sorted: &[String]) -> Option<&str> {
    sorted
        .iter()
        .rev()
        .find(|v| !v.trim_start_matches('v').contains('-'))
        .or_else(|| sorted.last())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::latest;

    fn owned(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn latest_is_the_highest_release_else_the_highest_prerelease() {
        assert_eq!(
            latest(&owned(&["v1.0.0", "v1.1.0", "v1.2.0-rc.1"])),
            Some("v1.1.0")
        );
        assert_eq!(
            latest(&owned(&[
                "v0.0.0-20190101000000-abcdefabcdef",
                "v0.1.0-beta"
            ])),
            Some("v0.1.0-beta")
        );
        assert_eq!(latest(&[]), None);
    }
}
