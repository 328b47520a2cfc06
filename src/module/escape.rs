//! Module path and version escaping, and module path validation.
//!
//! The proxy protocol must work on case-insensitive file systems and web
//! servers, so it never puts an upper-case letter in a URL: `Azure` travels
//! as `!azure`. On top of that the go command percent-encodes the `!` when it
//! builds the URL (`%21azure`). Unescaping is therefore two steps (percent
//! decoding, then `!` decoding) and validation must run on the result, since
//! the gateway makes routing and access decisions on the real module path.
//! The rules follow `golang.org/x/mod/module` (`CheckPath`, `UnescapePath`,
//! `UnescapeVersion`, `EscapePath`, `EscapeVersion`) so that the gateway
//! refuses exactly what the go command itself would never send.

use std::borrow::Cow;
use std::fmt;

/// Inputs echoed in error messages are cut to this many bytes, because the
/// message is sent back to whoever made the request and logged.
const MAX_ECHO: usize = 200;

/// What kind of string a [`PathError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathSubject {
    /// A module path such as `github.com/Azure/azure-sdk-for-go`.
    ModulePath,
    /// A module version or version query such as `v1.2.3` or `master`.
    Version,
    /// A raw, percent-encoded request path.
    RequestPath,
}

impl PathSubject {
    fn noun(self) -> &'static str {
        match self {
            PathSubject::ModulePath => "module path",
            PathSubject::Version => "version",
            PathSubject::RequestPath => "request path",
        }
    }

    /// The word used for the escaped form in the upper-case hint.
    fn escaped_noun(self) -> &'static str {
        match self {
            PathSubject::Version => "version",
            PathSubject::ModulePath | PathSubject::RequestPath => "path",
        }
    }
}

/// Why a path or version was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathErrorReason {
    /// An upper-case ASCII letter appeared in an escaped form.
    UpperCaseInEscaped(char),
    /// A `!` was not followed by a lower-case ASCII letter.
    BadExclamation,
    /// A non-ASCII character appeared where only ASCII is allowed.
    NonAscii,
    /// The string was empty.
    Empty,
    /// The path began with `-`.
    LeadingDash,
    /// The path contained `//`.
    DoubleSlash,
    /// The path ended with `/`.
    TrailingSlash,
    /// The path began with `/`.
    LeadingSlash,
    /// A path element was empty.
    EmptyElement,
    /// A path element consisted only of dots (`.`, `..`, ...).
    DotsOnlyElement(String),
    /// A module path element began with a dot.
    LeadingDot,
    /// A path element ended with a dot.
    TrailingDot,
    /// A character not allowed in this kind of element.
    InvalidChar(char),
    /// The element, up to its first dot, is a reserved device name on Windows.
    WindowsReservedName(String),
    /// The element looks like a Windows 8.3 short name (`name~1`).
    WindowsShortName,
    /// The first element of a module path (a domain name) had no dot.
    MissingDotInFirstElement,
    /// The first element of a module path began with `-`.
    LeadingDashInFirstElement,
    /// A character not allowed in the first (domain name) element.
    InvalidCharInFirstElement(char),
    /// A final `/vN` (or gopkg.in `.vN`) element that is not a valid major
    /// version suffix, such as `/v1`, `/v0`, `/v2.0` or `/v02`.
    InvalidMajorVersionSuffix,
    /// A `%` not followed by two hexadecimal digits.
    BadPercentEncoding,
    /// Percent decoding produced bytes that are not UTF-8.
    InvalidUtf8,
    /// A control character (after percent decoding).
    ControlChar(char),
}

/// A refused module path, version or request path.
///
/// Its `Display` form is a single line meant to be shown to the person
/// running the go command, so it names the offending string and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    subject: PathSubject,
    input: String,
    reason: PathErrorReason,
}

impl PathError {
    fn new(subject: PathSubject, input: &str, reason: PathErrorReason) -> PathError {
        PathError {
            subject,
            input: input.to_owned(),
            reason,
        }
    }

    /// What kind of string was refused.
    pub fn subject(&self) -> PathSubject {
        self.subject
    }

    /// The refused string: the unescaped form when unescaping itself
    /// succeeded (that is what the user wrote), the input otherwise.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Why it was refused.
    pub fn reason(&self) -> &PathErrorReason {
        &self.reason
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PathErrorReason as R;
        write!(
            f,
            "invalid {} {}: ",
            self.subject.noun(),
            Quoted(&self.input)
        )?;
        match &self.reason {
            R::UpperCaseInEscaped(c) => write!(
                f,
                "upper-case letter in escaped {}; write \"!{}\" for \"{}\"",
                self.subject.escaped_noun(),
                c.to_ascii_lowercase(),
                c
            ),
            R::BadExclamation => f.write_str("\"!\" must be followed by a lower-case letter"),
            R::NonAscii => f.write_str("non-ASCII character"),
            R::Empty => f.write_str("empty string"),
            R::LeadingDash => f.write_str("leading dash"),
            R::DoubleSlash => f.write_str("double slash"),
            R::TrailingSlash => f.write_str("trailing slash"),
            R::LeadingSlash => f.write_str("leading slash"),
            R::EmptyElement => f.write_str("empty path element"),
            R::DotsOnlyElement(e) => write!(f, "invalid path element {}", Quoted(e)),
            R::LeadingDot => f.write_str("leading dot in path element"),
            R::TrailingDot => f.write_str("trailing dot in path element"),
            R::InvalidChar(c) => write!(f, "invalid char {c:?}"),
            R::WindowsReservedName(s) => write!(
                f,
                "{} disallowed as path element component on Windows",
                Quoted(s)
            ),
            R::WindowsShortName => f.write_str("trailing tilde and digits in path element"),
            R::MissingDotInFirstElement => f.write_str("missing dot in first path element"),
            R::LeadingDashInFirstElement => f.write_str("leading dash in first path element"),
            R::InvalidCharInFirstElement(c) => {
                write!(f, "invalid char {c:?} in first path element")
            }
            R::InvalidMajorVersionSuffix => f.write_str("invalid major version suffix"),
            R::BadPercentEncoding => f.write_str("bad percent-encoding"),
            R::InvalidUtf8 => f.write_str("percent-encoding is not valid UTF-8"),
            R::ControlChar(c) => write!(f, "control character U+{:04X}", u32::from(*c)),
        }
    }
}

impl std::error::Error for PathError {}

/// Displays a string Go-`%q`-style (quoted, control characters escaped) and
/// cut to [`MAX_ECHO`] bytes, so echoing hostile input cannot break a log
/// line or a one-line error response.
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s.len() <= MAX_ECHO {
            return write!(f, "{s:?}");
        }
        let mut end = MAX_ECHO;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        write!(f, "{:?}...", &s[..end])
    }
}

/// Checks that `path` is a valid module path (Go's `module.CheckPath`).
pub fn check_path(path: &str) -> Result<(), PathError> {
    check_module_path(path).map_err(|r| PathError::new(PathSubject::ModulePath, path, r))
}

/// Decodes an escaped module path (`github.com/!azure/x` →
/// `github.com/Azure/x`) and checks the result is a valid module path:
/// Go's `module.UnescapePath`. Borrows when there is nothing to decode.
pub fn unescape_path(escaped: &str) -> Result<Cow<'_, str>, PathError> {
    let path = unescape_string(escaped)
        .map_err(|r| PathError::new(PathSubject::ModulePath, escaped, r))?;
    if let Err(r) = check_module_path(&path) {
        return Err(PathError::new(PathSubject::ModulePath, &path, r));
    }
    Ok(path)
}

/// Decodes an escaped version (`v1.0.0-!r!c1` → `v1.0.0-RC1`): Go's
/// `module.UnescapeVersion`. Versions need not be semantic versions here
/// (queries such as `master` travel the same way), but they must be a single
/// valid file name element. Borrows when there is nothing to decode.
pub fn unescape_version(escaped: &str) -> Result<Cow<'_, str>, PathError> {
    let v =
        unescape_string(escaped).map_err(|r| PathError::new(PathSubject::Version, escaped, r))?;
    if let Err(r) = check_elem(&v, ElemKind::File) {
        return Err(PathError::new(PathSubject::Version, &v, r));
    }
    Ok(v)
}

/// Escapes a module path for use in proxy URLs: Go's `module.EscapePath`.
pub fn escape_path(path: &str) -> Result<String, PathError> {
    check_path(path)?;
    escape_string(path).map_err(|r| PathError::new(PathSubject::ModulePath, path, r))
}

/// Escapes a version for use in proxy URLs: Go's `module.EscapeVersion`.
pub fn escape_version(version: &str) -> Result<String, PathError> {
    let checked = check_elem(version, ElemKind::File).and_then(|()| {
        if version.contains('!') {
            Err(PathErrorReason::InvalidChar('!'))
        } else {
            Ok(())
        }
    });
    checked
        .and_then(|()| escape_string(version))
        .map_err(|r| PathError::new(PathSubject::Version, version, r))
}

/// Decodes `%XX` sequences in a request path.
///
/// The go command builds proxy URLs with Go's `url.PathEscape`, which turns
/// the `!` of escaped paths into `%21`, so every upper-case module arrives
/// percent-encoded. Malformed sequences, bytes that do not form UTF-8 and
/// control characters (which no valid module path or version contains, and
/// which would only serve to confuse logs or upstreams) are refused. `+` is
/// left alone: it means a space only in query strings. Borrows when there is
/// no `%`.
pub fn percent_decode(s: &str) -> Result<Cow<'_, str>, PathError> {
    let err = |r| PathError::new(PathSubject::RequestPath, s, r);
    let decoded = if s.contains('%') {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                match (hi, lo) {
                    (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                    _ => return Err(err(PathErrorReason::BadPercentEncoding)),
                }
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        let text = String::from_utf8(out).map_err(|_| err(PathErrorReason::InvalidUtf8))?;
        Cow::Owned(text)
    } else {
        Cow::Borrowed(s)
    };
    if let Some(c) = decoded.chars().find(|c| c.is_control()) {
        return Err(err(PathErrorReason::ControlChar(c)));
    }
    Ok(decoded)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Go's `unescapeString`: `!x` → `X`, and a bare upper-case letter, a stray
/// `!` or any non-ASCII character is an error.
fn unescape_string(escaped: &str) -> Result<Cow<'_, str>, PathErrorReason> {
    let mut has_bang = false;
    for &b in escaped.as_bytes() {
        if !b.is_ascii() {
            return Err(PathErrorReason::NonAscii);
        }
        if b.is_ascii_uppercase() {
            return Err(PathErrorReason::UpperCaseInEscaped(char::from(b)));
        }
        has_bang |= b == b'!';
    }
    if !has_bang {
        return Ok(Cow::Borrowed(escaped));
    }
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for &b in escaped.as_bytes() {
        if bang {
            bang = false;
            if !b.is_ascii_lowercase() {
                return Err(PathErrorReason::BadExclamation);
            }
            out.push(char::from(b.to_ascii_uppercase()));
        } else if b == b'!' {
            bang = true;
        } else {
            out.push(char::from(b));
        }
    }
    if bang {
        return Err(PathErrorReason::BadExclamation);
    }
    Ok(Cow::Owned(out))
}

/// Go's `escapeString`. The caller has validated `s`, so `!` and non-ASCII
/// can only appear through a bug; they are reported rather than producing
/// an escaped form that would not round-trip.
fn escape_string(s: &str) -> Result<String, PathErrorReason> {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '!' {
            return Err(PathErrorReason::InvalidChar('!'));
        }
        if !c.is_ascii() {
            return Err(PathErrorReason::NonAscii);
        }
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Which character rules apply to a path element.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ElemKind {
    /// An element of a module path (Go's `modulePath`).
    Module,
    /// A file name, which is what a version must be (Go's `filePath`).
    File,
}

/// Go's `CheckPath`.
fn check_module_path(path: &str) -> Result<(), PathErrorReason> {
    // Go's checkPath(path, modulePath); a &str is always valid UTF-8.
    if path.is_empty() {
        return Err(PathErrorReason::Empty);
    }
    if path.starts_with('-') {
        return Err(PathErrorReason::LeadingDash);
    }
    if path.contains("//") {
        return Err(PathErrorReason::DoubleSlash);
    }
    if path.ends_with('/') {
        return Err(PathErrorReason::TrailingSlash);
    }
    for elem in path.split('/') {
        check_elem(elem, ElemKind::Module)?;
    }

    // The first element is a domain name: lower case so that it cannot
    // collide with another casing, and with a dot so that it cannot be
    // confused with a standard library package.
    let first = path.split('/').next().unwrap_or("");
    if first.is_empty() {
        return Err(PathErrorReason::LeadingSlash);
    }
    if !first.contains('.') {
        return Err(PathErrorReason::MissingDotInFirstElement);
    }
    if first.starts_with('-') {
        return Err(PathErrorReason::LeadingDashInFirstElement);
    }
    if let Some(c) = first.chars().find(|&c| !first_path_ok(c)) {
        return Err(PathErrorReason::InvalidCharInFirstElement(c));
    }
    if !path_version_ok(path) {
        return Err(PathErrorReason::InvalidMajorVersionSuffix);
    }
    Ok(())
}

/// Go's `checkElem` for module path elements and file names.
fn check_elem(elem: &str, kind: ElemKind) -> Result<(), PathErrorReason> {
    if elem.is_empty() {
        return Err(PathErrorReason::EmptyElement);
    }
    if elem.bytes().all(|b| b == b'.') {
        return Err(PathErrorReason::DotsOnlyElement(elem.to_owned()));
    }
    if kind == ElemKind::Module && elem.starts_with('.') {
        return Err(PathErrorReason::LeadingDot);
    }
    if elem.ends_with('.') {
        return Err(PathErrorReason::TrailingDot);
    }
    let char_ok = match kind {
        ElemKind::Module => mod_path_ok,
        ElemKind::File => file_name_ok,
    };
    if let Some(c) = elem.chars().find(|&c| !char_ok(c)) {
        return Err(PathErrorReason::InvalidChar(c));
    }

    // Windows refuses these device names as a file name even with an
    // extension, and module paths end up as directories in module caches.
    let short = elem.split('.').next().unwrap_or(elem);
    if BAD_WINDOWS_NAMES
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(PathErrorReason::WindowsReservedName(short.to_owned()));
    }

    if kind == ElemKind::File {
        // Go checks 8.3 short names only for import paths.
        return Ok(());
    }

    // `name~1` could alias another directory through its Windows short name.
    if let Some(tilde) = short.rfind('~') {
        let suffix = &short[tilde + 1..];
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PathErrorReason::WindowsShortName);
        }
    }
    Ok(())
}

const BAD_WINDOWS_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Go's `firstPathOK`: an LDH domain name, lower case only.
fn first_path_ok(c: char) -> bool {
    c == '-' || c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase()
}

/// Go's `modPathOK`: no `+` or `%`, which would change meaning inside URLs.
fn mod_path_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Go's `fileNameOK`: shell and path metacharacters (`" ' * < > ? \` |`,
/// `/ : \`) are excluded; the space is allowed.
fn file_name_ok(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c);
    }
    // Go uses unicode.IsLetter. Unreachable through the public API, which
    // refuses non-ASCII before checking elements.
    c.is_alphabetic()
}

/// The `ok` result of Go's `SplitPathVersion`: a trailing `/vN` must be a
/// real major version suffix (N >= 2, no leading zero, no dots), and gopkg.in
/// paths must end in `.vN`.
fn path_version_ok(path: &str) -> bool {
    if path.starts_with("gopkg.in/") {
        return gopkg_in_ok(path);
    }
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    let mut dot = false;
    while i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.') {
        dot |= bytes[i - 1] == b'.';
        i -= 1;
    }
    if i <= 1 || i == bytes.len() || bytes[i - 1] != b'v' || bytes[i - 2] != b'/' {
        return true;
    }
    let major = &path[i - 2..];
    !(dot || major.len() <= 2 || major.as_bytes()[2] == b'0' || major == "/v1")
}

/// The `ok` result of Go's `splitGopkgIn`.
fn gopkg_in_ok(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut i = bytes.len();
    if path.ends_with("-unstable") {
        i -= "-unstable".len();
    }
    while i > 0 && bytes[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i <= 1 || bytes[i - 1] != b'v' || bytes[i - 2] != b'.' {
        return false;
    }
    let major = &path[i - 2..];
    !(major.len() <= 2 || (major.as_bytes()[2] == b'0' && major != ".v0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `checkPathTests` (module_test.go): path, CheckPath ok, and
    /// CheckFilePath ok (the import-path column is not ported: the gateway
    /// never checks import paths). Go's `"x.y/\xFFz"` row cannot be a Rust
    /// string; invalid UTF-8 is covered by the percent-decoding tests.
    const CHECK_PATH_TESTS: &[(&str, bool, bool)] = &[
        ("x.y/z", true, true),
        ("x.y", true, true),
        ("", false, false),
        ("/x.y/z", false, false),
        ("x./z", false, false),
        (".x/z", false, true),
        ("-x/z", false, true),
        ("x..y/z", true, true),
        ("x.y/z/../../w", false, false),
        ("x.y//z", false, false),
        ("x.y/z//w", false, false),
        ("x.y/z/", false, false),
        ("x.y/z/v0", false, true),
        ("x.y/z/v1", false, true),
        ("x.y/z/v2", true, true),
        ("x.y/z/v2.0", false, true),
        ("X.y/z", false, true),
        ("!x.y/z", false, true),
        ("_x.y/z", false, true),
        ("x.y!/z", false, true),
        ("x.y\"/z", false, false),
        ("x.y#/z", false, true),
        ("x.y$/z", false, true),
        ("x.y%/z", false, true),
        ("x.y&/z", false, true),
        ("x.y'/z", false, false),
        ("x.y(/z", false, true),
        ("x.y)/z", false, true),
        ("x.y*/z", false, false),
        ("x.y+/z", false, true),
        ("x.y,/z", false, true),
        ("x.y-/z", true, true),
        ("x.y./zt", false, false),
        ("x.y:/z", false, false),
        ("x.y;/z", false, false),
        ("x.y</z", false, false),
        ("x.y=/z", false, true),
        ("x.y>/z", false, false),
        ("x.y?/z", false, false),
        ("x.y@/z", false, true),
        ("x.y[/z", false, true),
        ("x.y\\/z", false, false),
        ("x.y]/z", false, true),
        ("x.y^/z", false, true),
        ("x.y_/z", false, true),
        ("x.y`/z", false, false),
        ("x.y{/z", false, true),
        ("x.y}/z", false, true),
        ("x.y~/z", false, true),
        ("x.y/z!", false, true),
        ("x.y/z\"", false, false),
        ("x.y/z#", false, true),
        ("x.y/z$", false, true),
        ("x.y/z%", false, true),
        ("x.y/z&", false, true),
        ("x.y/z'", false, false),
        ("x.y/z(", false, true),
        ("x.y/z)", false, true),
        ("x.y/z*", false, false),
        ("x.y/z++", false, true),
        ("x.y/z,", false, true),
        ("x.y/z-", true, true),
        ("x.y/z.t", true, true),
        ("x.y/z/t", true, true),
        ("x.y/z:", false, false),
        ("x.y/z;", false, false),
        ("x.y/z<", false, false),
        ("x.y/z=", false, true),
        ("x.y/z>", false, false),
        ("x.y/z?", false, false),
        ("x.y/z@", false, true),
        ("x.y/z[", false, true),
        ("x.y/z\\", false, false),
        ("x.y/z]", false, true),
        ("x.y/z^", false, true),
        ("x.y/z_", true, true),
        ("x.y/z`", false, false),
        ("x.y/z{", false, true),
        ("x.y/z}", false, true),
        ("x.y/z~", true, true),
        ("x.y/x.foo", true, true),
        ("x.y/aux.foo", false, false),
        ("x.y/prn", false, false),
        ("x.y/prn2", true, true),
        ("x.y/com", true, true),
        ("x.y/com1", false, false),
        ("x.y/com1.txt", false, false),
        ("x.y/calm1", true, true),
        ("x.y/z~", true, true),
        ("x.y/z~0", false, true),
        ("x.y/z~09", false, true),
        ("x.y/z09", true, true),
        ("x.y/z09~", true, true),
        ("x.y/z09~09z", true, true),
        ("x.y/z09~09z~09", false, true),
        ("github.com/!123/logrus", false, true),
        ("github.com/user/unicode/испытание", false, true),
        ("../x", false, false),
        ("./y", false, false),
        ("x:y", false, false),
        ("\\temp\\foo", false, false),
        (".gitignore", false, true),
        (".github/ISSUE_TEMPLATE", false, true),
        ("x☺y", false, false),
    ];

    /// Go's `escapeTests`: path and escaped form (empty = unchanged).
    const ESCAPE_TESTS: &[(&str, &str)] = &[
        ("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789", ""),
        (
            "github.com/GoogleCloudPlatform/omega",
            "github.com/!google!cloud!platform/omega",
        ),
    ];

    /// Go's `badUnescape`.
    const BAD_UNESCAPE: &[&str] = &[
        "github.com/GoogleCloudPlatform/omega",
        "github.com/!google!cloud!platform!/omega",
        "github.com/!0google!cloud!platform/omega",
        "github.com/!_google!cloud!platform/omega",
        "github.com/!!google!cloud!platform/omega",
        "",
    ];

    /// Go's `CheckFilePath`, needed only to run the third column of
    /// `checkPathTests` against the element checks versions rely on.
    fn check_file_path(path: &str) -> Result<(), PathErrorReason> {
        if path.is_empty() {
            return Err(PathErrorReason::Empty);
        }
        if path.contains("//") {
            return Err(PathErrorReason::DoubleSlash);
        }
        if path.ends_with('/') {
            return Err(PathErrorReason::TrailingSlash);
        }
        path.split('/')
            .try_for_each(|elem| check_elem(elem, ElemKind::File))
    }

    #[test]
    fn go_check_path_table() {
        for &(path, ok, _) in CHECK_PATH_TESTS {
            assert_eq!(check_path(path).is_ok(), ok, "check_path({path:?})");
        }
    }

    #[test]
    fn go_check_file_path_table() {
        for &(path, _, file_ok) in CHECK_PATH_TESTS {
            assert_eq!(
                check_file_path(path).is_ok(),
                file_ok,
                "check_file_path({path:?})"
            );
        }
    }

    #[test]
    fn go_escape_path_table() {
        for &(path, ok, _) in CHECK_PATH_TESTS {
            if !ok {
                assert!(escape_path(path).is_err(), "escape_path({path:?})");
            }
        }
        for &(path, esc) in ESCAPE_TESTS {
            let want = if esc.is_empty() { path } else { esc };
            assert_eq!(escape_path(path).as_deref(), Ok(want), "{path:?}");
        }
    }

    #[test]
    fn go_unescape_path_table() {
        for &bad in BAD_UNESCAPE {
            assert!(unescape_path(bad).is_err(), "unescape_path({bad:?})");
        }
        for &(path, ok, _) in CHECK_PATH_TESTS {
            if !ok {
                assert!(unescape_path(path).is_err(), "unescape_path({path:?})");
            }
        }
        for &(path, esc) in ESCAPE_TESTS {
            let esc = if esc.is_empty() { path } else { esc };
            assert_eq!(unescape_path(esc).as_deref(), Ok(path), "{esc:?}");
        }
    }

    #[test]
    fn unescape_borrows_without_bang() {
        let input = "github.com/azure/azlite";
        assert!(matches!(unescape_path(input), Ok(Cow::Borrowed(s)) if s == input));
        assert!(matches!(
            unescape_version("v1.0.0"),
            Ok(Cow::Borrowed("v1.0.0"))
        ));
        let owned = unescape_path("github.com/!azure/azlite");
        assert!(matches!(owned, Ok(Cow::Owned(ref s)) if s == "github.com/Azure/azlite"));
    }

    #[test]
    fn upper_case_message_matches_go_users_expectations() {
        let err = unescape_path("github.com/Foo/x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid module path \"github.com/Foo/x\": upper-case letter in escaped path; \
             write \"!f\" for \"F\""
        );
        assert_eq!(err.reason(), &PathErrorReason::UpperCaseInEscaped('F'));
        let err = unescape_version("v1.0.0-RC1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid version \"v1.0.0-RC1\": upper-case letter in escaped version; \
             write \"!r\" for \"R\""
        );
    }

    #[test]
    fn check_errors_name_the_unescaped_path() {
        let err = unescape_path("github.com/!azure/../x").unwrap_err();
        assert_eq!(err.input(), "github.com/Azure/../x");
        assert_eq!(
            err.to_string(),
            "invalid module path \"github.com/Azure/../x\": invalid path element \"..\""
        );
        let err = unescape_path("github.com/!Azure/x").unwrap_err();
        assert_eq!(err.input(), "github.com/!Azure/x");
        assert_eq!(err.reason(), &PathErrorReason::UpperCaseInEscaped('A'));
        let err = unescape_path("github.com/x!").unwrap_err();
        assert_eq!(err.reason(), &PathErrorReason::BadExclamation);
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn module_path_reasons() {
        use PathErrorReason as R;
        let cases: &[(&str, PathErrorReason)] = &[
            ("", R::Empty),
            ("-x.y/z", R::LeadingDash),
            ("x.y//z", R::DoubleSlash),
            ("x.y/z/", R::TrailingSlash),
            ("/x.y", R::EmptyElement),
            ("x.y/./z", R::DotsOnlyElement(".".into())),
            ("x.y/.z", R::LeadingDot),
            ("x.y/z.", R::TrailingDot),
            ("x.y/z+", R::InvalidChar('+')),
            ("x.y/NUL.txt", R::WindowsReservedName("NUL".into())),
            ("x.y/progra~1", R::WindowsShortName),
            ("localhost/z", R::MissingDotInFirstElement),
            ("x_y.z/w", R::InvalidCharInFirstElement('_')),
            ("Example.com/w", R::InvalidCharInFirstElement('E')),
            ("x.y/z/v1", R::InvalidMajorVersionSuffix),
            ("x.y/z/v02", R::InvalidMajorVersionSuffix),
            ("gopkg.in/yaml", R::InvalidMajorVersionSuffix),
            ("gopkg.in/yaml.v01", R::InvalidMajorVersionSuffix),
        ];
        for (path, want) in cases {
            let err = check_path(path).unwrap_err();
            assert_eq!(err.reason(), want, "check_path({path:?})");
        }
    }

    #[test]
    fn split_path_version_cases() {
        // Go's splitPathVersionTests, reduced to validity, plus neighbours.
        for ok in [
            "x.y/z",
            "x.y/z/v2",
            "x.y/z/v3",
            "x.y/v",
            "gopkg.in/yaml.v0",
            "gopkg.in/yaml.v1",
            "gopkg.in/yaml.v2",
            "gopkg.in/yaml.v3",
            "gopkg.in/yaml.v2-unstable",
            "x.y/z/v10",
            "x.y/z/2",
            "x.y/zv2",
        ] {
            assert!(check_path(ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "x.y/z/v0",
            "x.y/z/v1",
            "x.y/z/v1.2",
            "gopkg.in/yaml.v",
            "gopkg.in/x",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions() {
        let good: &[(&str, &str)] = &[
            ("v1.0.0", "v1.0.0"),
            ("master", "master"),
            ("v1.0.0-!r!c1", "v1.0.0-RC1"),
            ("v2.0.0+incompatible", "v2.0.0+incompatible"),
            ("branch name", "branch name"),
            ("v1.0.0+meta!x", "v1.0.0+metaX"),
        ];
        for &(esc, want) in good {
            assert_eq!(unescape_version(esc).as_deref(), Ok(want), "{esc:?}");
        }
        for bad in [
            "", ".", "..", "v1/x", "v1:x", "v1.", "a*b", "CON", "!", "x!", "!1", "V1", "é", "v1?",
            "a|b",
        ] {
            assert!(unescape_version(bad).is_err(), "unescape_version({bad:?})");
        }
        // File names may start with a dot, unlike module path elements.
        assert!(unescape_version(".v1").is_ok());
    }

    #[test]
    fn go_single_element_file_rows_apply_to_versions() {
        // For rows without '/' that unescaping leaves alone, UnescapeVersion
        // succeeds exactly when CheckFilePath does.
        for &(path, _, file_ok) in CHECK_PATH_TESTS {
            let plain = !path.contains('/')
                && path.is_ascii()
                && !path.contains('!')
                && !path.bytes().any(|b| b.is_ascii_uppercase());
            if plain {
                assert_eq!(unescape_version(path).is_ok(), file_ok, "{path:?}");
            }
        }
    }

    #[test]
    fn escape_version_cases() {
        assert_eq!(escape_version("v1.0.0-RC1").as_deref(), Ok("v1.0.0-!r!c1"));
        assert_eq!(escape_version("v1.0.0").as_deref(), Ok("v1.0.0"));
        assert!(escape_version("v1!").is_err());
        assert!(escape_version("v1/x").is_err());
        assert!(escape_version("").is_err());
        assert!(escape_version("vé").is_err());
    }

    #[test]
    fn percent_decoding() {
        assert!(matches!(percent_decode("/a/b"), Ok(Cow::Borrowed("/a/b"))));
        assert_eq!(
            percent_decode("github.com/%21azure/azlite/@v/v0.3.0.zip").as_deref(),
            Ok("github.com/!azure/azlite/@v/v0.3.0.zip")
        );
        assert_eq!(percent_decode("%2e%2E").as_deref(), Ok(".."));
        assert_eq!(percent_decode("a+b").as_deref(), Ok("a+b"));
        assert_eq!(percent_decode("%E2%98%BA").as_deref(), Ok("☺"));
        use PathErrorReason as R;
        let cases: &[(&str, PathErrorReason)] = &[
            ("%", R::BadPercentEncoding),
            ("%2", R::BadPercentEncoding),
            ("%zz", R::BadPercentEncoding),
            ("%2g", R::BadPercentEncoding),
            ("%%41", R::BadPercentEncoding),
            ("%FF", R::InvalidUtf8),
            ("%E2%98", R::InvalidUtf8),
            ("%C0%AF", R::InvalidUtf8),
            ("%00", R::ControlChar('\0')),
            ("a%0Ab", R::ControlChar('\n')),
            ("%7F", R::ControlChar('\u{7f}')),
            ("%C2%85", R::ControlChar('\u{85}')),
            ("a\tb", R::ControlChar('\t')),
        ];
        for (input, want) in cases {
            let err = percent_decode(input).unwrap_err();
            assert_eq!(err.reason(), want, "percent_decode({input:?})");
            assert_eq!(err.subject(), PathSubject::RequestPath);
        }
        let msg = percent_decode("/x%0A").unwrap_err().to_string();
        assert_eq!(
            msg,
            "invalid request path \"/x%0A\": control character U+000A"
        );
    }

    #[test]
    fn long_inputs_are_truncated_in_messages() {
        let long = format!("x.y/{}é{}", "a".repeat(195), "b".repeat(300));
        let msg = check_path(&format!("{long}/")).unwrap_err().to_string();
        assert!(msg.len() < 300, "{msg}");
        assert!(msg.contains("\"...: trailing slash"), "{msg}");
    }
}
