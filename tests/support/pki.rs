//! A throw-away certificate authority made with rcgen, for TLS tests: server
//! certificates for SNI names and IP addresses, client certificates for mTLS.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// A CA whose key lives only in memory.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, both PEM, plus the certificate's DER.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl Ca {
    /// A self-signed CA certificate with `common_name` as its subject.
    pub fn new(common_name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::self_signed(ca_params(common_name), key)
                .expect("self-sign the CA"),
        }
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, common_name: &str) -> Ca {
        let key = KeyPair::generate().expect("CA key");
        Ca {
            issuer: CertifiedIssuer::signed_by(ca_params(common_name), key, &self.issuer)
                .expect("sign the intermediate CA"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// Writes the CA certificate (PEM) to `path` and returns it.
    pub fn write_pem(&self, path: &Path) -> PathBuf {
        fs::write(path, self.pem()).expect("write CA PEM");
        path.to_path_buf()
    }

    /// A server certificate for `names` (DNS names or IP addresses).
    pub fn server(&self, names: &[&str]) -> Leaf {
        let first = names.first().copied().unwrap_or("server");
        self.leaf(names, first, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate with `common_name` as its subject.
    pub fn client(&self, common_name: &str) -> Leaf {
        let params = leaf_params(&[], common_name, ExtendedKeyUsagePurpose::ClientAuth);
        self.sign(params)
    }

    /// A client certificate that expired in 2001.
    pub fn expired_client(&self, common_name: &str) -> Leaf {
        let mut params = leaf_params(&[], common_name, ExtendedKeyUsagePurpose::ClientAuth);
        params.not_before = date_time_ymd(2000, 1, 1);
        params.not_after = date_time_ymd(2001, 1, 1);
        self.sign(params)
    }

    fn leaf(&self, names: &[&str], common_name: &str, usage: ExtendedKeyUsagePurpose) -> Leaf {
        self.sign(leaf_params(names, common_name, usage))
    }

    fn sign(&self, params: CertificateParams) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params(
    names: &[&str],
    common_name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).expect("leaf params");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![usage];
    params
}

impl Leaf {
    /// Writes `<stem>.crt` and `<stem>.key` into `dir`; returns their absolute paths.
    pub fn write(&self, dir: &Path, stem: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        fs::write(&cert, &self.cert_pem).expect("write certificate");
        fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }

    /// Certificate and key in one PEM text, as `reqwest::Identity::from_pem` wants.
    pub fn identity_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }
}
