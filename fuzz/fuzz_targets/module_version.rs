//! Go semantic versions: a canonical version is valid; a valid one starts with `v`, is
//! ASCII, escapes for the proxy protocol and classifies back as exactly itself in
//! `.mod`/`.zip`/`.info` requests; any other version that escapes is accepted in `.info`
//! requests (version queries) and refused in `.mod` and `.zip` requests with a 400.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::module::{escape_version, is_canonical, is_valid_semver};
use modgate::request::{classify, Kind, Refusal};

fuzz_target!(|v: &str| {
    let valid = is_valid_semver(v);
    if is_canonical(v) {
        assert!(valid, "{v:?} is canonical but not valid");
    }
    if valid {
        assert!(v.starts_with('v') && v.is_ascii(), "{v:?}");
        assert!(!v.contains(['/', '\\', ' ', '%', '!']), "{v:?}");
    }
    let Ok(escaped) = escape_version(v) else {
        assert!(!valid, "valid {v:?} does not escape");
        return;
    };
    let escaped = escaped.replace('%', "%25");
    for kind in [Kind::Mod, Kind::Zip, Kind::Info] {
        let path = format!("/example.com/m/@v/{escaped}.{kind}");
        match classify(&path) {
            Ok(request) => {
                assert!(
                    valid || kind == Kind::Info,
                    "invalid {v:?} accepted in {path:?}"
                );
                assert_eq!(request.kind(), kind);
                assert_eq!(request.module(), Some("example.com/m"));
                assert_eq!(request.version(), Some(v), "{path:?}");
            }
            Err(refusal) => {
                assert!(
                    !valid && kind != Kind::Info,
                    "{v:?} refused in {path:?}: {refusal}"
                );
                assert!(
                    matches!(refusal, Refusal::BadRequest(_)),
                    "{path:?}: {refusal:?}"
                );
            }
        }
    }
});
