//! Watching a running gateway from outside: its metrics, and conditions that become
//! true after a while.

use super::http::get;
use super::Gateway;
use std::thread;
use std::time::{Duration, Instant};

/// The admin listener's `/metrics` text.
pub fn metrics(gw: &Gateway) -> String {
    get(gw.admin.expect("admin address"), "/metrics", &[]).text()
}

/// The value of one series line, e.g. `modgate_config_reloads_total{result="failure"}`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// Waits up to 15 s for `ok`; panics naming `what` if it never holds.
pub fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        thread::sleep(Duration::from_millis(50));
    }
}
