//! Module path and version escaping (Go's `module.EscapePath`/`UnescapePath`,
//! `EscapeVersion`/`UnescapeVersion`) and request-path percent decoding, on any string:
//!
//! * unescaping and escaping are inverse both ways whenever either succeeds, and an
//!   unescaped path always passes `check_path`;
//! * `escape_path` accepts exactly what `check_path` accepts;
//! * percent decoding never yields a control character, leaves a string without `%`
//!   alone, and inverts re-encoding of `%`;
//! * every error message is one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::module::{
    check_path, escape_path, escape_version, percent_decode, unescape_path, unescape_version,
    PathError,
};

fn one_line(error: &PathError) {
    let message = error.to_string();
    assert!(!message.contains(['\n', '\r']), "{message:?}");
    assert!(message.len() <= 2048, "{} bytes", message.len());
}

fuzz_target!(|text: &str| {
    match unescape_path(text) {
        Ok(path) => {
            assert!(
                check_path(&path).is_ok(),
                "{text:?} unescapes to unchecked {path:?}"
            );
            assert_eq!(escape_path(&path).as_deref(), Ok(text), "{path:?}");
        }
        Err(e) => one_line(&e),
    }
    match escape_path(text) {
        Ok(escaped) => {
            assert!(check_path(text).is_ok());
            assert_eq!(unescape_path(&escaped).as_deref(), Ok(text), "{escaped:?}");
        }
        Err(e) => {
            one_line(&e);
            assert!(
                check_path(text).is_err(),
                "{text:?} checks but does not escape: {e}"
            );
        }
    }
    match unescape_version(text) {
        Ok(version) => assert_eq!(escape_version(&version).as_deref(), Ok(text), "{version:?}"),
        Err(e) => one_line(&e),
    }
    match escape_version(text) {
        Ok(escaped) => {
            assert_eq!(
                unescape_version(&escaped).as_deref(),
                Ok(text),
                "{escaped:?}"
            )
        }
        Err(e) => one_line(&e),
    }
    match percent_decode(text) {
        Ok(decoded) => {
            assert!(!decoded.chars().any(char::is_control), "{decoded:?}");
            if !text.contains('%') {
                assert_eq!(decoded, text);
            }
            let encoded = decoded.replace('%', "%25");
            assert_eq!(
                percent_decode(&encoded).as_deref(),
                Ok(&*decoded),
                "{encoded:?}"
            );
        }
        Err(e) => one_line(&e),
    }
});
