//! One tracing subscriber for modgate's events and Pingora's `log` records.
//!
//! Lines are written by a background thread so a worker never waits on stderr
//! (journald under systemd); the queue blocks rather than drops when full, because
//! the access log is an audit trail.

use crate::snapshot::{LogFormat, LogSettings};
use std::sync::OnceLock;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Flushes the queue when the process exits normally.
static GUARD: OnceLock<WorkerGuard> = OnceLock::new();

pub fn init(settings: &LogSettings) {
    // RUST_LOG overrides the file, as operators expect. rustls warns on every client
    // that sends an IP address as SNI (curl and wrk do), which is not the operator's
    // concern.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},rustls=error", settings.level)));
    // A short queue: it smooths bursts without holding tens of MB of lines (the
    // default of 128,000 did, under load) when stderr is slower than the traffic.
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(4096)
        .lossy(false)
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    if installed.is_ok() {
        let _ = GUARD.set(guard);
    }
}
