//! What a finished request leaves behind: its metrics and one access-log event, the
//! audit trail of who fetched what. The key id is logged, never the key.

use super::ctx::RequestCtx;
use crate::logging::access::Entry;
use pingora::prelude::*;
use pingora::proxy::Session;

pub fn request(session: &Session, error: Option<&Error>, ctx: &RequestCtx) {
    let status = session
        .response_written()
        .map(|r| r.status.as_u16())
        .or(ctx.failed_status)
        .unwrap_or(0);
    let elapsed = ctx.started.elapsed().as_secs_f64();
    let request = session.req_header();
    let forward = ctx.forward.as_ref();
    let route = forward
        .and_then(|f| f.route)
        .and_then(|r| ctx.snapshot.routes.get(r))
        .map(|r| r.name.as_str());
    let (pool, backend) = match ctx.backend {
        Some((p, b)) => {
            let pool = &ctx.snapshot.pools[p];
            (
                Some(pool.name.as_str()),
                Some(pool.backends[b].label.as_str()),
            )
        }
        None => (None, None),
    };
    let denied = ctx
        .answered
        .as_ref()
        .and_then(|a| a.reason)
        .map(|r| r.as_str());
    let kind = forward.map_or("-", |f| f.kind.as_str());
    let route_label = route.unwrap_or(if kind == "sumdb" { "sumdb" } else { "-" });
    if let Some(m) = crate::metrics::get() {
        // 0 when nothing was answered, which is no status code.
        let code = http::StatusCode::from_u16(status).ok();
        let status_label = code.as_ref().map_or("0", http::StatusCode::as_str);
        m.requests
            .with_label_values(&[route_label, kind, status_label])
            .inc();
        m.request_duration
            .with_label_values(&[route_label, kind])
            .observe(elapsed);
        m.response_bytes
            .with_label_values(&[route_label])
            .inc_by(ctx.bytes);
        if let Some(reason) = denied {
            m.denied.with_label_values(&[reason]).inc();
        }
        if let Some(cache) = ctx.cache {
            m.cache_requests
                .with_label_values(&[kind, cache.as_str()])
                .inc();
        }
    }
    crate::logging::access(&Entry {
        client: ctx.client,
        key: ctx.key_id.as_deref().unwrap_or("-"),
        method: request.method.as_str(),
        path: request.uri.path(),
        kind: forward.map(|f| f.kind.as_str()),
        module: forward.and_then(|f| f.module.as_deref()),
        version: forward.and_then(|f| f.version.as_deref()),
        route,
        pool,
        backend,
        upstream_status: ctx.upstream_status,
        tries: ctx.tried.len(),
        status,
        bytes: ctx.bytes,
        duration_ms: elapsed * 1000.0,
        error: error.map(|e| e as &dyn std::fmt::Display),
        denied,
        cache: ctx.cache.map(|c| c.as_str()),
    });
}
