//! The store's path mapping: whatever module path and version a request names, the
//! artifact path stays inside the store. It is relative, every component is a plain
//! name (no `.`, `..`, root or prefix), none starts with a dot (so never the
//! temporary directory), and it is exactly `<escaped module>/@v/<escaped version>.<ext>`
//! of a canonical version that unescapes back to what was asked for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::cache::layout::{artifact_path, TEMP_DIR};
use modgate::module::{is_canonical, unescape_path, unescape_version};
use modgate::request::Kind;
use std::path::{Component, Path};

const KINDS: [Kind; 6] = [
    Kind::Info,
    Kind::Mod,
    Kind::Zip,
    Kind::List,
    Kind::Latest,
    Kind::Sumdb,
];

fuzz_target!(|input: &str| {
    let Some((selector, rest)) = input.split_at_checked(1) else {
        return;
    };
    let kind = KINDS[usize::from(selector.as_bytes()[0]) % KINDS.len()];
    let (module, version) = rest.split_once('\n').unwrap_or((rest, "v1.0.0"));
    let Some(path) = artifact_path(kind, module, version) else {
        return;
    };
    assert!(matches!(kind, Kind::Info | Kind::Mod | Kind::Zip));
    assert!(is_canonical(version), "{version:?}");
    assert!(!path.contains('\0') && !path.contains('\\'), "{path:?}");
    for component in Path::new(&path).components() {
        let Component::Normal(name) = component else {
            panic!("{path:?} has a {component:?} component");
        };
        let name = name.to_string_lossy();
        assert!(!name.starts_with('.'), "{path:?}");
        assert_ne!(name, TEMP_DIR);
    }
    let (escaped_module, file) = path.rsplit_once("/@v/").expect("a version file");
    assert_eq!(unescape_path(escaped_module).expect("unescapes"), module);
    let (escaped_version, ext) = file.rsplit_once('.').expect("an extension");
    assert_eq!(ext, kind.as_str());
    assert_eq!(
        unescape_version(escaped_version).expect("unescapes"),
        version
    );
});
