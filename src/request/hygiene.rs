//! What a GOPROXY request never carries. A body on a GET is the classic way to smuggle
//! a second request past a proxy to a backend that does not read it; a header that
//! Pingora would refuse to forward would otherwise surface as an upstream failure.
//! Each is a property of the request head, so it is judged here, before anything is
//! sent anywhere.

use http::header::{CONNECTION, CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, Version};

/// Why a request head is refused (400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// `Content-Length` other than 0, or any `Transfer-Encoding`.
    Body,
    /// HTTP/1.1 without `Host` (RFC 9112 §3.2).
    NoHost,
    /// More than one `Host`.
    ManyHosts,
    /// `Connection` names a field a proxy must not drop, or is not a token list.
    Connection,
    /// Pingora could not read or forward the rest of the request.
    Unreadable,
}

impl Flaw {
    pub fn message(self) -> &'static str {
        match self {
            Flaw::Body => "modgate: a module proxy request carries no body\nsend GET or HEAD without Content-Length or Transfer-Encoding\n",
            Flaw::NoHost => "modgate: an HTTP/1.1 request needs a Host header\n",
            Flaw::ManyHosts => "modgate: the request has more than one Host header\n",
            Flaw::Connection => "modgate: the Connection header names fields that cannot be dropped\nsend Connection: keep-alive or close\n",
            Flaw::Unreadable => "modgate: the request could not be read or forwarded as sent\n",
        }
    }
}

/// Pingora refuses to forward a request whose `Connection` names one of these, or
/// names this many fields or more.
const PROTECTED: [&str; 4] = [
    "host",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
];
const MAX_NOMINATIONS: usize = 10;

pub fn check(version: Version, headers: &HeaderMap) -> Result<(), Flaw> {
    if headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get_all(CONTENT_LENGTH)
            .iter()
            .any(|v| v.as_bytes().trim_ascii() != b"0")
    {
        return Err(Flaw::Body);
    }
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (_, Some(_)) => return Err(Flaw::ManyHosts),
        (None, None) if version == Version::HTTP_11 => return Err(Flaw::NoHost),
        _ => {}
    }
    let mut nominations = 0;
    for token in headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
    {
        nominations += 1;
        let protected = PROTECTED
            .iter()
            .any(|name| name.as_bytes().eq_ignore_ascii_case(token));
        if nominations >= MAX_NOMINATIONS || protected || !token.iter().all(|&b| is_tchar(b)) {
            return Err(Flaw::Connection);
        }
    }
    Ok(())
}

/// RFC 9110 §5.6.2.
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(version: Version, headers: &[(&str, &str)]) -> Result<(), Flaw> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                http::HeaderValue::from_str(value).expect("value"),
            );
        }
        check(version, &map)
    }

    const H11: Version = Version::HTTP_11;

    #[test]
    fn a_plain_get_passes() {
        assert_eq!(head(H11, &[("host", "a")]), Ok(()));
        assert_eq!(head(H11, &[("host", "a"), ("content-length", "0")]), Ok(()));
        assert_eq!(
            head(H11, &[("host", "a"), ("connection", "keep-alive, Upgrade")]),
            Ok(())
        );
        assert_eq!(head(Version::HTTP_10, &[]), Ok(()));
        assert_eq!(head(Version::HTTP_2, &[]), Ok(()));
    }

    #[test]
    fn any_body_is_refused() {
        for headers in [
            &[("host", "a"), ("content-length", "74")][..],
            &[
                ("host", "a"),
                ("content-length", "0"),
                ("content-length", "5"),
            ],
            &[("host", "a"), ("content-length", "00x")],
            &[("host", "a"), ("transfer-encoding", "chunked")],
            &[("host", "a"), ("transfer-encoding", "identity")],
        ] {
            assert_eq!(head(H11, headers), Err(Flaw::Body), "{headers:?}");
        }
        assert_eq!(
            head(Version::HTTP_2, &[("content-length", "1")]),
            Err(Flaw::Body)
        );
    }

    #[test]
    fn host_is_required_once_over_http_1_1() {
        assert_eq!(head(H11, &[]), Err(Flaw::NoHost));
        assert_eq!(
            head(H11, &[("host", "a"), ("host", "b")]),
            Err(Flaw::ManyHosts)
        );
        assert_eq!(
            head(Version::HTTP_10, &[("host", "a"), ("host", "b")]),
            Err(Flaw::ManyHosts)
        );
    }

    #[test]
    fn connection_may_not_name_forwarding_fields_or_too_many() {
        for value in [
            "X-Forwarded-For",
            "close, host",
            "\"x-forwarded-proto\"",
            ":authority",
            "a,b,c,d,e,f,g,h,i,j",
        ] {
            assert_eq!(
                head(H11, &[("host", "a"), ("connection", value)]),
                Err(Flaw::Connection),
                "{value}"
            );
        }
        assert_eq!(
            head(H11, &[("host", "a"), ("connection", "a,b,c,d,e,f,g,h,i")]),
            Ok(())
        );
    }
}
