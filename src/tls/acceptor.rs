//! The rustls server configuration of a TLS listener. It is built here rather than by
//! Pingora's `TlsSettings` because those allow no ALPN list beyond h2 and http/1.1
//! (a client offering only http/1.0 would be refused in the handshake) and run the
//! handshake with no deadline. No session tickets: a resumed session skips the client
//! certificate check, and a ticket would outlive a reload that changes `client_ca` by
//! hours; rustls' bounded in-memory session cache is all the resumption there is.

use super::{CertResolver, ClientAuth};
use pingora::listeners::tls::Acceptor;
use rustls::version::{TLS12, TLS13};
use rustls::ServerConfig;
use std::sync::Arc;

pub fn acceptor(certificates: Arc<CertResolver>, client_auth: Arc<ClientAuth>) -> Acceptor {
    super::install_crypto_provider();
    let mut config = ServerConfig::builder_with_protocol_versions(&[&TLS13, &TLS12])
        .with_client_cert_verifier(client_auth)
        .with_cert_resolver(certificates);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), b"http/1.0".to_vec()];
    Acceptor::from_server_config(Arc::new(config))
}
