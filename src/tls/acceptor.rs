//! The rustls server configuration of a TLS listener. It is built here rather than by
//! Pingora's `TlsSettings` because those allow no ALPN list beyond h2 and http/1.1
//! (a client offering only http/1.0 would be refused in the handshake), no session
//! tickets, and run the handshake with no deadline.

use super::{CertResolver, ClientAuth};
use pingora::listeners::tls::Acceptor;
use rustls::version::{TLS12, TLS13};
use rustls::ServerConfig;
use std::sync::Arc;

pub fn acceptor(
    certificates: Arc<CertResolver>,
    client_auth: Arc<ClientAuth>,
) -> Result<Acceptor, String> {
    super::install_crypto_provider();
    let mut config = ServerConfig::builder_with_protocol_versions(&[&TLS13, &TLS12])
        .with_client_cert_verifier(client_auth)
        .with_cert_resolver(certificates);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    // Stateless tickets let a returning client skip the full handshake without this
    // process keeping a cache per client.
    config.ticketer = rustls::crypto::ring::Ticketer::new()
        .map_err(|e| format!("cannot make TLS session tickets: {e}"))?;
    Ok(Acceptor::from_server_config(Arc::new(config)))
}
