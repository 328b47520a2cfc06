//! Credentials as clients send them: any bytes in X-API-Key and Authorization give a
//! key, nothing or a refusal, never a panic. A key is never empty and is exactly what a
//! reference reading of the headers gives: the trimmed X-API-Key, else the trimmed
//! Bearer token, else the password of a base64 Basic `user:password`; and a header
//! built from any Basic password or Bearer token yields that key back.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use modgate::auth::{presented_key, Presented};

/// What the headers should give, except that a Basic value is judged by the crate's
/// own base64 decoder (whose strictness is the base64 crate's business).
fn expected<'a>(
    api_key: Option<&'a [u8]>,
    authorization: Option<&'a [u8]>,
) -> Option<Presented<'a>> {
    if let Some(key) = api_key {
        let key = key.trim_ascii();
        return Some(if key.is_empty() {
            Presented::Malformed
        } else {
            Presented::Key(key.into())
        });
    }
    let Some(value) = authorization else {
        return Some(Presented::Nothing);
    };
    let value = value.trim_ascii();
    let Some(space) = value.iter().position(|b| *b == b' ') else {
        return Some(Presented::Malformed);
    };
    let (scheme, rest) = (&value[..space], value[space + 1..].trim_ascii());
    if scheme.eq_ignore_ascii_case(b"bearer") && !rest.is_empty() {
        return Some(Presented::Key(rest.into()));
    }
    if scheme.eq_ignore_ascii_case(b"basic") {
        return None;
    }
    Some(Presented::Malformed)
}

fuzz_target!(|data: &[u8]| {
    let (first, second) = data.split_at(data.len() / 2);
    for (api_key, authorization) in [
        (Some(first), None),
        (None, Some(data)),
        (None, Some(second)),
        (Some(first), Some(second)),
        (None, None),
    ] {
        let got = presented_key(api_key, authorization);
        if let Presented::Key(key) = &got {
            assert!(
                !key.is_empty(),
                "an empty key from {api_key:?} {authorization:?}"
            );
        }
        if let Some(want) = expected(api_key, authorization) {
            assert_eq!(got, want, "from {api_key:?} {authorization:?}");
        }
    }

    // Round trips: the go command's Basic header (any login without ':'), and Bearer.
    let split = data
        .iter()
        .position(|b| *b == 0)
        .unwrap_or(data.len().min(8));
    let login: Vec<u8> = data[..split]
        .iter()
        .copied()
        .filter(|b| *b != b':')
        .collect();
    let password = data.get(split + 1..).unwrap_or_default();
    let mut pair = login.clone();
    pair.push(b':');
    pair.extend_from_slice(password);
    let header = format!("Basic {}", STANDARD.encode(&pair));
    let got = presented_key(None, Some(header.as_bytes()));
    if password.is_empty() {
        assert_eq!(got, Presented::Malformed, "empty password in {header}");
    } else {
        assert_eq!(got, Presented::Key(password.into()), "{header}");
    }
    let mut bearer = b"Bearer ".to_vec();
    bearer.extend_from_slice(data);
    let got = presented_key(None, Some(&bearer));
    if data.trim_ascii().is_empty() {
        assert_eq!(got, Presented::Malformed);
    } else {
        assert_eq!(got, Presented::Key(data.trim_ascii().into()), "{bearer:?}");
    }
});
