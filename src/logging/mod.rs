//! One tracing subscriber for modgate's events and Pingora's `log` records, written
//! to stderr by a background thread (`batch`).

mod batch;

use crate::snapshot::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

pub fn init(settings: &LogSettings) {
    // RUST_LOG overrides the file, as operators expect. rustls warns on every client
    // that sends an IP address as SNI (curl and wrk do), which is not the operator's
    // concern.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},rustls=error", settings.level)));
    let writer = match batch::Batched::start(std::io::stderr()) {
        Ok(writer) => writer,
        Err(error) => {
            eprintln!("modgate: cannot start the log writer thread: {error}");
            return;
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    // Only the first call installs; tests and `check` may call it again.
    let _ = match settings.format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
