//! The real go command against modgate over HTTPS, with keys in `.netrc`.
//!
//! The go command sends `.netrc` credentials only over HTTPS, so this is how a
//! developer's machine really talks to modgate: GOPROXY=https://localhost:PORT,
//! the test CA trusted through SSL_CERT_FILE, the key as the `.netrc` password.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use support::goproxy::{consumer_output, write_fixture_consumer, GREET_MODULE, SECRET_MODULE};
use support::pki::Ca;
use support::{free_port, Gateway, GoEnv, ProxyDir, TempDir, Upstream};

const READER_KEY: &str = "reader-key-31d9e0";
const ENGINEER_KEY: &str = "engineer:key/9b0c+=";

struct Setup {
    _gw: Gateway,
    corp: Upstream,
    public: Upstream,
    ca_pem: PathBuf,
    port: u16,
    _certs: TempDir,
    _modules: ProxyDir,
}

impl Setup {
    fn start() -> Setup {
        let certs = TempDir::new("modgate-go-https");
        let ca = Ca::new("modgate go test CA");
        let ca_pem = ca.write_pem(&certs.join("ca.pem"));
        let (cert, key) = ca
            .server(&["localhost", "127.0.0.1"])
            .write(certs.path(), "server");
        let modules = ProxyDir::new();
        modules.add_fixture_modules();
        let (corp, public) = (
            Upstream::start(modules.path()),
            Upstream::start(modules.path()),
        );
        let port = free_port();
        let yaml = format!(
            "listeners:\n  - address: \"127.0.0.1:{port}\"\n    tls:\n      certificates: [{{cert: {cert:?}, key: {key:?}}}]\n\
             auth:\n  roles:\n    reader: {{routes: [public]}}\n    engineer: {{routes: [public, private]}}\n  keys:\n    - id: ci\n      sha256: \"{reader}\"\n      roles: [reader]\n    - id: alice\n      secret: \"${{MODGATE_KEY_ALICE}}\"\n      roles: [engineer]\n\
             pools:\n  corp: {{backends: [{{url: \"{corp}\"}}]}}\n  public: {{backends: [{{url: \"{public}\"}}]}}\n\
             routes:\n  - {{name: private, modules: [\"git.corp.example.com\"], pools: [corp], private: true}}\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
            reader = hex::encode(modgate::auth::hash_key(READER_KEY.as_bytes())),
            corp = corp.url(),
            public = public.url(),
        );
        let gw = Gateway::start_with_env(&yaml, &[("MODGATE_KEY_ALICE", ENGINEER_KEY)]);
        Setup {
            _gw: gw,
            corp,
            public,
            ca_pem,
            port,
            _certs: certs,
            _modules: modules,
        }
    }

    /// The go command pointed at modgate over HTTPS only: private modules through
    /// the proxy too (GONOPROXY=none), no checksum database (the fixtures are not
    /// in sum.golang.org), TLS verified against the test CA.
    fn go_env(&self) -> GoEnv {
        let mut go = GoEnv::new(&format!("https://localhost:{}", self.port));
        go.unset("GOINSECURE")
            .set("SSL_CERT_FILE", &self.ca_pem.display().to_string())
            .set("GOPRIVATE", "git.corp.example.com")
            .set("GONOPROXY", "none")
            .set("GONOSUMDB", "git.corp.example.com")
            .set("GOSUMDB", "off")
            .set("GOFLAGS", "-mod=mod");
        go
    }

    /// Nothing the client sent as a credential reached an upstream; the private
    /// module went only to the corp pool.
    fn assert_upstreams_clean(&self) {
        for (name, upstream) in [("corp", &self.corp), ("public", &self.public)] {
            for r in upstream.requests() {
                for header in ["authorization", "x-api-key", "cookie"] {
                    assert_eq!(
                        r.header(header),
                        None,
                        "{name} upstream got {header}: {r:?}"
                    );
                }
                assert_eq!(
                    r.header("x-forwarded-proto"),
                    Some("https"),
                    "{name}: {r:?}"
                );
            }
        }
        assert_eq!(
            self.public.count_for("corp.example.com"),
            0,
            "{:?}",
            self.public.requests()
        );
        assert_eq!(
            self.corp.count_for(GREET_MODULE),
            0,
            "{:?}",
            self.corp.requests()
        );
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_engineer_key_in_netrc_builds_with_public_and_private_modules() {
    let s = Setup::start();
    let go = s.go_env();
    go.write_netrc(&[("localhost", "alice", ENGINEER_KEY)]);
    let consumer = go.work_dir().join("consumer");
    write_fixture_consumer(&consumer, true);

    go.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let run = Command::new(consumer.join("consumer-bin"))
        .output()
        .expect("run the built consumer");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), consumer_output(true));

    assert!(
        s.corp.count_for(&format!("{SECRET_MODULE}/@v/")) >= 2,
        "the private module came from the corp pool: {:?}",
        s.corp.requests()
    );
    assert!(
        s.public.count_for(&format!("{GREET_MODULE}/@v/")) >= 2,
        "{:?}",
        s.public.requests()
    );
    s.assert_upstreams_clean();
}

#[test]
fn a_reader_key_is_refused_the_private_module_with_modgates_message() {
    let s = Setup::start();
    let go = s.go_env();
    go.write_netrc(&[("localhost", "ci", READER_KEY)]);

    // The public modules alone build: the key went along over HTTPS and was taken.
    let public_only = go.work_dir().join("public-only");
    write_fixture_consumer(&public_only, false);
    let out = go.run_in(&public_only, &["mod", "download", "all"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");

    let consumer = go.work_dir().join("consumer");
    write_fixture_consumer(&consumer, true);
    let out = go.run_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("403 Forbidden"), "{stderr}");
    assert!(
        stderr.contains("key \"ci\" may not read route \"private\"; role \"engineer\" can"),
        "the go command should show modgate's message:\n{stderr}"
    );
    assert_eq!(
        s.corp.count(),
        0,
        "a refused key reached the corp pool: {:?}",
        s.corp.requests()
    );
    s.assert_upstreams_clean();
}

#[test]
fn without_netrc_the_go_command_shows_the_401() {
    let s = Setup::start();
    let go = s.go_env();
    let consumer = go.work_dir().join("consumer");
    write_fixture_consumer(&consumer, true);

    let out = go.run_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("401 Unauthorized"), "{stderr}");
    assert!(
        stderr.contains("modgate: this proxy needs a key"),
        "the go command should show modgate's message:\n{stderr}"
    );
    assert_eq!(s.corp.count() + s.public.count(), 0);

    // A .netrc entry for another host is not sent to this one.
    go.write_netrc(&[("proxy.example.com", "alice", ENGINEER_KEY)]);
    let out = go.run_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("401 Unauthorized"), "{stderr}");
    assert_eq!(s.corp.count() + s.public.count(), 0);
}
