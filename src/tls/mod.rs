//! TLS termination with rustls: certificates chosen by SNI and client-certificate
//! checks, both behind `ArcSwap` so a reload replaces them without a restart.

pub mod acceptor;
pub mod client_auth;
pub mod dev;
pub mod material;
pub mod resolver;

pub use client_auth::ClientAuth;
pub use material::TlsMaterial;
pub use resolver::CertResolver;

/// rustls needs one process-wide crypto provider; Pingora's is `ring`, so is ours.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
