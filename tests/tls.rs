//! TLS termination with the real binary: certificates chosen by SNI, HTTP/2 and
//! HTTP/1.1 over ALPN, TLS 1.2 and 1.3, client certificates, and bad key material
//! reported as a configuration error.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::blocking::{Client, ClientBuilder};
use reqwest::tls::{Certificate, Identity, TlsInfo, Version as TlsVersion};
use reqwest::{StatusCode, Version};

use support::goproxy::{info_json, url_path, GREET_MODULE, GREET_VERSION};
use support::pki::{Ca, Leaf};
use support::{
    assert_closed_unanswered, free_port, run_modgate, Gateway, ProxyDir, TempDir, Upstream,
};

const SUPPORTED: &str = "/sumdb/sum.golang.org/supported";

fn listen() -> String {
    format!("127.0.0.1:{}", free_port())
}

fn yaml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// One `{cert: ..., key: ...}` entry per pair.
fn certificates(pairs: &[(PathBuf, PathBuf)]) -> String {
    pairs
        .iter()
        .map(|(cert, key)| {
            format!(
                "        - {{cert: {}, key: {}}}\n",
                yaml_path(cert),
                yaml_path(key)
            )
        })
        .collect()
}

/// A config with the given `listeners:` block, one public pool on `upstream` and
/// a proxied checksum database.
fn config(listeners: &str, upstream: &str) -> String {
    format!(
        "listeners:\n{listeners}pools:\n  public: {{backends: [{{url: \"{upstream}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\nsumdb:\n  - {{name: sum.golang.org, pool: public}}\n"
    )
}

fn tls_listener(address: &str, pairs: &[(PathBuf, PathBuf)], client_ca: Option<&Path>) -> String {
    let mut out = format!(
        "  - address: \"{address}\"\n    tls:\n      certificates:\n{}",
        certificates(pairs)
    );
    if let Some(ca) = client_ca {
        out.push_str(&format!("      client_ca: {}\n", yaml_path(ca)));
    }
    out
}

/// A client that trusts only `ca` and resolves `name` to `addr`.
fn client_for(ca: &Ca, name: &str, addr: SocketAddr) -> ClientBuilder {
    Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_der(&ca.der()).expect("CA certificate"))
        .resolve(name, addr)
        .tls_info(true)
        .timeout(Duration::from_secs(10))
}

fn https(name: &str, addr: SocketAddr, path: &str) -> String {
    format!("https://{name}:{}{path}", addr.port())
}

/// The DER of the certificate the server presented.
fn peer_certificate(response: &reqwest::blocking::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<TlsInfo>()
        .and_then(TlsInfo::peer_certificate)
        .expect("TLS info with the peer certificate")
        .to_vec()
}

fn served_by(client: ClientBuilder, name: &str, addr: SocketAddr) -> Vec<u8> {
    let client = client.build().expect("client");
    let response = client
        .get(https(name, addr, SUPPORTED))
        .send()
        .unwrap_or_else(|e| panic!("GET {name}: {e:?}"));
    assert_eq!(response.status(), StatusCode::OK, "{name}");
    peer_certificate(&response)
}

#[test]
fn sni_picks_the_certificate_and_the_first_is_the_default() {
    let certs = TempDir::new("modgate-tls");
    let ca = Ca::new("modgate test CA");
    let leaves: Vec<Leaf> = vec![
        ca.server(&["a.test"]),
        ca.server(&["b.test"]),
        ca.server(&["*.w.test"]),
        // A later certificate for a name already claimed does not take it over.
        ca.server(&["b.test", "d.test"]),
    ];
    let pairs: Vec<_> = leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| leaf.write(certs.path(), &format!("server{i}")))
        .collect();
    let upstream = Upstream::start(ProxyDir::new().path());
    let gw = Gateway::start(&config(
        &tls_listener(&listen(), &pairs, None),
        &upstream.url(),
    ));
    let addr = gw.addr;
    let (a, b, w, d) = (
        &leaves[0].der,
        &leaves[1].der,
        &leaves[2].der,
        &leaves[3].der,
    );

    assert_eq!(
        &served_by(client_for(&ca, "a.test", addr), "a.test", addr),
        a
    );
    assert_eq!(
        &served_by(client_for(&ca, "b.test", addr), "b.test", addr),
        b
    );
    assert_eq!(
        &served_by(client_for(&ca, "x.w.test", addr), "x.w.test", addr),
        w
    );
    assert_eq!(
        &served_by(client_for(&ca, "d.test", addr), "d.test", addr),
        d
    );
    // A wildcard covers exactly one label.
    let deeper = client_for(&ca, "y.x.w.test", addr).danger_accept_invalid_hostnames(true);
    assert_eq!(&served_by(deeper, "y.x.w.test", addr), a);
    // An unknown name gets the first certificate.
    let unknown = client_for(&ca, "c.test", addr).danger_accept_invalid_hostnames(true);
    assert_eq!(&served_by(unknown, "c.test", addr), a);
    // So does a client that sends no SNI at all, whatever host it asks for.
    let no_sni = client_for(&ca, "b.test", addr)
        .tls_sni(false)
        .danger_accept_invalid_hostnames(true);
    assert_eq!(&served_by(no_sni, "b.test", addr), a);
    // Checksum-database `supported` is answered by modgate itself.
    assert_eq!(upstream.count(), 0, "{:?}", upstream.requests());
}

#[test]
fn a_certificate_file_with_its_chain_is_served_whole() {
    let certs = TempDir::new("modgate-tls");
    let root = Ca::new("modgate test root CA");
    let intermediate = root.intermediate("modgate test intermediate CA");
    let leaf = intermediate.server(&["a.test"]);
    let cert = certs.join("chain.crt");
    std::fs::write(&cert, format!("{}{}", leaf.cert_pem, intermediate.pem())).expect("write");
    let key = certs.join("chain.key");
    std::fs::write(&key, &leaf.key_pem).expect("write");
    let upstream = Upstream::start(ProxyDir::new().path());
    let gw = Gateway::start(&config(
        &tls_listener(&listen(), &[(cert, key)], None),
        &upstream.url(),
    ));
    // The client knows only the root: the intermediate must come from modgate.
    assert_eq!(
        served_by(client_for(&root, "a.test", gw.addr), "a.test", gw.addr),
        leaf.der
    );
}

#[test]
fn h2_and_http1_are_both_served() {
    let certs = TempDir::new("modgate-tls");
    let ca = Ca::new("modgate test CA");
    let pair = ca.server(&["a.test"]).write(certs.path(), "server");
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let gw = Gateway::start(&config(
        &tls_listener(&listen(), &[pair], None),
        &upstream.url(),
    ));
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");
    for (client, version) in [
        (client_for(&ca, "a.test", gw.addr), Version::HTTP_2),
        (
            client_for(&ca, "a.test", gw.addr).http1_only(),
            Version::HTTP_11,
        ),
    ] {
        let client = client.build().expect("client");
        let supported = client
            .get(https("a.test", gw.addr, SUPPORTED))
            .send()
            .expect("GET supported");
        assert_eq!(supported.version(), version);
        assert_eq!(supported.status(), StatusCode::OK);

        let response = client
            .get(https("a.test", gw.addr, &info))
            .send()
            .expect("GET .info");
        assert_eq!(response.version(), version);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.text().expect("body"),
            info_json(GREET_VERSION),
            "{version:?}"
        );
    }
    let forwarded = upstream.requests_for(&info);
    assert_eq!(forwarded.len(), 2, "{forwarded:?}");
    for request in &forwarded {
        assert_eq!(
            request.header("x-forwarded-proto"),
            Some("https"),
            "{request:?}"
        );
    }
}

#[test]
fn tls_1_2_and_1_3_are_both_accepted() {
    let certs = TempDir::new("modgate-tls");
    let ca = Ca::new("modgate test CA");
    let pair = ca.server(&["a.test"]).write(certs.path(), "server");
    let upstream = Upstream::start(ProxyDir::new().path());
    let gw = Gateway::start(&config(
        &tls_listener(&listen(), &[pair], None),
        &upstream.url(),
    ));
    for version in [TlsVersion::TLS_1_2, TlsVersion::TLS_1_3] {
        let client = client_for(&ca, "a.test", gw.addr)
            .min_tls_version(version)
            .max_tls_version(version)
            .build()
            .expect("client");
        let response = client
            .get(https("a.test", gw.addr, SUPPORTED))
            .send()
            .unwrap_or_else(|e| panic!("{version:?}: {e:?}"));
        assert_eq!(response.status(), StatusCode::OK, "{version:?}");
    }
}

#[test]
fn client_certificates_are_required_where_configured() {
    let certs = TempDir::new("modgate-tls");
    let server_ca = Ca::new("modgate test CA");
    let client_ca = Ca::new("modgate clients CA");
    let other_ca = Ca::new("someone else's CA");
    let client_ca_pem = client_ca.write_pem(&certs.join("clients-ca.pem"));
    let pair = server_ca.server(&["a.test"]).write(certs.path(), "server");
    let upstream = Upstream::start(ProxyDir::new().path());
    let (mtls, open) = (listen(), listen());
    let _gw = Gateway::start(&config(
        &format!(
            "{}{}",
            tls_listener(&mtls, std::slice::from_ref(&pair), Some(&client_ca_pem)),
            tls_listener(&open, &[pair], None)
        ),
        &upstream.url(),
    ));
    let mtls: SocketAddr = mtls.parse().expect("address");
    let open: SocketAddr = open.parse().expect("address");
    let get = |builder: ClientBuilder, addr: SocketAddr| {
        builder
            .build()
            .expect("client")
            .get(https("a.test", addr, SUPPORTED))
            .send()
    };
    let identity = |leaf: &Leaf| Identity::from_pem(leaf.identity_pem().as_bytes()).expect("id");

    let without = get(client_for(&server_ca, "a.test", mtls), mtls);
    assert_closed_unanswered(&without, "no client certificate");

    let good = identity(&client_ca.client("builder-1"));
    let response = get(client_for(&server_ca, "a.test", mtls).identity(good), mtls)
        .expect("a certificate from the client CA is accepted");
    assert_eq!(response.status(), StatusCode::OK);

    let stranger = identity(&other_ca.client("builder-2"));
    let refused = get(
        client_for(&server_ca, "a.test", mtls).identity(stranger),
        mtls,
    );
    assert_closed_unanswered(&refused, "a certificate from another CA");

    // Nor is a self-signed one.
    let own = rcgen::generate_simple_self_signed(vec!["builder-3".to_string()]).expect("cert");
    let own = Identity::from_pem(
        format!("{}{}", own.cert.pem(), own.signing_key.serialize_pem()).as_bytes(),
    )
    .expect("identity");
    let refused = get(client_for(&server_ca, "a.test", mtls).identity(own), mtls);
    assert_closed_unanswered(&refused, "a self-signed client certificate");

    // An expired certificate from the client CA is refused.
    let expired = identity(&client_ca.expired_client("builder-4"));
    let refused = get(
        client_for(&server_ca, "a.test", mtls).identity(expired),
        mtls,
    );
    assert_closed_unanswered(&refused, "an expired certificate");

    // A certificate from an intermediate of the client CA, sent with its chain.
    let team_ca = client_ca.intermediate("team CA");
    let member = team_ca.client("builder-5");
    let chained = Identity::from_pem(
        format!("{}{}{}", member.cert_pem, team_ca.pem(), member.key_pem).as_bytes(),
    )
    .expect("identity");
    let response = get(
        client_for(&server_ca, "a.test", mtls).identity(chained),
        mtls,
    )
    .expect("a certificate chaining to the client CA is accepted");
    assert_eq!(response.status(), StatusCode::OK);

    // The listener without client_ca asks nothing of its clients.
    let response = get(client_for(&server_ca, "a.test", open), open)
        .expect("no client certificate needed without client_ca");
    assert_eq!(response.status(), StatusCode::OK);
}

/// Writes a config with one TLS listener using `cert`/`key` (and `client_ca`) and
/// returns its path.
fn check_config(dir: &TempDir, cert: &Path, key: &Path, client_ca: Option<&Path>) -> PathBuf {
    let yaml = config(
        &tls_listener(&listen(), &[(cert.into(), key.into())], client_ca),
        "http://127.0.0.1:9",
    );
    let path = dir.join("modgate.yaml");
    std::fs::write(&path, yaml).expect("write config");
    path
}

fn assert_check_fails_naming(config: &Path, file: &Path, what: &str) {
    let out = run_modgate(&["check", "-c", &config.display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: modgate check should exit 1\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(
        stderr.contains(&file.display().to_string()),
        "{what}: the error should name {}\n--- stderr ---\n{stderr}",
        file.display()
    );
    assert!(
        !stderr.contains("panicked"),
        "{what}: modgate panicked\n{stderr}"
    );
}

#[test]
fn bad_key_material_is_a_configuration_error_naming_the_file() {
    let dir = TempDir::new("modgate-tls-check");
    let ca = Ca::new("modgate test CA");
    let (a_cert, a_key) = ca.server(&["a.test"]).write(dir.path(), "a");
    let (_, b_key) = ca.server(&["b.test"]).write(dir.path(), "b");

    // The pair itself is fine.
    let good = check_config(&dir, &a_cert, &a_key, None);
    let out = run_modgate(&["check", "-c", &good.display().to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mismatched = check_config(&dir, &a_cert, &b_key, None);
    assert_check_fails_naming(&mismatched, &b_key, "a key of another certificate");

    let missing = dir.join("missing.crt");
    let config = check_config(&dir, &missing, &a_key, None);
    assert_check_fails_naming(&config, &missing, "a certificate that does not exist");

    let garbage = dir.join("garbage.crt");
    std::fs::write(&garbage, "this is not a certificate\n").expect("write");
    let config = check_config(&dir, &garbage, &a_key, None);
    assert_check_fails_naming(&config, &garbage, "a certificate file without PEM");

    let unreadable = dir.join("a-directory.crt");
    std::fs::create_dir(&unreadable).expect("mkdir");
    let config = check_config(&dir, &unreadable, &a_key, None);
    assert_check_fails_naming(
        &config,
        &unreadable,
        "a certificate path that is a directory",
    );

    let missing_key = dir.join("missing.key");
    let config = check_config(&dir, &a_cert, &missing_key, None);
    assert_check_fails_naming(&config, &missing_key, "a key that does not exist");

    // A key file that holds a certificate, not a key.
    let config = check_config(&dir, &a_cert, &a_cert, None);
    assert_check_fails_naming(&config, &a_cert, "a key file without a key");

    let config = check_config(&dir, &a_cert, &a_key, Some(&garbage));
    assert_check_fails_naming(&config, &garbage, "a client CA file without PEM");

    let missing_ca = dir.join("missing-ca.pem");
    let config = check_config(&dir, &a_cert, &a_key, Some(&missing_ca));
    assert_check_fails_naming(&config, &missing_ca, "a client CA that does not exist");
}

#[test]
fn run_refuses_to_start_with_a_mismatched_pair() {
    let dir = TempDir::new("modgate-tls-run");
    let ca = Ca::new("modgate test CA");
    let (a_cert, _) = ca.server(&["a.test"]).write(dir.path(), "a");
    let (_, b_key) = ca.server(&["b.test"]).write(dir.path(), "b");
    let mut gw = Gateway::spawn(
        &config(
            &tls_listener(&listen(), &[(a_cert, b_key.clone())], None),
            "http://127.0.0.1:9",
        ),
        &[],
        &[],
    );
    let status = gw
        .wait_exit(Duration::from_secs(15))
        .expect("modgate run should exit on a bad key pair");
    let log = gw.log();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains(&b_key.display().to_string()), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_certificate_replaced_on_disk_is_served_after_a_reload_without_dropping_connections() {
    let certs = TempDir::new("modgate-tls-reload");
    let ca = Ca::new("modgate test CA");
    let (first, second) = (ca.server(&["a.test"]), ca.server(&["a.test"]));
    let (cert, key) = first.write(certs.path(), "server");
    let upstream = Upstream::start(ProxyDir::with_fixtures().path());
    let yaml = config(
        &tls_listener(&listen(), &[(cert, key)], None),
        &upstream.url(),
    );
    let gw = Gateway::start(&yaml);
    // One client with a kept-alive connection opened before the reload.
    let kept = client_for(&ca, "a.test", gw.addr).build().expect("client");
    let before = kept
        .get(https("a.test", gw.addr, SUPPORTED))
        .send()
        .expect("before");
    assert_eq!(peer_certificate(&before), first.der);

    second.write(certs.path(), "server");
    gw.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        // A fresh client: a new connection and handshake.
        if served_by(client_for(&ca, "a.test", gw.addr), "a.test", gw.addr) == second.der {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new certificate was never served"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The connection from before the reload still works and still has its certificate.
    let after = kept
        .get(https("a.test", gw.addr, SUPPORTED))
        .send()
        .expect("kept connection");
    assert_eq!(after.status(), StatusCode::OK);
    assert_eq!(peer_certificate(&after), first.der);
}
