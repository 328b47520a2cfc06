//! Client-certificate checking that a reload can switch on, off or to another CA.
//! Installed on every TLS listener; without a `client_ca` it asks for nothing.

use arc_swap::ArcSwapOption;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use std::sync::Arc;

type Inner = Arc<dyn ClientCertVerifier>;

#[derive(Debug, Default)]
pub struct ClientAuth {
    inner: ArcSwapOption<Inner>,
}

impl ClientAuth {
    pub fn new(verifier: Option<Inner>) -> ClientAuth {
        ClientAuth {
            inner: ArcSwapOption::new(verifier.map(Arc::new)),
        }
    }

    pub fn replace(&self, verifier: Option<Inner>) {
        self.inner.store(verifier.map(Arc::new));
    }

    fn with<T>(&self, f: impl FnOnce(&Inner) -> Result<T, Error>) -> Result<T, Error> {
        match self.inner.load().as_deref() {
            Some(inner) => f(inner),
            None => Err(Error::General(
                "client certificates are not requested".into(),
            )),
        }
    }
}

impl ClientCertVerifier for ClientAuth {
    fn offer_client_auth(&self) -> bool {
        self.inner.load().is_some()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner
            .load()
            .as_deref()
            .is_some_and(|inner| inner.client_auth_mandatory())
    }

    /// No hints: the verifier behind the swap cannot lend its list out, and clients
    /// then offer whichever certificate they have.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.with(|inner| inner.verify_client_cert(end_entity, intermediates, now))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.with(|inner| inner.verify_tls12_signature(message, cert, dss))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.with(|inner| inner.verify_tls13_signature(message, cert, dss))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        match self.inner.load().as_deref() {
            Some(inner) => inner.supported_verify_schemes(),
            None => rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes(),
        }
    }
}
