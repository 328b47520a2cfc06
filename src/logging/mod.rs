//! One tracing subscriber for modgate's events and Pingora's `log` records, written
//! to stderr by a background thread (`batch`).

pub mod access;
mod batch;

use crate::snapshot::{LogFormat, LogSettings};
use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// The writer behind the installed subscriber, kept to flush it at exit and, under the
/// JSON format, to take access lines directly.
static WRITER: OnceLock<(batch::Batched, LogFormat)> = OnceLock::new();

/// How long the exit waits for a stalled output before giving its lines up; below
/// the 30 s systemd waits before it kills.
const FLUSH_PATIENCE: Duration = Duration::from_secs(5);

pub fn init(settings: &LogSettings) {
    // RUST_LOG overrides the file, as operators expect. rustls warns on every client
    // that sends an IP address as SNI (curl and wrk do), which is not the operator's
    // concern.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},rustls=error", settings.level)));
    let writer = match batch::Batched::start(std::io::stderr(), settings.on_full) {
        Ok(writer) => writer,
        Err(error) => {
            eprintln!("modgate: cannot start the log writer thread: {error}");
            return;
        }
    };
    // Colours only for a person at a terminal who has not asked for none (NO_COLOR):
    // journald and log files would keep the escape codes as text.
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(writer.clone());
    // Only the first call installs; tests and `check` may call it again.
    let installed = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    if installed.is_ok() {
        let _ = WRITER.set((writer, settings.format));
    }
}

/// Logs a finished request, if the filter lets `access` events through. The filter is
/// asked by target and level only: a `RUST_LOG` directive on the event's fields
/// (`access[{error}]=…`) does not apply to the JSON line.
pub fn access(entry: &access::Entry<'_>) {
    if !tracing::enabled!(target: access::TARGET, tracing::Level::INFO) {
        return;
    }
    match WRITER.get() {
        Some((writer, LogFormat::Json)) => {
            let mut line = Vec::with_capacity(512);
            entry.json_line(&mut line);
            let _ = writer.line(line);
        }
        _ => entry.emit(),
    }
}

/// Writes out every line logged so far: the lines wait in a queue for a moment, and
/// the process exit would drop them.
pub fn flush() {
    if let Some((writer, _)) = WRITER.get() {
        // A stalled output gets its patience and then its lines are given up; saying
        // so would go to the same stalled output.
        let _ = writer.flush(FLUSH_PATIENCE);
    }
}
