//! `modgate cert dev`: a local CA and a server certificate for loopback names, so the
//! default configuration can serve HTTPS without anyone handling a private key.
//! The CA's own key is never written: to re-issue, make a new pair.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

pub struct DevCerts {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub const DEV_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub fn make(dir: &Path, names: &[&str]) -> Result<DevCerts, String> {
    let fail = |e: rcgen::Error| format!("cannot make the certificates: {e}");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "modgate development CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(fail)?)
        .map_err(fail)?;
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params = CertificateParams::new(names).map_err(fail)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "modgate development server");
    let key = KeyPair::generate().map_err(fail)?;
    let cert = params.signed_by(&key, &ca).map_err(fail)?;

    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let out = DevCerts {
        ca: dir.join("dev-ca.pem"),
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
    };
    write(&out.ca, ca.as_ref().pem().as_bytes(), 0o644)?;
    write(&out.cert, cert.pem().as_bytes(), 0o644)?;
    write(&out.key, key.serialize_pem().as_bytes(), 0o600)?;
    Ok(out)
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.write_all(bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}
