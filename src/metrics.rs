//! Prometheus series, registered in the default registry of the `prometheus` version
//! Pingora uses. Labels never carry module names or client addresses: both are
//! unbounded and the second is personal data; the access log has them.

use prometheus::{
    register_gauge, register_gauge_vec, register_histogram_vec, register_int_counter,
    register_int_counter_vec, Gauge, GaugeVec, HistogramVec, IntCounter, IntCounterVec,
};
use std::sync::LazyLock;

pub struct Metrics {
    pub requests: IntCounterVec,
    pub request_duration: HistogramVec,
    pub upstream_requests: IntCounterVec,
    pub upstream_duration: HistogramVec,
    pub backend_up: GaugeVec,
    pub denied: IntCounterVec,
    pub response_bytes: IntCounterVec,
    pub config_reloads: IntCounterVec,
    pub last_reload_success: Gauge,
    pub build_info: GaugeVec,
    pub cache_requests: IntCounterVec,
    pub cache_size: Gauge,
    pub cache_evictions: IntCounter,
    pub cache_fills: IntCounterVec,
    pub log_dropped_lines: IntCounter,
    pub log_blocked_seconds: prometheus::Counter,
}

const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

fn build() -> prometheus::Result<Metrics> {
    let metrics = Metrics {
        requests: register_int_counter_vec!("modgate_requests_total", "Requests answered, by route, GOPROXY kind and status.", &["route", "kind", "status"])?,
        request_duration: register_histogram_vec!("modgate_request_duration_seconds", "Time from request to last byte, by route and kind.", &["route", "kind"], BUCKETS.to_vec())?,
        upstream_requests: register_int_counter_vec!("modgate_upstream_requests_total", "Requests sent to backends, by pool, backend host:port and upstream status (error: no answer).", &["pool", "backend", "status"])?,
        upstream_duration: register_histogram_vec!("modgate_upstream_duration_seconds", "Time from choosing a backend to its response header.", &["pool"], BUCKETS.to_vec())?,
        backend_up: register_gauge_vec!("modgate_backend_up", "1 while a backend is considered healthy.", &["pool", "backend"])?,
        denied: register_int_counter_vec!("modgate_denied_total", "Requests or connections refused, by reason.", &["reason"])?,
        response_bytes: register_int_counter_vec!("modgate_response_bytes_total", "Response body bytes sent to clients, by route.", &["route"])?,
        config_reloads: register_int_counter_vec!("modgate_config_reloads_total", "Configuration reloads, by result (success, failure).", &["result"])?,
        last_reload_success: register_gauge!("modgate_config_last_reload_success_timestamp_seconds", "When the configuration was last loaded successfully.")?,
        build_info: register_gauge_vec!("modgate_build_info", "Always 1; the version is in the label.", &["version"])?,
        cache_requests: register_int_counter_vec!("modgate_cache_requests_total", "Module requests by kind and what the store did (hit, miss, stale, bypass).", &["kind", "result"])?,
        cache_size: register_gauge!("modgate_cache_size_bytes", "Bytes of artifacts in the store.")?,
        cache_evictions: register_int_counter!("modgate_cache_evictions_total", "Artifacts removed to stay under cache.max_size.")?,
        log_dropped_lines: register_int_counter!("modgate_log_dropped_lines_total", "Log lines given up because the log output was behind (log.on_full: drop).")?,
        log_blocked_seconds: prometheus::register_counter!("modgate_log_blocked_seconds_total", "Time requests spent waiting for room in the log queue (log.on_full: block).")?,
        cache_fills: register_int_counter_vec!("modgate_cache_fills_total", "Upstream answers being stored, by result (stored; abandoned: the transfer or the disk fell short; failed: the write or a check failed).", &["result"])?,
    };
    metrics
        .build_info
        .with_label_values(&[env!("CARGO_PKG_VERSION")])
        .set(1.0);
    for reason in [
        "address",
        "no_key",
        "bad_key",
        "forbidden",
        "bad_request",
        "no_route",
    ] {
        metrics.denied.with_label_values(&[reason]);
    }
    for result in ["success", "failure"] {
        metrics.config_reloads.with_label_values(&[result]);
    }
    for result in ["stored", "abandoned", "failed"] {
        metrics.cache_fills.with_label_values(&[result]);
    }
    Ok(metrics)
}

static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match build() {
    Ok(metrics) => Some(metrics),
    Err(error) => {
        tracing::error!(%error, "metrics could not be registered; /metrics will be empty");
        None
    }
});

/// The series, or `None` if registration failed (logged once).
pub fn get() -> Option<&'static Metrics> {
    METRICS.as_ref()
}

pub fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub fn render() -> Vec<u8> {
    use prometheus::Encoder;
    let _ = get();
    let mut out = Vec::new();
    let _ = prometheus::TextEncoder::new().encode(&prometheus::gather(), &mut out);
    out
}
