//! Certificates, keys and client CAs read from disk and checked, so that a bad file is
//! a configuration error naming it rather than a failed handshake later.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct NamedKey {
    /// DNS names from the certificate's subject alternative names, lower case.
    pub names: Vec<String>,
    pub key: Arc<CertifiedKey>,
}

/// Everything one TLS listener serves with.
#[derive(Debug, Clone)]
pub struct TlsMaterial {
    /// The first is the default for clients that send no or an unknown SNI name.
    pub certificates: Vec<NamedKey>,
    pub client_verifier: Option<Arc<dyn rustls::server::danger::ClientCertVerifier>>,
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path)?;
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut pem.as_slice()).collect();
    let certs = certs.map_err(|e| format!("{} is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// Which file of a pair a problem is in, so the error points at the right line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyPart {
    Cert,
    Key,
}

pub fn load_key_pair(cert: &Path, key: &Path) -> Result<NamedKey, (KeyPart, String)> {
    super::install_crypto_provider();
    let chain = certificates(cert).map_err(|e| (KeyPart::Cert, e))?;
    let in_key = |e: String| (KeyPart::Key, e);
    let pem = read(key).map_err(in_key)?;
    let private: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| in_key(format!("{} is not valid PEM: {e}", key.display())))?
        .ok_or_else(|| in_key(format!("{} holds no PEM private key", key.display())))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(chain.clone(), private, &provider).map_err(|e| {
        in_key(format!(
            "{} does not belong to {} ({e}): use the key the certificate was issued for",
            key.display(),
            cert.display()
        ))
    })?;
    let (_, parsed) = x509_parser::parse_x509_certificate(&chain[0]).map_err(|e| {
        (
            KeyPart::Cert,
            format!("{} does not parse as X.509: {e}", cert.display()),
        )
    })?;
    let names = parsed
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(dns) => {
                        Some(dns.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(NamedKey {
        names,
        key: Arc::new(certified),
    })
}

pub fn client_verifier(
    ca: &Path,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
    super::install_crypto_provider();
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca)? {
        roots
            .add(cert)
            .map_err(|e| format!("{} holds an unusable CA certificate: {e}", ca.display()))?;
    }
    WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .map_err(|e| format!("{}: cannot verify clients with it: {e}", ca.display()))
}
