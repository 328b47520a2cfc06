//! Request heads: any set of headers is passed or refused by `hygiene::check`, never
//! a panic, and a passed head carries no body, one Host (none only before HTTP/1.1)
//! and a `Connection` header Pingora can forward. The reference below reads the
//! header text itself, not the `HeaderMap`'s typed view.
#![no_main]

use http::{HeaderMap, HeaderName, HeaderValue, Version};
use libfuzzer_sys::fuzz_target;
use modgate::request::hygiene::check;

const VERSIONS: [Version; 3] = [Version::HTTP_10, Version::HTTP_11, Version::HTTP_2];

fuzz_target!(|input: &[u8]| {
    let Some((&selector, text)) = input.split_first() else {
        return;
    };
    let version = VERSIONS[usize::from(selector) % VERSIONS.len()];
    let mut headers = HeaderMap::new();
    let mut raw: Vec<(String, Vec<u8>)> = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(&line[colon + 1..]),
        ) else {
            continue;
        };
        raw.push((name.as_str().to_owned(), value.as_bytes().to_vec()));
        headers.append(name, value);
    }
    let values = |name: &'static str| raw.iter().filter(move |(n, _)| n == name).map(|(_, v)| v);
    if check(version, &headers).is_err() {
        return;
    }
    assert_eq!(values("transfer-encoding").count(), 0);
    assert!(values("content-length").all(|v| v.trim_ascii() == b"0"));
    let hosts = values("host").count();
    assert!(hosts <= 1);
    assert!(hosts == 1 || version != Version::HTTP_11);
    let tokens: Vec<Vec<u8>> = values("connection")
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|t| t.trim_ascii().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    assert!(tokens.len() < 10);
    for token in tokens {
        assert!(!token.starts_with(b":"));
        assert!(!token.contains(&b'"'));
        for protected in [
            "host",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
        ] {
            assert_ne!(token, protected.as_bytes());
        }
        assert!(HeaderName::from_bytes(&token).is_ok());
    }
});
