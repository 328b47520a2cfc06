use super::Ctx;
use crate::config::file;
use crate::snapshot::{
    CertificatePaths, ClientLimits, ListenerSpec, LogFormat, LogSettings, OnFull, ServerSettings,
    StartSettings, TlsSpec,
};
use crate::tls::material::{self, KeyPart};
use crate::tls::TlsMaterial;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

pub(super) fn server(ctx: &mut Ctx, server: &file::Server) -> ServerSettings {
    let threads = match server.threads {
        Some(0) => {
            ctx.error("server.threads", "server.threads must be at least 1");
            1
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let positive = |ctx: &mut Ctx, path: &str, value: Option<usize>, default: usize| match value {
        Some(0) => {
            ctx.error(path, format!("{path} must be greater than 0"));
            default
        }
        Some(n) => n,
        None => default,
    };
    let start = StartSettings {
        threads,
        grace_period: ctx.duration(
            "server.grace_period",
            server.grace_period.as_deref(),
            Duration::from_secs(10),
        ),
        pid_file: server.pid_file.as_deref().map(|p| ctx.resolve(p)),
        upgrade_socket: server.upgrade_socket.as_deref().map(|p| ctx.resolve(p)),
    };
    let limits = ClientLimits {
        keepalive_timeout: ctx.nonzero_duration(
            "server.keepalive_timeout",
            server.keepalive_timeout.as_deref(),
            Duration::from_secs(60),
        ),
        header_timeout: ctx.nonzero_duration(
            "server.header_timeout",
            server.header_timeout.as_deref(),
            Duration::from_secs(10),
        ),
        send_timeout: ctx.nonzero_duration(
            "server.send_timeout",
            server.send_timeout.as_deref(),
            Duration::from_secs(60),
        ),
        max_header_bytes: positive(
            ctx,
            "server.max_header_bytes",
            server.max_header_bytes,
            32 * 1024,
        ),
        max_request_line: positive(
            ctx,
            "server.max_request_line",
            server.max_request_line,
            8 * 1024,
        ),
    };
    ServerSettings { start, limits }
}

pub(super) fn log(ctx: &mut Ctx, log: &file::Log) -> LogSettings {
    let format = match log.format.as_deref() {
        None | Some("json") => LogFormat::Json,
        Some("pretty") => LogFormat::Pretty,
        Some(other) => {
            ctx.error(
                "log.format",
                format!("unknown log format {other:?}: use json or pretty"),
            );
            LogFormat::Json
        }
    };
    let level = log.level.clone().unwrap_or_else(|| "info".into());
    if !["error", "warn", "info", "debug", "trace"].contains(&level.as_str()) {
        ctx.error(
            "log.level",
            format!("unknown log level {level:?}: use error, warn, info, debug or trace"),
        );
    }
    let on_full = match log.on_full.as_deref() {
        None | Some("block") => OnFull::Block,
        Some("drop") => OnFull::Drop,
        Some(other) => {
            ctx.error(
                "log.on_full",
                format!("unknown log.on_full {other:?}: use block (the access log is an audit trail) or drop"),
            );
            OnFull::Block
        }
    };
    LogSettings {
        format,
        level,
        on_full,
    }
}

pub(super) fn listeners(ctx: &mut Ctx, listeners: &[file::Listener]) -> Vec<ListenerSpec> {
    if listeners.is_empty() {
        ctx.error(
            "listeners",
            "no listener: add one, e.g. listeners: [{address: \"127.0.0.1:8080\"}]",
        );
    }
    let mut seen = HashSet::new();
    let mut specs = Vec::new();
    for (i, listener) in listeners.iter().enumerate() {
        let path = format!("listeners[{i}].address");
        let Some(address) = socket_address(ctx, &path, &listener.address) else {
            continue;
        };
        if !seen.insert(address) {
            ctx.error(&path, format!("listener address {address} is listed twice"));
        }
        let tls = listener
            .tls
            .as_ref()
            .map(|tls| tls_spec(ctx, &format!("listeners[{i}].tls"), tls));
        specs.push(ListenerSpec { address, tls });
    }
    specs
}

fn tls_spec(ctx: &mut Ctx, path: &str, tls: &file::ListenerTls) -> TlsSpec {
    if tls.certificates.is_empty() {
        ctx.error(
            &format!("{path}.certificates"),
            "a TLS listener needs at least one certificate: add {cert: FILE, key: FILE}",
        );
    }
    let mut keys = Vec::new();
    let mut certificates = Vec::new();
    for (i, pair) in tls.certificates.iter().enumerate() {
        let here = format!("{path}.certificates[{i}]");
        let paths = CertificatePaths {
            cert: ctx.resolve(&pair.cert),
            key: ctx.resolve(&pair.key),
        };
        match material::load_key_pair(&paths.cert, &paths.key) {
            Ok(key) => keys.push(key),
            Err((part, message)) => {
                let field = match part {
                    KeyPart::Cert => "cert",
                    KeyPart::Key => "key",
                };
                ctx.error(
                    &format!("{here}.{field}"),
                    format!("{message}; modgate cert dev makes a local pair"),
                );
            }
        }
        certificates.push(paths);
    }
    let client_ca = tls.client_ca.as_deref().map(|ca| ctx.resolve(ca));
    let client_verifier = client_ca.as_deref().and_then(|ca| {
        material::client_verifier(ca)
            .map_err(|message| ctx.error(&format!("{path}.client_ca"), message))
            .ok()
    });
    TlsSpec {
        certificates,
        client_ca,
        material: TlsMaterial {
            certificates: keys,
            client_verifier,
        },
    }
}

pub(super) fn admin(
    ctx: &mut Ctx,
    admin: Option<&file::Admin>,
    listeners: &[ListenerSpec],
) -> Option<SocketAddr> {
    let address = socket_address(ctx, "admin.address", &admin?.address)?;
    if listeners.iter().any(|l| l.address.port() == address.port()) {
        ctx.error(
            "admin.address",
            format!(
                "admin address {address} shares port {} with a listener: give it a port of its own",
                address.port()
            ),
        );
    }
    Some(address)
}

fn socket_address(ctx: &mut Ctx, path: &str, text: &str) -> Option<SocketAddr> {
    match text.parse() {
        Ok(address) => Some(address),
        Err(_) => {
            ctx.error(
                path,
                format!("invalid address {text:?}: write IP:PORT, e.g. \"127.0.0.1:8080\" or \"[::1]:8443\""),
            );
            None
        }
    }
}
