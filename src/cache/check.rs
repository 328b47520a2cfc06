//! What an answer must be to be stored (by a fill, an import, or found by `verify`):
//! a zip readable with every entry under `module@version/` (its central directory is
//! read; nothing is decompressed), and the text files what their kind says.

use super::layout;
use crate::request::Kind;
use std::fs::{self, File};
use std::path::Path;

pub fn check(path: &Path, kind: Kind, module: &str, version: &str) -> Result<(), String> {
    match kind {
        Kind::Zip => zip(path, &layout::zip_prefix(module, version)),
        _ => text(path, kind, version),
    }
}

fn zip(path: &Path, prefix: &str) -> Result<(), String> {
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

/// A `.info` names the version it was asked for, an `@latest` some version; a `.mod`
/// is a go.mod, which always has a module directive (even one the proxy synthesized);
/// a list is text.
fn text(path: &Path, kind: Kind, version: &str) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("not UTF-8 text: {e}"))?;
    if kind == Kind::List {
        return Ok(());
    }
    if kind == Kind::Mod {
        let has_module = text
            .lines()
            .any(|line| line.trim_start().starts_with("module"));
        return if has_module {
            Ok(())
        } else {
            Err("the .mod has no module directive".into())
        };
    }
    #[derive(serde::Deserialize)]
    struct Info {
        #[serde(rename = "Version")]
        version: String,
    }
    match serde_json::from_str::<Info>(&text) {
        Ok(info) if info.version == version => Ok(()),
        Ok(info) if kind == Kind::Latest && !info.version.is_empty() => Ok(()),
        Ok(info) => Err(format!("the .info names version {:?}", info.version)),
        Err(e) => Err(format!("the .info is not JSON with a Version: {e}")),
    }
}
