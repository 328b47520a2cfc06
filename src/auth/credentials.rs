//! Finding the key in a request. The go command sends `.netrc` credentials as Basic
//! auth (the key is the password; the login is ignored, so any `.netrc` login works),
//! Go 1.24+ GOAUTH can send a Bearer token, and scripts like `X-API-Key`.

use base64::Engine;
use std::borrow::Cow;

#[derive(Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    Nothing,
    Key(Cow<'a, [u8]>),
    /// A credential header was sent but could not be read: refused like a bad key.
    Malformed,
}

pub fn presented_key<'a>(
    api_key: Option<&'a [u8]>,
    authorization: Option<&'a [u8]>,
) -> Presented<'a> {
    if let Some(key) = api_key {
        let key = key.trim_ascii();
        return if key.is_empty() {
            Presented::Malformed
        } else {
            Presented::Key(Cow::Borrowed(key))
        };
    }
    let Some(value) = authorization else {
        return Presented::Nothing;
    };
    let value = value.trim_ascii();
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => (&value[..space], value[space + 1..].trim_ascii()),
        None => return Presented::Malformed,
    };
    if scheme.eq_ignore_ascii_case(b"bearer") && !rest.is_empty() {
        return Presented::Key(Cow::Borrowed(rest));
    }
    if scheme.eq_ignore_ascii_case(b"basic") {
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(rest) else {
            return Presented::Malformed;
        };
        return match decoded.iter().position(|b| *b == b':') {
            Some(colon) if colon + 1 < decoded.len() => {
                Presented::Key(Cow::Owned(decoded[colon + 1..].to_vec()))
            }
            _ => Presented::Malformed,
        };
    }
    Presented::Malformed
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn basic(user_pass: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_pass)
        )
    }

    fn key(bytes: &[u8]) -> Presented<'_> {
        Presented::Key(Cow::Borrowed(bytes))
    }

    #[test]
    fn basic_auth_password_is_the_key() {
        let header = basic("ci:k3y");
        assert_eq!(presented_key(None, Some(header.as_bytes())), key(b"k3y"));
        let header = basic("anything:a:b");
        assert_eq!(presented_key(None, Some(header.as_bytes())), key(b"a:b"));
    }

    #[test]
    fn bearer_and_api_key_headers() {
        assert_eq!(presented_key(None, Some(b"Bearer k3y")), key(b"k3y"));
        assert_eq!(presented_key(None, Some(b"bearer   k3y ")), key(b"k3y"));
        assert_eq!(presented_key(Some(b"k3y"), None), key(b"k3y"));
        assert_eq!(
            presented_key(Some(b"k3y"), Some(b"Bearer other")),
            key(b"k3y")
        );
    }

    #[test]
    fn nothing_and_malformed_are_told_apart() {
        assert_eq!(presented_key(None, None), Presented::Nothing);
        for bad in [
            &b"Basic !!!"[..],
            b"Basic",
            b"Digest x=1",
            b"Bearer ",
            b"Basic Y2k6",
        ] {
            assert_eq!(
                presented_key(None, Some(bad)),
                Presented::Malformed,
                "{bad:?}"
            );
        }
        assert_eq!(presented_key(Some(b"  "), None), Presented::Malformed);
    }

    proptest! {
        #[test]
        fn never_panics(api in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
                        auth in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64))) {
            let _ = presented_key(api.as_deref(), auth.as_deref());
        }

        #[test]
        fn any_basic_password_round_trips(user in "[a-z]{0,8}", pass in "[ -~]{1,40}") {
            let header = basic(&format!("{user}:{pass}"));
            prop_assert_eq!(presented_key(None, Some(header.as_bytes())), Presented::Key(Cow::Owned(pass.into_bytes())));
        }
    }
}
