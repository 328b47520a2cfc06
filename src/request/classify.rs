//! Classification of GOPROXY protocol request paths.
//!
//! The protocol (see `go help goproxy`) has a handful of URL shapes:
//!
//! * `/<module>/@v/list`
//! * `/<module>/@v/<version>.info`, `.mod`, `.zip`
//! * `/<module>/@latest`
//! * `/sumdb/<name>/supported`, and the proxied checksum database endpoints
//!   `/sumdb/<name>/lookup/<module>@<version>`, `/sumdb/<name>/tile/...`
//!   and `/sumdb/<name>/latest`.
//!
//! Module paths and versions arrive escaped twice: `!`-escaped for upper case
//! and then percent-encoded by the go command, so `github.com/Azure/x`
//! arrives as `github.com/%21azure/x`. The classifier undoes both and
//! validates the result with the go command's own rules, so a module that
//! reaches routing is exactly the module the upstream will serve.
//!
//! Decisions where the protocol is silent:
//!
//! * Encoded separators (`%2F`, `%5C`) anywhere are refused. The go command
//!   never encodes `/`, and upstreams disagree about whether `%2F` splits a
//!   path, so accepting it would let the gateway and the upstream see
//!   different modules.
//! * Everything else is percent-decoded before the path is split, as Go's
//!   `net/http` does for Go-written proxies, so `%2e%2e` is just `..` and is
//!   refused by the module path rules like a literal `..`.
//! * A path is GOPROXY-shaped if it contains `/@v/`, ends with `/@latest`,
//!   or starts with `/sumdb/<name>/`. Malformed GOPROXY-shaped paths are
//!   `400 Bad Request` with a reason; anything else is `404 Not Found`.
//! * The module/version split is at the first `/@v/`: module paths cannot
//!   contain `@`, so no valid module can contain it, and whatever follows is
//!   the version part (which may not contain `/`).
//! * `.info` accepts any version query that is a valid escaped version
//!   (`go get m@master` asks for `@v/master.info`); `.mod`, `.zip` and sumdb
//!   lookups require a semantic version, because the go command only ever
//!   asks for those with resolved versions. Whether the version's major
//!   version fits the module path (`/v2` and so on) is left to the upstream.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use crate::module::escape::{percent_decode, unescape_path, unescape_version, PathError, Quoted};
use crate::module::version::is_valid_semver;

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `/@v/list`: known versions of a module.
    List,
    /// `/@v/<version>.info`: version metadata; also resolves queries.
    Info,
    /// `/@v/<version>.mod`: the `go.mod` file.
    Mod,
    /// `/@v/<version>.zip`: the module source.
    Zip,
    /// `/@latest`: the latest version when `list` has none.
    Latest,
    /// Anything under `/sumdb/<name>/`.
    Sumdb,
}

impl Kind {
    /// A short, stable label for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::List => "list",
            Kind::Info => "info",
            Kind::Mod => "mod",
            Kind::Zip => "zip",
            Kind::Latest => "latest",
            Kind::Sumdb => "sumdb",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified GOPROXY request, borrowing from the request path wherever
/// nothing had to be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// A module download-protocol request.
    Module {
        kind: Kind,
        /// The unescaped, validated module path (`github.com/Azure/x`).
        module: Cow<'a, str>,
        /// The unescaped version; `None` for `list` and `latest`.
        version: Option<Cow<'a, str>>,
    },
    /// `/sumdb/<name>/supported`: whether the proxy proxies that database.
    SumdbSupported { name: &'a str },
    /// A proxied checksum database request.
    Sumdb {
        name: &'a str,
        /// The part after `/sumdb/<name>`, starting with `/`, still escaped
        /// exactly as received, ready to be appended to the database URL.
        upstream_path: &'a str,
        /// The unescaped module of a `/lookup/<module>@<version>`; `None` for
        /// tiles and `latest`, which are not about one module.
        module: Option<Cow<'a, str>>,
    },
}

impl Request<'_> {
    /// The kind of request; all checksum database requests are [`Kind::Sumdb`].
    pub fn kind(&self) -> Kind {
        match self {
            Request::Module { kind, .. } => *kind,
            Request::SumdbSupported { .. } | Request::Sumdb { .. } => Kind::Sumdb,
        }
    }

    /// The unescaped module path the request is about, if it is about one.
    pub fn module(&self) -> Option<&str> {
        match self {
            Request::Module { module, .. } => Some(module),
            Request::Sumdb {
                module: Some(module),
                ..
            } => Some(module),
            Request::Sumdb { module: None, .. } | Request::SumdbSupported { .. } => None,
        }
    }

    /// The unescaped version of a module request, if it names one.
    pub fn version(&self) -> Option<&str> {
        match self {
            Request::Module {
                version: Some(version),
                ..
            } => Some(version),
            _ => None,
        }
    }
}

/// Why a request path was not classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: a GOPROXY-shaped path that is malformed. The message is one line
    /// naming the problem; the go command shows it to its user.
    BadRequest(String),
    /// 404: not a GOPROXY path at all.
    NotFound,
}

impl Refusal {
    /// The HTTP status code to answer with.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadRequest(_) => 400,
            Refusal::NotFound => 404,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::BadRequest(message) => f.write_str(message),
            Refusal::NotFound => f.write_str("not found"),
        }
    }
}

impl std::error::Error for Refusal {}

/// Classifies a request path exactly as received (without the query
/// string), e.g. `/github.com/%21azure/azlite/@v/v0.3.0.zip`.
pub fn classify(raw_path: &str) -> Result<Request<'_>, Refusal> {
    if !raw_path.starts_with('/') {
        return Err(bad(format!(
            "invalid request path {}: must start with \"/\"",
            Quoted(raw_path)
        )));
    }
    if has_encoded_separator(raw_path) {
        return Err(bad(format!(
            "invalid request path {}: encoded \"/\" or \"\\\" (%2F, %5C) is not allowed",
            Quoted(raw_path)
        )));
    }
    if let Some(after) = raw_path.strip_prefix("/sumdb/") {
        return classify_sumdb(after);
    }
    let decoded = percent_decode(raw_path).map_err(path_refusal)?;
    classify_module(decoded)
}

fn classify_module(decoded: Cow<'_, str>) -> Result<Request<'_>, Refusal> {
    let path: &str = &decoded;
    let (module_end, kind, version_range) = if let Some(at_v) = path.find("/@v/") {
        let tail_start = at_v + "/@v/".len();
        let tail = &path[tail_start..];
        if tail == "list" {
            (at_v, Kind::List, None)
        } else if let Some((kind, ext)) = version_file(tail) {
            (at_v, kind, Some(tail_start..path.len() - ext.len()))
        } else {
            return Err(bad(format!(
                "unsupported GOPROXY request {}: expected \"list\" or \"<version>.info\", \
                 \".mod\" or \".zip\" after \"/@v/\"",
                Quoted(tail)
            )));
        }
    } else if let Some(module) = path.strip_suffix("/@latest") {
        (module.len(), Kind::Latest, None)
    } else {
        return Err(Refusal::NotFound);
    };
    // Skip the leading '/'; an empty module (`/@v/list`) is refused below.
    let module_range = module_end.min(1)..module_end;
    let module = project(&decoded, module_range, unescape_path).map_err(path_refusal)?;
    let version = match version_range {
        None => None,
        Some(range) => {
            let version = project(&decoded, range, unescape_version).map_err(path_refusal)?;
            if matches!(kind, Kind::Mod | Kind::Zip) && !is_valid_semver(&version) {
                return Err(not_semver(&version, kind));
            }
            Some(version)
        }
    };
    Ok(Request::Module {
        kind,
        module,
        version,
    })
}

/// The kind and extension of a `<version>.<ext>` file name.
fn version_file(tail: &str) -> Option<(Kind, &'static str)> {
    [
        (Kind::Info, ".info"),
        (Kind::Mod, ".mod"),
        (Kind::Zip, ".zip"),
    ]
    .into_iter()
    .find(|(_, ext)| tail.ends_with(ext))
}

fn classify_sumdb(after: &str) -> Result<Request<'_>, Refusal> {
    let Some(slash) = after.find('/') else {
        return Err(Refusal::NotFound);
    };
    let (name, upstream_path) = after.split_at(slash);
    if !valid_sumdb_name(name) {
        return Err(bad(format!(
            "invalid checksum database name {}",
            Quoted(name)
        )));
    }
    match upstream_path {
        "/supported" => return Ok(Request::SumdbSupported { name }),
        "/latest" => {
            return Ok(Request::Sumdb {
                name,
                upstream_path,
                module: None,
            })
        }
        _ => {}
    }
    if let Some(spec) = upstream_path.strip_prefix("/lookup/") {
        let module = lookup_module(spec)?;
        return Ok(Request::Sumdb {
            name,
            upstream_path,
            module: Some(module),
        });
    }
    if let Some(tile) = upstream_path.strip_prefix("/tile/") {
        if !valid_tile(tile) {
            return Err(bad(format!(
                "invalid checksum database tile path {}",
                Quoted(tile)
            )));
        }
        return Ok(Request::Sumdb {
            name,
            upstream_path,
            module: None,
        });
    }
    Err(Refusal::NotFound)
}

/// The module of `lookup/<escaped module>@<escaped version>`. Like Go's
/// checksum database server, the split is at the last `@` of the decoded
/// text.
fn lookup_module(spec: &str) -> Result<Cow<'_, str>, Refusal> {
    let decoded = percent_decode(spec).map_err(path_refusal)?;
    let Some(at) = decoded.rfind('@') else {
        return Err(bad(format!(
            "invalid checksum database lookup {}: missing \"@<version>\"",
            Quoted(spec)
        )));
    };
    let module = project(&decoded, 0..at, unescape_path).map_err(path_refusal)?;
    let version =
        project(&decoded, at + 1..decoded.len(), unescape_version).map_err(path_refusal)?;
    if !is_valid_semver(&version) {
        return Err(not_semver(&version, Kind::Sumdb));
    }
    Ok(module)
}

/// Checksum database names are host names in practice; a single safe path
/// segment is required so that the name cannot smuggle in path structure.
fn valid_sumdb_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~' | b':'))
}

/// Loose shape check of `H/L/NNN[.p/W]` or `H/data/NNN[.p/W]` (NNN being
/// one or more `xDDD/` groups and a final `DDD`): numbers where numbers go
/// and only lower-case letters, digits and inner dots in the rest, which
/// rules out `..`, empty segments, percent escapes and anything an upstream
/// could interpret differently from the gateway.
fn valid_tile(tile: &str) -> bool {
    let small_number =
        |s: &str| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let mut segments = tile.split('/');
    let height_ok = segments.next().is_some_and(small_number);
    let level_ok = segments
        .next()
        .is_some_and(|l| l == "data" || small_number(l));
    let mut count = 0;
    let rest_ok = segments.all(|s| {
        count += 1;
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'.')
    });
    height_ok && level_ok && rest_ok && count > 0
}

/// `%2F`/`%2f` (`/`) or `%5C`/`%5c` (`\`).
fn has_encoded_separator(raw: &str) -> bool {
    raw.contains('%')
        && raw.as_bytes().windows(3).any(|w| {
            w[0] == b'%'
                && matches!(
                    (w[1], w[2].to_ascii_lowercase()),
                    (b'2', b'f') | (b'5', b'c')
                )
        })
}

/// Applies an unescaping function to a range of a possibly decoded string,
/// keeping the borrow from the request path when there is one.
fn project<'a>(
    source: &Cow<'a, str>,
    range: Range<usize>,
    unescape: for<'x> fn(&'x str) -> Result<Cow<'x, str>, PathError>,
) -> Result<Cow<'a, str>, PathError> {
    match source {
        Cow::Borrowed(text) => {
            let text: &'a str = text;
            unescape(&text[range])
        }
        Cow::Owned(text) => unescape(&text[range]).map(|v| Cow::Owned(v.into_owned())),
    }
}

fn bad(message: String) -> Refusal {
    Refusal::BadRequest(message)
}

fn path_refusal(err: PathError) -> Refusal {
    Refusal::BadRequest(err.to_string())
}

fn not_semver(version: &str, kind: Kind) -> Refusal {
    let what = match kind {
        Kind::Sumdb => "checksum database lookups",
        Kind::Mod => ".mod requests",
        _ => ".zip requests",
    };
    bad(format!(
        "invalid version {}: {what} need a semantic version such as v1.2.3",
        Quoted(version)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::escape::{check_path, escape_path, escape_version};
    use proptest::prelude::*;

    fn module(kind: Kind, module: &str, version: Option<&str>) -> Request<'static> {
        Request::Module {
            kind,
            module: Cow::Owned(module.to_owned()),
            version: version.map(|v| Cow::Owned(v.to_owned())),
        }
    }

    fn bad_request(path: &str) -> String {
        match classify(path) {
            Err(Refusal::BadRequest(message)) => message,
            other => panic!("classify({path:?}) = {other:?}, want BadRequest"),
        }
    }

    #[test]
    fn every_module_kind() {
        let cases: &[(&str, Kind, &str, Option<&str>)] = &[
            ("/rsc.io/quote/@v/list", Kind::List, "rsc.io/quote", None),
            (
                "/rsc.io/quote/@v/v1.5.2.info",
                Kind::Info,
                "rsc.io/quote",
                Some("v1.5.2"),
            ),
            (
                "/rsc.io/quote/@v/v1.5.2.mod",
                Kind::Mod,
                "rsc.io/quote",
                Some("v1.5.2"),
            ),
            (
                "/rsc.io/quote/@v/v1.5.2.zip",
                Kind::Zip,
                "rsc.io/quote",
                Some("v1.5.2"),
            ),
            ("/rsc.io/quote/@latest", Kind::Latest, "rsc.io/quote", None),
            (
                "/rsc.io/quote/v3/@v/v3.1.0.zip",
                Kind::Zip,
                "rsc.io/quote/v3",
                Some("v3.1.0"),
            ),
            (
                "/gopkg.in/yaml.v3/@v/v3.0.1.mod",
                Kind::Mod,
                "gopkg.in/yaml.v3",
                Some("v3.0.1"),
            ),
            (
                "/golang.org/x/text/@v/v0.0.0-20170915032832-14c0d48ead0c.info",
                Kind::Info,
                "golang.org/x/text",
                Some("v0.0.0-20170915032832-14c0d48ead0c"),
            ),
            (
                "/github.com/x/y/@v/v2.0.0+incompatible.zip",
                Kind::Zip,
                "github.com/x/y",
                Some("v2.0.0+incompatible"),
            ),
            (
                "/example.com/m/@v/master.info",
                Kind::Info,
                "example.com/m",
                Some("master"),
            ),
            (
                "/example.com/m/@v/list.info",
                Kind::Info,
                "example.com/m",
                Some("list"),
            ),
            ("/example.com/@v/list", Kind::List, "example.com", None),
        ];
        for &(path, kind, module_path, version) in cases {
            let request = classify(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            assert_eq!(request, module(kind, module_path, version), "{path:?}");
            assert_eq!(request.kind(), kind);
            assert_eq!(request.module(), Some(module_path));
            assert_eq!(request.version(), version);
        }
    }

    #[test]
    fn common_case_borrows() {
        let path = "/github.com/azure/azlite/@v/v0.3.0.zip";
        match classify(path) {
            Ok(Request::Module {
                module: Cow::Borrowed(m),
                version: Some(Cow::Borrowed(v)),
                ..
            }) => {
                assert_eq!(m, "github.com/azure/azlite");
                assert_eq!(v, "v0.3.0");
                // Really a slice of the input, not a copy.
                assert!(std::ptr::eq(m.as_ptr(), path[1..].as_ptr()));
            }
            other => panic!("{other:?}"),
        }
        match classify("/sumdb/sum.golang.org/lookup/rsc.io/quote@v1.5.2") {
            Ok(Request::Sumdb {
                module: Some(Cow::Borrowed("rsc.io/quote")),
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn upper_case_escaping() {
        let want = module(Kind::Zip, "github.com/Azure/azlite", Some("v0.3.0"));
        assert_eq!(
            classify("/github.com/!azure/azlite/@v/v0.3.0.zip"),
            Ok(want.clone())
        );
        assert_eq!(
            classify("/github.com/%21azure/azlite/@v/v0.3.0.zip"),
            Ok(want)
        );
        assert_eq!(
            classify("/github.com/%21google%21cloud%21platform/omega/@v/list"),
            Ok(module(
                Kind::List,
                "github.com/GoogleCloudPlatform/omega",
                None
            ))
        );
        assert_eq!(
            classify("/example.com/m/@v/v1.0.0-%21r%21c1.info"),
            Ok(module(Kind::Info, "example.com/m", Some("v1.0.0-RC1")))
        );
        assert_eq!(
            classify("/example.com/%21m/@latest"),
            Ok(module(Kind::Latest, "example.com/M", None))
        );
    }

    #[test]
    fn bad_escaping() {
        let message = bad_request("/github.com/Azure/azlite/@v/list");
        assert_eq!(
            message,
            "invalid module path \"github.com/Azure/azlite\": upper-case letter in escaped \
             path; write \"!a\" for \"A\""
        );
        for path in [
            "/github.com/!Azure/x/@v/list",
            "/github.com/!1zure/x/@v/list",
            "/github.com/azure!/@v/list",
            "/github.com/%21%21azure/@v/list",
            "/example.com/m/@v/V1.0.0.info",
            "/example.com/m/@v/v1!.info",
        ] {
            let message = bad_request(path);
            assert!(
                message.contains("upper-case") || message.contains("\"!\""),
                "{path:?}: {message}"
            );
        }
    }

    #[test]
    fn invalid_modules_and_versions() {
        let cases: &[(&str, &str)] = &[
            ("/@v/list", "empty string"),
            ("/@latest", "empty string"),
            ("//@v/list", "empty string"),
            ("/foo/@v/list", "missing dot in first path element"),
            ("/example.com//x/@v/list", "double slash"),
            (
                "/example.com/x/@v/v1.0.0.zip/x",
                "unsupported GOPROXY request",
            ),
            ("/example.com/x/@v/", "unsupported GOPROXY request"),
            (
                "/example.com/x/@v/v1.0.0.tar",
                "unsupported GOPROXY request",
            ),
            ("/example.com/x/@v/v1.0.0", "unsupported GOPROXY request"),
            ("/example.com/x/@v/master.zip", "need a semantic version"),
            ("/example.com/x/@v/v01.0.0.mod", "v01.0.0"),
            ("/example.com/x/@v/1.0.0.zip", "need a semantic version"),
            ("/example.com/x/@v/.info", "empty path element"),
            ("/example.com/x/@v/a/b.info", "invalid char '/'"),
            ("/example.com/x/@v/a*b.info", "invalid char '*'"),
            ("/example.com/x/@v/con.info", "disallowed as path element"),
            ("/example.com/x/v1/@v/list", "invalid major version suffix"),
            ("/example.com/x+y/@v/list", "invalid char '+'"),
            ("/example.com/x@y/@v/list", "invalid char '@'"),
            ("/example.com/%E2%98%BA/@v/list", "non-ASCII"),
            ("/example.com/x%zz/@v/list", "bad percent-encoding"),
            ("/example.com/x%00/@v/list", "control character"),
            ("/example.com/x%FF/@v/list", "not valid UTF-8"),
        ];
        for &(path, needle) in cases {
            let message = bad_request(path);
            assert!(message.contains(needle), "{path:?}: {message}");
        }
        // The rejected .mod names the version.
        assert_eq!(
            bad_request("/example.com/x/@v/v01.0.0.mod"),
            "invalid version \"v01.0.0\": .mod requests need a semantic version such as v1.2.3"
        );
        // semver.IsValid accepts the vMAJOR.MINOR shorthand, and so do we.
        assert_eq!(
            classify("/example.com/x/@v/v1.0.mod"),
            Ok(module(Kind::Mod, "example.com/x", Some("v1.0")))
        );
    }

    #[test]
    fn traversal_attempts() {
        let cases = [
            "/example.com/../x/@v/list",
            "/example.com/x/../../sumdb/sum.golang.org/@v/list",
            "/../example.com/x/@v/list",
            "/example.com/%2e%2e/x/@v/list",
            "/example.com/%2E%2E/@latest",
            "/example.com/./x/@v/list",
            "/example.com/x/@v/..%2e.info",
            "/example.com/x/@v/v1.0.0.zip/../../../etc/passwd",
            "/sumdb/../x/@v/list",
            "/sumdb/sum.golang.org/tile/8/0/../../x",
            "/sumdb/sum.golang.org/tile/8/data/%2e%2e",
            "/sumdb/sum.golang.org/lookup/example.com/../x@v1.0.0",
            "/sumdb/sum.golang.org/lookup/example.com/%2e%2e/x@v1.0.0",
            "/sumdb/%2e%2e/supported",
            "/sumdb/../supported",
            "/sumdb/./latest",
        ];
        for path in cases {
            bad_request(path);
        }
    }

    #[test]
    fn encoded_separators_are_refused() {
        for path in [
            "/example.com%2Fx/@v/list",
            "/example.com%2fx/@v/list",
            "/example.com/x%5C..%5Cy/@v/list",
            "/example.com/x/@v/v1%2F..%2F.info",
            "/sumdb/sum.golang.org/lookup/example.com%2Fx@v1.0.0",
            "/favicon.ico%2F",
        ] {
            let message = bad_request(path);
            assert!(message.contains("%2F, %5C"), "{path:?}: {message}");
        }
        // Doubly encoded: decodes to a literal '%', which no module allows.
        assert!(bad_request("/example.com%252fx/@v/list").contains("invalid char '%'"));
    }

    #[test]
    fn not_goproxy_paths() {
        for path in [
            "/",
            "/favicon.ico",
            "/foo",
            "/github.com/x/y",
            "/github.com/x/y/@v",
            "/github.com/x/y/@latest/",
            "/github.com/x/y/@v2/list",
            "/sumdb",
            "/sumdb/",
            "/sumdb/sum.golang.org",
            "/sumdb/sum.golang.org/",
            "/sumdb/sum.golang.org/lookup",
            "/sumdb/sum.golang.org/supported/",
            "/sumdb/sum.golang.org/other",
            "/healthz",
            "/metrics",
        ] {
            assert_eq!(classify(path), Err(Refusal::NotFound), "{path:?}");
        }
        assert_eq!(Refusal::NotFound.status(), 404);
        assert_eq!(Refusal::BadRequest(String::new()).status(), 400);
    }

    #[test]
    fn must_start_with_slash() {
        for path in ["", "rsc.io/quote/@v/list", "*", "http://x/y"] {
            assert!(bad_request(path).contains("must start with"), "{path:?}");
        }
    }

    #[test]
    fn sumdb_requests() {
        assert_eq!(
            classify("/sumdb/sum.golang.org/supported"),
            Ok(Request::SumdbSupported {
                name: "sum.golang.org"
            })
        );
        assert_eq!(
            classify("/sumdb/sum.golang.org/latest"),
            Ok(Request::Sumdb {
                name: "sum.golang.org",
                upstream_path: "/latest",
                module: None
            })
        );
        for tile in [
            "/tile/8/0/000",
            "/tile/8/0/x123/456",
            "/tile/8/1/x001/x002/003.p/12",
            "/tile/8/data/000",
            "/tile/8/data/x001/234.p/5",
            "/tile/16/2/000",
        ] {
            let path = format!("/sumdb/sum.golang.org{tile}");
            match classify(&path) {
                Ok(Request::Sumdb {
                    name: "sum.golang.org",
                    upstream_path,
                    module: None,
                }) => assert_eq!(upstream_path, tile),
                other => panic!("{path:?}: {other:?}"),
            }
        }
        let path = "/sumdb/sum.golang.org/lookup/github.com/%21azure/azlite@v0.3.0";
        let request = classify(path).unwrap();
        assert_eq!(
            request,
            Request::Sumdb {
                name: "sum.golang.org",
                upstream_path: "/lookup/github.com/%21azure/azlite@v0.3.0",
                module: Some(Cow::Owned("github.com/Azure/azlite".to_owned())),
            }
        );
        assert_eq!(request.kind(), Kind::Sumdb);
        assert_eq!(request.module(), Some("github.com/Azure/azlite"));
        assert_eq!(request.version(), None);
        assert_eq!(
            classify("/sumdb/sum.golang.org/lookup/github.com/!azure/azlite@v0.3.0")
                .unwrap()
                .module(),
            Some("github.com/Azure/azlite")
        );
        assert_eq!(
            classify("/sumdb/sum.golang.org/lookup/example.com/m@v1.0.0-%21r%21c1")
                .unwrap()
                .module(),
            Some("example.com/m")
        );
    }

    #[test]
    fn bad_sumdb_requests() {
        let cases: &[(&str, &str)] = &[
            ("/sumdb//supported", "checksum database name"),
            (
                "/sumdb/sum%2egolang.org/supported",
                "checksum database name",
            ),
            ("/sumdb/a b/latest", "checksum database name"),
            ("/sumdb/.hidden/latest", "checksum database name"),
            ("/sumdb/s/lookup/", "missing \"@<version>\""),
            ("/sumdb/s/lookup/example.com/m", "missing \"@<version>\""),
            (
                "/sumdb/s/lookup/example.com/m@master",
                "need a semantic version",
            ),
            ("/sumdb/s/lookup/example.com/m@", "empty path element"),
            ("/sumdb/s/lookup/@v1.0.0", "empty string"),
            ("/sumdb/s/lookup/example.com/M@v1.0.0", "upper-case"),
            ("/sumdb/s/lookup/m@v1.0.0", "missing dot"),
            (
                "/sumdb/s/lookup/example.com/m@v1@v1.0.0",
                "invalid char '@'",
            ),
            (
                "/sumdb/s/lookup/example.com/m@v1.0.0%",
                "bad percent-encoding",
            ),
            ("/sumdb/s/tile/", "tile path"),
            ("/sumdb/s/tile/8", "tile path"),
            ("/sumdb/s/tile/8/0", "tile path"),
            ("/sumdb/s/tile/8/0/", "tile path"),
            ("/sumdb/s/tile/8/0//000", "tile path"),
            ("/sumdb/s/tile/x/0/000", "tile path"),
            ("/sumdb/s/tile/123/0/000", "tile path"),
            ("/sumdb/s/tile/8/dat/000", "tile path"),
            ("/sumdb/s/tile/8/0/%30", "tile path"),
            ("/sumdb/s/tile/8/0/ABC", "tile path"),
            ("/sumdb/s/tile/8/0/000?x", "tile path"),
        ];
        for &(path, needle) in cases {
            let message = bad_request(path);
            assert!(message.contains(needle), "{path:?}: {message}");
        }
    }

    #[test]
    fn kind_labels() {
        let all = [
            (Kind::List, "list"),
            (Kind::Info, "info"),
            (Kind::Mod, "mod"),
            (Kind::Zip, "zip"),
            (Kind::Latest, "latest"),
            (Kind::Sumdb, "sumdb"),
        ];
        for (kind, label) in all {
            assert_eq!(kind.as_str(), label);
            assert_eq!(kind.to_string(), label);
        }
    }

    #[test]
    fn messages_are_single_short_lines() {
        let long = format!("/example.com/{}\n/@v/list", "a".repeat(5000));
        let message = bad_request(&long);
        assert!(!message.contains('\n'));
        assert!(message.len() < 400, "{}", message.len());
    }

    /// A valid module path: a domain, then up to three elements using the
    /// whole module path alphabet (upper case included).
    fn module_path() -> impl Strategy<Value = String> {
        (
            "[a-z0-9][a-z0-9-]{0,6}\\.[a-z]{2,4}",
            proptest::collection::vec("[A-Za-z0-9_~.-]{1,8}", 0..4),
        )
            .prop_map(|(host, elems)| {
                let mut path = host;
                for elem in elems {
                    path.push('/');
                    path.push_str(&elem);
                }
                path
            })
            .prop_filter("valid module path", |p| check_path(p).is_ok())
    }

    /// Percent-encodes some bytes, as a client may.
    fn encode(s: &str, mask: &[bool]) -> String {
        let mut out = String::new();
        for (i, b) in s.bytes().enumerate() {
            let always = b == b'!';
            if b != b'/' && (always || mask.get(i % mask.len().max(1)) == Some(&true)) {
                out.push_str(&format!("%{b:02X}"));
            } else {
                out.push(char::from(b));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn classify_never_panics(path in "\\PC*") {
            let _ = classify(&path);
            let _ = classify(&format!("/{path}"));
        }

        #[test]
        fn classify_never_panics_on_goproxy_like_paths(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("/"), Just("@v"), Just("/@v/"), Just("@latest"), Just("list"),
                    Just(".info"), Just(".mod"), Just(".zip"), Just("v1.2.3"), Just("!"),
                    Just("%"), Just("%21"), Just("%2F"), Just("%2e"), Just("%E2"), Just("%98"),
                    Just("."), Just(".."), Just("a"), Just("A"), Just("example.com"),
                    Just("sumdb"), Just("/sumdb/"), Just("sum.golang.org"), Just("lookup"),
                    Just("tile"), Just("data"), Just("8"), Just("x001"), Just(".p"), Just("@"),
                    Just("é"), Just("\u{0}"), Just("~1"),
                ],
                0..16,
            )
        ) {
            let path = format!("/{}", parts.concat());
            match classify(&path) {
                Ok(request) => {
                    if let Some(m) = request.module() {
                        prop_assert!(check_path(m).is_ok(), "{:?} -> {:?}", path, m);
                    }
                    if let Request::Module { kind: Kind::Mod | Kind::Zip, version, .. } = &request {
                        let v = version.as_deref().unwrap_or("");
                        prop_assert!(is_valid_semver(v));
                    }
                }
                Err(Refusal::BadRequest(message)) => prop_assert!(!message.contains('\n')),
                Err(Refusal::NotFound) => {}
            }
        }

        #[test]
        fn escaped_modules_round_trip(
            path in module_path(),
            mask in proptest::collection::vec(any::<bool>(), 1..5),
            version in "v(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})(-[A-Za-z][A-Za-z0-9]{0,4})?",
        ) {
            let escaped = escape_path(&path).unwrap();
            let escaped_version = escape_version(&version).unwrap();
            let wire = format!("/{}/@v/{}.zip", encode(&escaped, &mask), encode(&escaped_version, &mask));
            let request = classify(&wire).unwrap();
            prop_assert_eq!(request.kind(), Kind::Zip);
            prop_assert_eq!(request.module(), Some(path.as_str()));
            prop_assert_eq!(request.version(), Some(version.as_str()));

            let lookup = format!("/sumdb/sum.golang.org/lookup/{}@{}", encode(&escaped, &mask), escaped_version);
            let request = classify(&lookup).unwrap();
            prop_assert_eq!(request.module(), Some(path.as_str()));
        }
    }
}
