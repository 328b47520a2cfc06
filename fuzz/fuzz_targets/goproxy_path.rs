//! Request paths: any string is classified or refused, never a panic; a module request
//! names a valid module path, which the path (percent-decoded, as classify reads it)
//! holds in Go's escaped form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::module::{check_path, escape_path, percent_decode};
use modgate::request::{classify, Request};

fuzz_target!(|path: &str| {
    if let Ok(Request::Module { module, .. }) = classify(path) {
        assert!(check_path(&module).is_ok(), "{module:?} from {path:?}");
        let escaped = escape_path(&module).expect("a checked path escapes");
        let decoded = percent_decode(path).expect("classify accepted its encoding");
        assert!(
            decoded.contains(&escaped),
            "{path:?} does not hold {escaped:?}"
        );
    }
});
