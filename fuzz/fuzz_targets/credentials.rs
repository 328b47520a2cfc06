//! Credentials as clients send them: any bytes in X-API-Key and Authorization give a
//! key, nothing or a refusal, never a panic. A key is never empty and is exactly what a
//! reference reading of the headers gives: the trimmed X-API-Key, else the trimmed
//! Bearer token, else the password of a base64 Basic `user:password`; and a header
//! built from any Basic password or Bearer token yields that key back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modgate::auth::{presented_key, Presented};

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// Standard base64 with padding, as `.netrc` Basic credentials are sent.
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What the headers should give, except that a Basic value is judged by the crate's
/// own base64 decoder (whose strictness is the base64 crate's business).
fn expected<'a>(
    api_key: Option<&'a [u8]>,
    authorization: Option<&'a [u8]>,
) -> Option<Presented<'a>> {
    if let Some(key) = api_key {
        let key = trim(key);
        return Some(if key.is_empty() {
            Presented::Malformed
        } else {
            Presented::Key(key.into())
        });
    }
    let Some(value) = authorization else {
        return Some(Presented::Nothing);
    };
    let value = trim(value);
    let Some(space) = value.iter().position(|b| *b == b' ') else {
        return Some(Presented::Malformed);
    };
    let (scheme, rest) = (&value[..space], trim(&value[space + 1..]));
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
    let header = format!("Basic {}", base64(&pair));
    let got = presented_key(None, Some(header.as_bytes()));
    if password.is_empty() {
        assert_eq!(got, Presented::Malformed, "empty password in {header}");
    } else {
        assert_eq!(got, Presented::Key(password.into()), "{header}");
    }
    let mut bearer = b"Bearer ".to_vec();
    bearer.extend_from_slice(data);
    let got = presented_key(None, Some(&bearer));
    if trim(data).is_empty() {
        assert_eq!(got, Presented::Malformed);
    } else {
        assert_eq!(got, Presented::Key(trim(data).into()), "{bearer:?}");
    }
});
