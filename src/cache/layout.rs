//! Where an artifact lives in the store: the GOPROXY layout the go command itself
//! reads (`GOPROXY=file://DIR`) and writes (`$GOMODCACHE/cache/download`), so the
//! store can be rsync'd between sites and served by any file server.

use crate::module::{escape_path, escape_version, is_canonical};
use crate::request::Kind;

/// Where fills are written before they are complete: never a module path (a module
/// path's first element has a dot and no leading one), so never served.
pub const TEMP_DIR: &str = ".modgate-tmp";

/// The store's path of an artifact that cannot change: `.info`, `.mod` or `.zip` of a
/// canonical version, relative to the store's root. `None` for everything else
/// (lists, `@latest`, queries such as `master`, checksum database traffic), which is
/// never stored.
pub fn artifact_path(kind: Kind, module: &str, version: &str) -> Option<String> {
    let ext = match kind {
        Kind::Info | Kind::Mod | Kind::Zip => kind.as_str(),
        Kind::List | Kind::Latest | Kind::Sumdb => return None,
    };
    if !is_canonical(version) {
        return None;
    }
    let module = escape_path(module).ok()?;
    let version = escape_version(version).ok()?;
    Some(format!("{module}/@v/{version}.{ext}"))
}

/// Where the upstream's last `@v/list` or `@latest` answer for a module is kept, to
/// reuse for `list_ttl` and when every upstream fails. A name no version can have (a
/// version never starts with a dot), so the tree's own `@v/list` stays the list of
/// what is stored, which is what a reader of the tree can fetch.
pub fn answer_path(kind: Kind, module: &str) -> Option<String> {
    let name = match kind {
        Kind::List => "list",
        Kind::Latest => "latest",
        _ => return None,
    };
    Some(format!("{}/@v/.modgate-{name}", escape_path(module).ok()?))
}

/// The store's path of a module's version list.
pub fn list_path(module: &str) -> Option<String> {
    Some(format!("{}/@v/list", escape_path(module).ok()?))
}

/// What a zip's entries must all start with: `module@version/`.
pub fn zip_prefix(module: &str, version: &str) -> String {
    format!("{module}@{version}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_artifacts_map_to_the_goproxy_layout() {
        assert_eq!(
            artifact_path(Kind::Zip, "github.com/Azure/azlite", "v0.3.0").as_deref(),
            Some("github.com/!azure/azlite/@v/v0.3.0.zip")
        );
        assert_eq!(
            artifact_path(Kind::Info, "example.com/m", "v1.0.0-RC1").as_deref(),
            Some("example.com/m/@v/v1.0.0-!r!c1.info")
        );
        assert_eq!(
            artifact_path(Kind::Mod, "example.com/m", "v2.0.0+incompatible").as_deref(),
            Some("example.com/m/@v/v2.0.0+incompatible.mod")
        );
        assert_eq!(
            list_path("example.com/M").as_deref(),
            Some("example.com/!m/@v/list")
        );
        assert_eq!(
            answer_path(Kind::Latest, "example.com/M").as_deref(),
            Some("example.com/!m/@v/.modgate-latest")
        );
        assert_eq!(answer_path(Kind::Zip, "example.com/m"), None);
    }

    #[test]
    fn what_can_change_is_never_stored() {
        for (kind, version) in [
            (Kind::Info, "master"),
            (Kind::Info, "v1"),
            (Kind::Info, "v1.2"),
            (Kind::Zip, "v1.0.0+build"),
            (Kind::List, "v1.0.0"),
            (Kind::Latest, "v1.0.0"),
            (Kind::Sumdb, "v1.0.0"),
        ] {
            assert_eq!(
                artifact_path(kind, "example.com/m", version),
                None,
                "{kind} {version}"
            );
        }
        assert_eq!(artifact_path(Kind::Zip, "../etc", "v1.0.0"), None);
    }
}
