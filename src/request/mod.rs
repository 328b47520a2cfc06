//! Understanding incoming GOPROXY requests.
//!
//! Every routing, access and logging decision depends on which module a
//! request is for, so the request path is parsed once, strictly and without
//! I/O, into a [`Request`] before anything else looks at it. Paths that are
//! GOPROXY-shaped but malformed are refused here with a reason the go command
//! will show its user; paths that are not GOPROXY paths at all are simply not
//! found.

pub mod classify;
pub mod hygiene;

pub use classify::{classify, Kind, Refusal, Request};
