//! Credentials as clients send them: any bytes in X-API-Key and Authorization give a
//! key, nothing or a refusal, never a panic; a key is always part of what was sent
//! (or its base64-decoded Basic password).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::auth::{presented_key, Presented};

fuzz_target!(|data: &[u8]| {
    let (first, second) = data.split_at(data.len() / 2);
    for (api_key, authorization) in [
        (Some(first), None),
        (None, Some(data)),
        (None, Some(second)),
        (Some(first), Some(second)),
    ] {
        if let Presented::Key(key) = presented_key(api_key, authorization) {
            assert!(!key.is_empty(), "an empty key from {api_key:?} {authorization:?}");
        }
    }
});
