//! The edges: listeners, the background supervisor and the Pingora server that runs
//! them.

mod admin;
mod filter;
mod reload;
mod supervisor;

use crate::config;
use crate::live::{Live, TlsEndpoint};
use crate::pool::registry::StateRegistry;
use crate::proxy::Gateway;
use crate::tls::{CertResolver, ClientAuth};
use pingora::listeners::tls::TlsSettings;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::Server;
use pingora::services::background::background_service;
use std::path::Path;
use std::sync::Arc;

/// Starts the gateway in the foreground; returns only on a start-up error.
pub fn run(config_path: &Path, upgrade: bool) -> Result<(), String> {
    let states = StateRegistry::default();
    let snapshot = config::load(config_path, &states).map_err(|e| e.to_string())?;
    crate::logging::init(&snapshot.log);
    if let Some(m) = crate::metrics::get() {
        m.last_reload_success.set(crate::metrics::now_seconds());
    }
    supervisor::resolve_now(&snapshot);
    if let Some(pid_file) = &snapshot.server.pid_file {
        std::fs::write(pid_file, format!("{}\n", std::process::id()))
            .map_err(|e| format!("{}: cannot write the pid file: {e}", pid_file.display()))?;
    }
    let mut conf = ServerConf {
        threads: snapshot.server.threads,
        grace_period_seconds: Some(snapshot.server.grace_period.as_secs()),
        graceful_shutdown_timeout_seconds: Some(1),
        ..ServerConf::default()
    };
    if let Some(socket) = &snapshot.server.upgrade_socket {
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
    let live = Arc::new(Live::new(
        config_path.to_path_buf(),
        snapshot,
        states,
        tls_endpoints,
    ));
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    server.bootstrap();
    let mut proxy = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        Gateway::new(live.clone()),
        "modgate",
    );
    proxy.set_connection_filter(Arc::new(filter::PeerFilter::new(live.clone())));
    for listener in &listeners {
        let address = listener.address.to_string();
        match live.tls_endpoint(listener.address) {
            Some(endpoint) => {
                let mut settings = TlsSettings::intermediate("", "")
                    .map_err(|e| format!("{address}: cannot set up TLS: {e}"))?;
                settings.set_cert_resolver(endpoint.certificates.clone());
                settings.set_client_cert_verifier(endpoint.client_auth.clone());
                settings.enable_h2();
                proxy.add_tls_with_settings(&address, None, settings);
            }
            None => proxy.add_tcp(&address),
        }
    }
    server.add_service(proxy);
    if let Some(admin) = admin_address {
        let mut service = pingora::services::listening::Service::new(
            "admin".to_string(),
            admin::AdminApp::new(live.clone()),
        );
        service.add_tcp(&admin.to_string());
        server.add_service(service);
    }
    server.add_service(background_service(
        "supervisor",
        supervisor::Supervisor::new(live),
    ));
    tracing::info!(config = %config_path.display(), "modgate started");
    server.run_forever()
}
