//! Watching a running gateway from outside: its metrics, conditions that become
//! true after a while, and how it refused a client.

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

/// The request got no HTTP answer because modgate closed the connection (or refused
/// the TLS session): neither a timeout nor a refused connection, which a hung or
/// absent gateway would give.
pub fn assert_closed_unanswered(result: &reqwest::Result<reqwest::blocking::Response>, who: &str) {
    let error = match result {
        Ok(response) => panic!("{who} was answered: {response:?}"),
        Err(error) => error,
    };
    let chain = format!("{error:?}");
    assert!(
        !error.is_timeout(),
        "{who}: timed out instead of being closed: {chain}"
    );
    assert!(
        !chain.contains("ConnectionRefused"),
        "{who}: nothing listening: {chain}"
    );
}
