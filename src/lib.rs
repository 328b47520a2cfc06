//! modgate: a gateway for Go module proxy traffic, built on Pingora.
//!
//! The folders follow the request's way: `access` (who may connect), `request`
//! (what GOPROXY request it is), `auth` (which key), `route` (which route), `pool`
//! (which backend), `proxy` (the Pingora glue); `config` builds the `snapshot`
//! they all read, `live` and `server` run it.
#![forbid(unsafe_code)]

pub mod access;
pub mod admin;
pub mod auth;
pub mod cache;
pub mod config;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod module;
pub mod pool;
pub mod proxy;
pub mod request;
pub mod route;
pub mod server;
pub mod snapshot;
pub mod tls;

/// The type of every answer modgate writes itself for people: refusals the go command
/// prints, and the admin endpoints' short reports.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
