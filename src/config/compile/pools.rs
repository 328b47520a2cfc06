use super::{valid_name, Ctx};
use crate::config::file;
use crate::pool::registry::StateRegistry;
use crate::pool::{health, Backend, HealthSpec, Pool};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

const MAX_WEIGHT: u32 = 1000;

pub(super) fn pools(
    ctx: &mut Ctx,
    pools: &std::collections::BTreeMap<String, file::Pool>,
    states: &StateRegistry,
) -> (Vec<Arc<Pool>>, HashMap<String, usize>) {
    if pools.is_empty() {
        ctx.error("pools", "no pool: add one, e.g. pools: {public: {backends: [{url: \"https://proxy.golang.org\"}]}}");
    }
    let mut out = Vec::with_capacity(pools.len());
    let mut names = HashMap::new();
    for (name, pool) in pools {
        let path = format!("pools.{name}");
        if !valid_name(name) {
            ctx.error(
                &path,
                format!("invalid pool name {name:?}: use letters, digits, - _ ."),
            );
        }
        names.insert(name.clone(), out.len());
        out.push(Arc::new(compile_pool(ctx, &path, name, pool, states)));
    }
    (out, names)
}

fn compile_pool(
    ctx: &mut Ctx,
    path: &str,
    name: &str,
    pool: &file::Pool,
    states: &StateRegistry,
) -> Pool {
    if pool.backends.is_empty() {
        ctx.error(
            &format!("{path}.backends"),
            format!("pool {name:?} has no backends: add - url: https://..."),
        );
    }
    if pool.backends.iter().any(|b| b.url.starts_with("file:")) {
        return tree_pool(ctx, path, name, pool);
    }
    let backends: Vec<Backend> = pool
        .backends
        .iter()
        .enumerate()
        .filter_map(|(i, b)| backend(ctx, &format!("{path}.backends[{i}]"), name, b, states))
        .collect();
    let health = pool
        .health_check
        .as_ref()
        .and_then(|h| health(ctx, &format!("{path}.health_check"), h, &backends));
    let connect_timeout = ctx.nonzero_duration(
        &format!("{path}.connect_timeout"),
        pool.connect_timeout.as_deref(),
        Duration::from_secs(2),
    );
    let read_timeout = ctx.nonzero_duration(
        &format!("{path}.read_timeout"),
        pool.read_timeout.as_deref(),
        Duration::from_secs(60),
    );
    let mut headers = Vec::new();
    for (header, value) in &pool.headers {
        let here = format!("{path}.headers.{header}");
        match (
            http::HeaderName::from_bytes(header.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => headers.push((n, v)),
            (Err(_), _) => ctx.error(&here, format!("invalid header name {header:?}")),
            (_, Err(_)) => ctx.error(
                &here,
                format!(
                    "invalid value for header {header:?}: no control characters or line breaks"
                ),
            ),
        }
    }
    let ca = pool
        .tls
        .as_ref()
        .and_then(|tls| tls.ca.as_deref())
        .map(|ca| trust_anchors(ctx, &format!("{path}.tls.ca"), ca))
        .unwrap_or_default();
    Pool::new(
        name.to_string(),
        backends,
        health,
        connect_timeout,
        read_timeout,
        pool.retries.unwrap_or(2),
        headers,
        ca,
    )
}

/// A `file://` backend is a directory served directly: alone in its pool, with nothing
/// to check, resolve or send.
fn tree_pool(ctx: &mut Ctx, path: &str, name: &str, pool: &file::Pool) -> Pool {
    let here = format!("{path}.backends[0].url");
    if pool.backends.len() > 1 {
        ctx.error(
            &format!("{path}.backends"),
            format!("a file:// backend must be the only one of pool {name:?}: put the others in a pool of their own"),
        );
    }
    if pool.health_check.is_some() || !pool.headers.is_empty() || pool.tls.is_some() {
        ctx.error(
            path,
            format!("pool {name:?} serves a directory: remove its health_check, headers and tls"),
        );
    }
    let url = &pool.backends[0].url;
    let dir = match url::Url::parse(url)
        .ok()
        .and_then(|u| u.to_file_path().ok())
    {
        Some(dir) => dir,
        None => {
            ctx.error(
                &here,
                format!("invalid backend URL {url:?}: write file:///ABSOLUTE/PATH"),
            );
            PathBuf::new()
        }
    };
    if !dir.as_os_str().is_empty() && !dir.is_dir() {
        ctx.error(
            &here,
            format!(
                "{} is not a directory: name a GOPROXY-layout tree",
                dir.display()
            ),
        );
    }
    Pool::tree(name.to_string(), dir)
}

fn backend(
    ctx: &mut Ctx,
    path: &str,
    pool: &str,
    backend: &file::Backend,
    states: &StateRegistry,
) -> Option<Backend> {
    let here = format!("{path}.url");
    let bad = |ctx: &mut Ctx, why: &str| {
        ctx.error(
            &here,
            format!("invalid backend URL {:?}: {why}", backend.url),
        );
        None
    };
    let Ok(url) = url::Url::parse(&backend.url) else {
        return bad(ctx, "write http://HOST[:PORT][/BASE] or https://...");
    };
    let tls = match url.scheme() {
        "http" => false,
        "https" => true,
        _ => return bad(ctx, "the scheme must be http or https"),
    };
    let Some(host) = url
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string())
    else {
        return bad(ctx, "a host is required");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return bad(
            ctx,
            "credentials do not belong in the URL: set them under the pool's headers",
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad(ctx, "remove the query or fragment");
    }
    let port = url
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    let weight = backend.weight.unwrap_or(1);
    if weight == 0 || weight > MAX_WEIGHT {
        ctx.error(
            &format!("{path}.weight"),
            format!("weight must be between 1 and {MAX_WEIGHT}"),
        );
    }
    let address = host
        .parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, port));
    let (state, _) = states.state(pool, &backend.url, address);
    Some(Backend {
        url: backend.url.clone(),
        label: if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        },
        host,
        port,
        tls,
        base_path: url.path().trim_end_matches('/').to_string(),
        weight: weight.clamp(1, MAX_WEIGHT),
        state,
    })
}

fn health(
    ctx: &mut Ctx,
    path: &str,
    check: &file::HealthCheck,
    backends: &[Backend],
) -> Option<HealthSpec> {
    let Some(probe) = check.path.clone() else {
        ctx.error(path, "health_check needs a path that the backends answer with 200, e.g. path: /golang.org/x/text/@v/list");
        return None;
    };
    if !probe.starts_with('/') {
        ctx.error(
            &format!("{path}.path"),
            format!("health check path {probe:?} must start with /"),
        );
    } else if backends
        .iter()
        .any(|b| health::probe_request(b, &probe).is_err())
    {
        ctx.error(
            &format!("{path}.path"),
            format!("health check path {probe:?} is not a valid request path: percent-encode spaces and other special characters"),
        );
    }
    let threshold = |ctx: &mut Ctx, field: &str, value: Option<u32>, default: u32| match value {
        Some(0) => {
            ctx.error(
                &format!("{path}.{field}"),
                format!("{field} must be at least 1"),
            );
            default
        }
        Some(n) => n,
        None => default,
    };
    Some(HealthSpec {
        path: probe,
        interval: ctx.nonzero_duration(
            &format!("{path}.interval"),
            check.interval.as_deref(),
            Duration::from_secs(10),
        ),
        timeout: ctx.nonzero_duration(
            &format!("{path}.timeout"),
            check.timeout.as_deref(),
            Duration::from_secs(2),
        ),
        healthy_threshold: threshold(ctx, "healthy_threshold", check.healthy_threshold, 2),
        unhealthy_threshold: threshold(ctx, "unhealthy_threshold", check.unhealthy_threshold, 3),
    })
}

/// Reads a PEM bundle of CA certificates; each must parse as X.509 so that nothing
/// malformed reaches the TLS connector.
fn trust_anchors(ctx: &mut Ctx, path: &str, file: &str) -> Vec<Vec<u8>> {
    let file = ctx.resolve(file);
    let pem = match std::fs::read(&file) {
        Ok(pem) => pem,
        Err(error) => {
            ctx.error(
                path,
                format!("cannot read CA file {}: {error}", file.display()),
            );
            return Vec::new();
        }
    };
    let mut anchors = Vec::new();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        match cert {
            Ok(der) if x509_parser::parse_x509_certificate(&der).is_ok() => {
                anchors.push(der.to_vec())
            }
            _ => {
                ctx.error(
                    path,
                    format!(
                        "{} holds a certificate that does not parse: write PEM certificates",
                        file.display()
                    ),
                );
                return Vec::new();
            }
        }
    }
    if anchors.is_empty() {
        ctx.error(path, format!("{} holds no PEM certificate", file.display()));
    }
    anchors
}
