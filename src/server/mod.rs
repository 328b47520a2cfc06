//! The edges: listeners, the background supervisor and the Pingora server that runs
//! them.

mod admin;
mod filter;
mod front;
mod head_deadline;
mod reload;
mod send_deadline;
mod supervisor;
pub(crate) mod workers;
mod write_hold;

use crate::config;
use crate::live::{Live, TlsEndpoint};
use crate::pool::registry::StateRegistry;
use crate::proxy::Gateway;
use crate::snapshot::Snapshot;
use crate::tls::{CertResolver, ClientAuth};
use pingora::apps::HttpServerOptions;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server};
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use std::path::Path;
use std::sync::Arc;

/// Runs the gateway in the foreground until it is stopped (SIGTERM, SIGINT, or SIGQUIT
/// for an upgrade); an error only at start-up.
pub fn run(config_path: &Path, upgrade: bool) -> Result<(), String> {
    let states = StateRegistry::default();
    let snapshot = config::load(config_path, &states).map_err(|e| e.to_string())?;
    crate::logging::init(&snapshot.log);
    if let Some(m) = crate::metrics::get() {
        m.last_reload_success.set(crate::metrics::now_seconds());
    }
    supervisor::resolve_now(&snapshot);
    if let Some(pid_file) = &snapshot.server.start.pid_file {
        std::fs::write(pid_file, format!("{}\n", std::process::id()))
            .map_err(|e| format!("{}: cannot write the pid file: {e}", pid_file.display()))?;
    }
    let threads = snapshot.server.start.threads;
    let mut conf = ServerConf {
        threads,
        grace_period_seconds: Some(snapshot.server.start.grace_period.as_secs()),
        graceful_shutdown_timeout_seconds: Some(1),
        // Pingora's retries counter includes fall-through to the next pool; the
        // configuration bounds every route's tries by this.
        max_retries: config::MAX_TRIES,
        ..ServerConf::default()
    };
    if let Some(socket) = &snapshot.server.start.upgrade_socket {
        conf.upgrade_sock = socket.display().to_string();
    }
    let opt = Opt {
        upgrade,
        ..Opt::default()
    };
    let listeners = snapshot.listeners.clone();
    let admin_address = snapshot.admin;
    let tls_endpoints: Vec<TlsEndpoint> = listeners
        .iter()
        .filter_map(|l| {
            let material = &l.tls.as_ref()?.material;
            Some(TlsEndpoint {
                address: l.address,
                certificates: Arc::new(CertResolver::new(&material.certificates)),
                client_auth: Arc::new(ClientAuth::new(material.client_verifier.clone())),
            })
        })
        .collect();
    let mut front_listeners = Vec::new();
    for listener in &listeners {
        let endpoint = tls_endpoints.iter().find(|e| e.address == listener.address);
        let acceptor = endpoint.map(|endpoint| {
            crate::tls::acceptor::acceptor(
                endpoint.certificates.clone(),
                endpoint.client_auth.clone(),
            )
        });
        front_listeners.push((listener.address, acceptor));
    }
    let live = Arc::new(Live::new(
        config_path.to_path_buf(),
        snapshot,
        states,
        tls_endpoints,
    ));
    match live.prepare_store(&live.snapshot()) {
        Ok(store) => live.set_store(store),
        // Serving without the store beats not serving; a reload tries again.
        Err(error) => {
            tracing::error!(%error, "the cache cannot be used: every request goes upstream")
        }
    }
    let workers = match workers::Workers::start(threads) {
        Ok(workers) => Some(workers),
        Err(error) => {
            tracing::warn!(
                %error,
                "connections cannot be moved to worker threads: served on Pingora's shared threads"
            );
            None
        }
    };
    let accept_only = workers.is_some();
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();
    let mut proxy = pingora::proxy::http_proxy(&server.configuration, Gateway::new(live.clone()));
    proxy.server_options = Some(http_options(&live.snapshot()));
    let mut service = Service::new(
        "modgate".to_string(),
        front::Front::new(proxy, front_listeners, live.clone(), workers),
    );
    if accept_only {
        // The service's own runtime only accepts; the workers serve.
        service.threads = Some(1);
    }
    service.set_connection_filter(Arc::new(filter::PeerFilter::new(live.clone())));
    for listener in &listeners {
        service.add_tcp(&listener.address.to_string());
    }
    server.add_service(service);
    if let Some(admin) = admin_address {
        let mut service =
            Service::new("admin".to_string(), admin::AdminListener::new(live.clone()));
        service.add_tcp(&admin.to_string());
        server.add_service(service);
    }
    server.add_service(background_service(
        "supervisor",
        supervisor::Supervisor::new(live),
    ));
    tracing::info!(config = %config_path.display(), "modgate started");
    // Not `run_forever`: it exits the process itself, dropping the log lines still
    // queued for the writer thread.
    server.run(RunArgs::default());
    tracing::info!("modgate stopped");
    crate::logging::flush();
    Ok(())
}

/// HTTP/1 connections get the keep-alive timeout per request (`proxy`); HTTP/2 ones
/// only through these options, which Pingora reads from the proxy built here at start,
/// so a reloaded value reaches HTTP/2 connections only after a restart.
fn http_options(snapshot: &Snapshot) -> HttpServerOptions {
    let mut options = HttpServerOptions::default();
    options.h2_idle_timeout = Some(snapshot.server.limits.keepalive_timeout);
    options
}
