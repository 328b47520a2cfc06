//! Request paths: any string is classified or refused, never a panic.
//!
//! * A module request names a valid module path (and, for `.mod`/`.zip`, a semantic
//!   version), which the path, percent-decoded as classify reads it, holds in Go's
//!   escaped form; rebuilt from its parts the way the go command writes it, the request
//!   classifies to exactly the same thing.
//! * A checksum database request keeps the path as received after `/sumdb/<name>`, and
//!   that upstream path has no `.` or `..` segment, even percent-decoded, and no
//!   encoded separator.
//! * A refusal is a one-line message of bounded length (it is sent back and logged).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::module::{check_path, escape_path, escape_version, is_valid_semver, percent_decode};
use modgate::request::{classify, Kind, Refusal, Request};

/// What `url.PathEscape` would do to the characters classify cares about.
fn encode(text: &str) -> String {
    text.replace('%', "%25").replace('!', "%21")
}

fn owned(request: &Request) -> (Kind, Option<String>, Option<String>) {
    (
        request.kind(),
        request.module().map(str::to_owned),
        request.version().map(str::to_owned),
    )
}

fuzz_target!(|path: &str| {
    match classify(path) {
        Ok(request @ Request::Module { .. }) => {
            let module = request.module().expect("a module request names a module");
            assert!(check_path(module).is_ok(), "{module:?} from {path:?}");
            let escaped = escape_path(module).expect("a checked path escapes");
            let decoded = percent_decode(path).expect("classify accepted its encoding");
            assert!(
                decoded.contains(&escaped),
                "{path:?} does not hold {escaped:?}"
            );
            let suffix = match (request.kind(), request.version()) {
                (Kind::List, None) => "/@v/list".to_owned(),
                (Kind::Latest, None) => "/@latest".to_owned(),
                (kind @ (Kind::Info | Kind::Mod | Kind::Zip), Some(version)) => {
                    if matches!(kind, Kind::Mod | Kind::Zip) {
                        assert!(is_valid_semver(version), "{version:?} from {path:?}");
                    }
                    let escaped = escape_version(version).expect("an accepted version escapes");
                    format!("/@v/{}.{}", encode(&escaped), kind.as_str())
                }
                other => panic!("{other:?} from {path:?}"),
            };
            let rebuilt = format!("/{}{suffix}", encode(&escaped));
            match classify(&rebuilt) {
                Ok(again) => assert_eq!(owned(&again), owned(&request), "{path:?} vs {rebuilt:?}"),
                Err(refusal) => {
                    panic!("{path:?} is {request:?} but {rebuilt:?} is refused: {refusal}")
                }
            }
        }
        Ok(Request::SumdbSupported { name }) => {
            assert_eq!(path, format!("/sumdb/{name}/supported"));
        }
        Ok(Request::Sumdb {
            name,
            upstream_path,
            module,
        }) => {
            assert_eq!(path, format!("/sumdb/{name}{upstream_path}"));
            assert!(upstream_path.starts_with('/'), "{path:?}");
            let lower = upstream_path.to_ascii_lowercase();
            assert!(!lower.contains("%2f") && !lower.contains("%5c"), "{path:?}");
            let decoded = percent_decode(upstream_path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            for segment in decoded.split(['/', '\\']) {
                assert!(
                    segment != "." && segment != "..",
                    "{path:?} has a dot segment"
                );
            }
            if let Some(module) = module {
                assert!(check_path(&module).is_ok(), "{module:?} from {path:?}");
                assert!(upstream_path.starts_with("/lookup/"), "{path:?}");
            }
        }
        Err(refusal) => {
            let message = refusal.to_string();
            assert!(!message.is_empty());
            assert!(!message.contains(['\n', '\r']), "{message:?}");
            assert!(
                message.len() <= 2048,
                "{} bytes for {} of input",
                message.len(),
                path.len()
            );
            assert!(matches!(refusal.status(), 400 | 404));
            if let Refusal::BadRequest(_) = refusal {
                assert_eq!(refusal.status(), 400);
            }
        }
    }
});
