//! Support library for modgate's integration tests: `mod support;` in a test file.
//!
//! - [`goproxy`]: GOPROXY-layout directories with valid Go module zips, and fixtures.
//! - [`upstream`]: an HTTP/1.1 upstream serving such a directory, recording requests.
//! - [`gateway`]: starting the real modgate binary with a config.
//! - [`http`]: a small blocking HTTP/1.1 client over `TcpStream`.
//! - [`gocmd`]: running the real `go` command in an isolated environment.
//! - [`observe`]: metrics of a running gateway and waiting for a condition.
//! - [`pki`]: a test certificate authority (rcgen) for TLS tests.
//! - [`tempdir`]: self-removing temp directories.

// Each test binary compiles this module and uses only part of it; helpers
// panic with a message on failure, as test code does.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod gateway;
pub mod gocmd;
pub mod goproxy;
pub mod http;
pub mod observe;
pub mod pki;
pub mod tempdir;
pub mod upstream;

pub use gateway::{free_port, one_pool_config, run_modgate, run_modgate_with, Gateway};
pub use gocmd::GoEnv;
pub use goproxy::{escape, ProxyDir};
pub use http::{Conn, Response};
pub use observe::{assert_closed_unanswered, eventually, metric, metrics};
pub use tempdir::TempDir;
pub use upstream::{Mode, Recorded, Upstream};
