//! Go module identity: paths, versions and path patterns.
//!
//! The gateway routes and authorises requests by module path, so it must
//! agree byte for byte with the go command and with Go-written upstream
//! proxies about what a path *is*. A looser or merely similar parser would
//! let a request be routed as one module while the upstream serves another
//! (case folding, `..` elements, odd punctuation), so these modules port the
//! rules of `golang.org/x/mod/module`, `golang.org/x/mod/semver` and Go's
//! `path.Match` faithfully, including the quirks, and keep them free of I/O so
//! they can be tested exhaustively against Go's own tables.

pub mod escape;
pub mod pattern;
pub mod version;

pub use escape::{
    check_path, escape_path, escape_version, percent_decode, unescape_path, unescape_version,
    PathError, PathErrorReason, PathSubject,
};
pub use pattern::{match_prefix_patterns, path_match, BadPattern, ModulePatterns};
pub use version::{is_canonical, is_valid_semver};
