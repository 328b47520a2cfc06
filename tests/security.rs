//! Keys, roles and address rules with the real binary: who gets in, what a refused
//! client is told, and that no client credential ever reaches an upstream.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use reqwest::blocking::Client;
use reqwest::StatusCode;

use support::goproxy::{
    info_json, url_path, CASE_MODULE, CASE_VERSION, GREET_MODULE, GREET_VERSION, SECRET_MODULE,
    SECRET_VERSION,
};
use support::http::{get, request, Conn, Response};
use support::pki::Ca;
use support::{
    assert_closed_unanswered, eventually, free_port, one_pool_config, Gateway, ProxyDir, TempDir,
    Upstream,
};

/// Stored in the config as its sha256 only.
const CI_KEY: &str = "ci-7f3a9c21e4b8";
/// Given to modgate through the environment; a colon and a slash on purpose.
const ALICE_KEY: &str = "alice:k3y/with+odd=chars";
/// The pool's own credential for the corp upstream.
const CORP_TOKEN: &str = "Bearer corp-pool-token-5521";
const WRONG_KEY: &str = "not-a-key-of-ours";

const PRIVATE_REFUSAL: &str =
    "modgate: key \"ci\" may not read route \"private\"; role \"engineer\" can\n";

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The three ways of presenting `key`, as (description, header name, header value).
fn presentations(key: &str) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("basic", "Authorization", basic("any-user-name", key)),
        ("bearer", "Authorization", format!("Bearer {key}")),
        ("x-api-key", "X-API-Key", key.to_string()),
    ]
}

/// Fixture modules (the private one included) behind a corp and a public upstream,
/// a checksum-database upstream, and modgate with keys in front of them.
struct Setup {
    gw: Gateway,
    corp: Upstream,
    public: Upstream,
    sumdb: Upstream,
    _dirs: (ProxyDir, ProxyDir),
}

const GREET_LOOKUP: &str = "/sumdb/sum.golang.org/lookup/example.com/greet@v1.0.0";
const LOOKUP_BODY: &str = "1234\nexample.com/greet v1.0.0 h1:fake=\n";

impl Setup {
    fn start(anonymous: Option<&str>) -> Setup {
        let modules = ProxyDir::new();
        modules.add_fixture_modules();
        let sumdb_dir = ProxyDir::new();
        let lookup = sumdb_dir.path().join("lookup/example.com/greet@v1.0.0");
        std::fs::create_dir_all(lookup.parent().expect("parent")).expect("mkdir");
        std::fs::write(&lookup, LOOKUP_BODY).expect("write lookup");
        let (corp, public, sumdb) = (
            Upstream::start(modules.path()),
            Upstream::start(modules.path()),
            Upstream::start(sumdb_dir.path()),
        );
        let anonymous = anonymous
            .map(|role| format!("  anonymous: {role}\n"))
            .unwrap_or_default();
        let yaml = format!(
            "listeners: [{{address: \"127.0.0.1:{port}\"}}]\n\
             auth:\n{anonymous}  roles:\n    reader: {{routes: [public]}}\n    engineer: {{routes: [public, private], admin: true}}\n  keys:\n    - id: ci\n      sha256: \"{ci}\"\n      roles: [reader]\n    - id: alice\n      secret: \"${{MODGATE_KEY_ALICE}}\"\n      roles: [engineer]\n\
             pools:\n  corp:\n    backends: [{{url: \"{corp}\"}}]\n    headers: {{Authorization: \"{CORP_TOKEN}\"}}\n  public: {{backends: [{{url: \"{public}\"}}]}}\n  sumdb: {{backends: [{{url: \"{sumdb}\"}}]}}\n\
             routes:\n  - {{name: private, modules: [\"*.corp.example.com\"], pools: [corp], private: true}}\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n\
             sumdb:\n  - {{name: sum.golang.org, pool: sumdb}}\n",
            port = free_port(),
            ci = hex::encode(modgate::auth::hash_key(CI_KEY.as_bytes())),
            corp = corp.url(),
            public = public.url(),
            sumdb = sumdb.url(),
        );
        let gw = Gateway::start_with_env(&yaml, &[("MODGATE_KEY_ALICE", ALICE_KEY)]);
        Setup {
            gw,
            corp,
            public,
            sumdb,
            _dirs: (modules, sumdb_dir),
        }
    }

    fn upstream_requests(&self) -> usize {
        self.corp.count() + self.public.count() + self.sumdb.count()
    }

    /// Every request any upstream received carries no client credential, the corp
    /// pool's Authorization is the pool's own, private modules never went to the
    /// public pool, and the forwarding headers name the real peer.
    fn assert_no_client_credentials_upstream(&self) {
        let all = [
            ("corp", &self.corp),
            ("public", &self.public),
            ("sumdb", &self.sumdb),
        ];
        let mut total = 0;
        for (name, upstream) in all {
            for r in upstream.requests() {
                total += 1;
                for (header, value) in &r.headers {
                    for secret in [CI_KEY, ALICE_KEY, WRONG_KEY, "session=s3cr3t"] {
                        assert!(
                            !value.contains(secret),
                            "{name} upstream got a client credential in {header}: {r:?}"
                        );
                    }
                    let encoded = base64::engine::general_purpose::STANDARD;
                    for key in [CI_KEY, ALICE_KEY, WRONG_KEY] {
                        let b64 = encoded.encode(format!("any-user-name:{key}"));
                        assert!(!value.contains(&b64), "{name} upstream got {header}: {r:?}");
                    }
                }
                for header in ["x-api-key", "cookie", "proxy-authorization"] {
                    assert_eq!(
                        r.header(header),
                        None,
                        "{name} upstream got {header}: {r:?}"
                    );
                }
                let authorization: Vec<&str> = r
                    .headers
                    .iter()
                    .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                    .map(|(_, v)| v.as_str())
                    .collect();
                let expected: &[&str] = if name == "corp" { &[CORP_TOKEN] } else { &[] };
                assert_eq!(authorization, expected, "{name} upstream: {r:?}");
                assert_eq!(
                    r.header("x-forwarded-for"),
                    Some("127.0.0.1"),
                    "{name} upstream: {r:?}"
                );
                assert_eq!(
                    r.header("x-forwarded-proto"),
                    Some("http"),
                    "{name} upstream: {r:?}"
                );
            }
        }
        assert!(total > 0, "no request reached any upstream");
        assert_eq!(
            self.public.count_for("corp.example.com"),
            0,
            "{:?}",
            self.public.requests()
        );
        assert_eq!(
            self.sumdb.count_for("corp.example.com"),
            0,
            "{:?}",
            self.sumdb.requests()
        );
    }
}

/// modgate's own log never shows a key, whatever was sent.
fn assert_log_has_no_keys(gw: &Gateway) {
    let log = gw.log();
    for key in [CI_KEY, ALICE_KEY, WRONG_KEY] {
        assert!(!log.contains(key), "the log shows the key {key:?}:\n{log}");
    }
}

fn assert_plain_text(r: &Response, what: &str) {
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{what}: {r:?}"
    );
}

/// 401 with the Basic challenge the go command answers from `.netrc`.
fn assert_unauthorized(r: &Response, what: &str, says: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.text());
    assert_eq!(
        r.header("www-authenticate"),
        Some("Basic realm=\"modgate\""),
        "{what}: {r:?}"
    );
    assert_plain_text(r, what);
    assert!(r.text().contains(says), "{what}: {:?}", r.text());
}

#[test]
fn keys_are_accepted_as_basic_password_bearer_and_x_api_key() {
    let s = Setup::start(None);
    let addr = s.gw.addr;
    let greet = url_path(GREET_MODULE, GREET_VERSION, "info");
    let case = url_path(CASE_MODULE, CASE_VERSION, "info");
    let secret = url_path(SECRET_MODULE, SECRET_VERSION, "info");

    for (how, header, value) in presentations(CI_KEY) {
        for path in [&greet, &case] {
            let r = get(addr, path, &[(header, &value)]);
            assert_eq!(r.status, 200, "ci by {how} {path}: {}", r.text());
        }
        let r = get(addr, GREET_LOOKUP, &[(header, &value)]);
        assert_eq!(r.status, 200, "ci by {how}, lookup: {}", r.text());
        assert_eq!(r.text(), LOOKUP_BODY);
    }
    for (how, header, value) in presentations(ALICE_KEY) {
        let r = get(addr, &greet, &[(header, &value)]);
        assert_eq!(r.status, 200, "alice by {how}: {}", r.text());
        let r = get(addr, &secret, &[(header, &value)]);
        assert_eq!(r.status, 200, "alice by {how}, private: {}", r.text());
        assert_eq!(r.text(), info_json(SECRET_VERSION));
    }
    // The login may also be the key id.
    let r = get(
        addr,
        &secret,
        &[("Authorization", &basic("alice", ALICE_KEY))],
    );
    assert_eq!(r.status, 200, "{}", r.text());

    assert_eq!(s.corp.count_for(SECRET_MODULE), 4);
    assert_eq!(s.sumdb.count_for("/lookup/"), 3);
    s.assert_no_client_credentials_upstream();
    assert_log_has_no_keys(&s.gw);
}

#[test]
fn missing_unknown_and_insufficient_keys_are_refused_and_never_404() {
    let s = Setup::start(None);
    let addr = s.gw.addr;
    let greet = url_path(GREET_MODULE, GREET_VERSION, "info");
    let secret = url_path(SECRET_MODULE, SECRET_VERSION, "info");

    for path in [greet.as_str(), secret.as_str(), GREET_LOOKUP] {
        let r = get(addr, path, &[]);
        assert_unauthorized(&r, &format!("no key, {path}"), "needs a key");
        assert!(r.text().contains(".netrc"), "{}", r.text());
    }
    for (how, header, value) in presentations(WRONG_KEY) {
        for path in [greet.as_str(), secret.as_str(), GREET_LOOKUP] {
            let r = get(addr, path, &[(header, &value)]);
            assert_unauthorized(&r, &format!("unknown key by {how}, {path}"), "not valid");
        }
    }
    // Credentials that cannot be read are refused like unknown keys.
    for (header, value) in [
        ("Authorization", "Basic !!!not-base64"),
        ("Authorization", "Digest username=\"ci\""),
        ("Authorization", "Bearer"),
        ("Authorization", basic("ci", "").as_str()),
        ("X-API-Key", ""),
    ] {
        let r = get(addr, &greet, &[(header, value)]);
        assert_unauthorized(&r, &format!("{header}: {value:?}"), "not valid");
    }
    // A key's hash is not a key.
    let digest = hex::encode(modgate::auth::hash_key(CI_KEY.as_bytes()));
    let r = get(addr, &greet, &[("X-API-Key", &digest)]);
    assert_unauthorized(&r, "the stored digest as key", "not valid");

    // A valid key without the route: 403 that says who, what, and which role would do.
    for (how, header, value) in presentations(CI_KEY) {
        for ext in ["info", "mod", "zip"] {
            let r = get(
                addr,
                &url_path(SECRET_MODULE, SECRET_VERSION, ext),
                &[(header, &value)],
            );
            assert_eq!(r.status, 403, "ci by {how}, {ext}: {}", r.text());
            assert_plain_text(&r, "403");
            assert_eq!(r.header("www-authenticate"), None, "{r:?}");
            assert_eq!(r.text(), PRIVATE_REFUSAL);
        }
        let r = get(
            addr,
            &format!("/{SECRET_MODULE}/@v/list"),
            &[(header, &value)],
        );
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.text(), PRIVATE_REFUSAL);
    }
    assert_eq!(
        s.upstream_requests(),
        0,
        "refused requests reached an upstream: corp {:?} public {:?} sumdb {:?}",
        s.corp.requests(),
        s.public.requests(),
        s.sumdb.requests()
    );
    assert_log_has_no_keys(&s.gw);
}

#[test]
fn no_client_credential_reaches_any_upstream() {
    let s = Setup::start(None);
    let addr = s.gw.addr;
    let alice_bearer = format!("Bearer {ALICE_KEY}");
    let ci_basic = basic("any-user-name", CI_KEY);
    let extras: [(&str, &str); 2] = [
        ("Cookie", "session=s3cr3t"),
        ("Proxy-Authorization", "Basic session=s3cr3t"),
    ];
    let paths = [
        url_path(GREET_MODULE, GREET_VERSION, "info"),
        url_path(GREET_MODULE, GREET_VERSION, "mod"),
        url_path(CASE_MODULE, CASE_VERSION, "zip"),
        format!("/{GREET_MODULE}/@v/list"),
        format!("/{GREET_MODULE}/@latest"),
        GREET_LOOKUP.to_string(),
        url_path(SECRET_MODULE, SECRET_VERSION, "info"),
        url_path(SECRET_MODULE, SECRET_VERSION, "zip"),
        format!("/{SECRET_MODULE}/@v/list"),
    ];
    for path in &paths {
        for (_, header, value) in presentations(ALICE_KEY) {
            let mut headers = vec![(header, value.as_str())];
            headers.extend(extras);
            let r = get(addr, path, &headers);
            assert_eq!(r.status, 200, "{path} {header}: {}", r.text());
        }
        // Two credential headers at once; both must be dropped.
        let r = get(
            addr,
            path,
            &[
                ("X-API-Key", ALICE_KEY),
                ("Authorization", &ci_basic),
                ("Authorization", &alice_bearer),
                ("X-API-Key", WRONG_KEY),
            ],
        );
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        // HEAD is forwarded too.
        let r = request(addr, "HEAD", path, &[("Authorization", &alice_bearer)]);
        assert_eq!(r.status, 200, "HEAD {path}");
    }
    // A client cannot put its own X-Forwarded-For in front of an upstream either.
    let r = get(
        addr,
        &paths[0],
        &[
            ("Authorization", &alice_bearer),
            ("X-Forwarded-For", "192.0.2.7"),
            ("X-Forwarded-Proto", "https"),
        ],
    );
    assert_eq!(r.status, 200);
    // Keep-alive: a second request on the same connection is stripped as well.
    let mut conn = Conn::connect(addr);
    for path in &paths[..2] {
        let r = conn.get(path, &[("X-API-Key", ALICE_KEY), extras[0]]);
        assert_eq!(r.status, 200, "{path}");
    }
    assert_eq!(s.corp.count_for(SECRET_MODULE), 3 * 5);
    s.assert_no_client_credentials_upstream();
    assert_log_has_no_keys(&s.gw);
}

#[test]
fn a_refused_request_with_a_body_ends_its_connection() {
    let setup = Setup::start(None);
    let mut conn = Conn::connect(setup.gw.addr);
    conn.send_raw(
        b"POST /example.com/greet/@v/list HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    )
    .expect("send");
    let answer = conn.read_response(false).expect("an answer");
    assert_eq!(answer.status, 405, "{}", answer.text());
    // The body is not read as the next request's head: the connection ends instead.
    assert!(
        !conn.is_open(),
        "the connection was kept after a refused body"
    );
    assert_eq!(setup.upstream_requests(), 0);
}

#[test]
fn admin_endpoints_on_a_listener_need_a_key_with_an_admin_role() {
    let setup = Setup::start(None);
    let addr = setup.gw.addr;
    let without = get(addr, "/metrics", &[]);
    assert_eq!(without.status, 401, "{}", without.text());
    let reader = get(addr, "/metrics", &[("X-API-Key", CI_KEY)]);
    assert_eq!(reader.status, 403);
    assert_eq!(
        reader.text(),
        "modgate: key \"ci\" may not read the admin endpoints; a role with admin: true can\n"
    );
    let metrics = get(addr, "/metrics", &[("X-API-Key", ALICE_KEY)]);
    assert_eq!(metrics.status, 200, "{}", metrics.text());
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        metrics.header("content-type")
    );
    // The refusal above is counted when its request is logged, just after its answer.
    eventually("the reader's refusal in /metrics", || {
        get(addr, "/metrics", &[("X-API-Key", ALICE_KEY)])
            .text()
            .contains("modgate_denied_total{reason=\"forbidden\"} 1")
    });
    let health = get(
        addr,
        "/healthz",
        &[("Authorization", &format!("Bearer {ALICE_KEY}"))],
    );
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    let ready = get(addr, "/readyz", &[("X-API-Key", ALICE_KEY)]);
    assert_eq!((ready.status, ready.text().as_str()), (200, "ready\n"));
    // Other non-module paths are still not found, whoever asks.
    assert_eq!(
        get(addr, "/status", &[("X-API-Key", ALICE_KEY)]).status,
        404
    );
    assert_eq!(setup.upstream_requests(), 0);
}

#[test]
fn an_anonymous_admin_role_opens_the_admin_endpoints_but_a_wrong_key_is_refused() {
    let s = Setup::start(Some("engineer"));
    let addr = s.gw.addr;
    let metrics = get(addr, "/metrics", &[]);
    assert_eq!(metrics.status, 200, "{}", metrics.text());
    assert!(
        metrics.text().contains("modgate_build_info"),
        "{}",
        metrics.text()
    );
    let health = get(addr, "/healthz", &[]);
    assert_eq!((health.status, health.text().as_str()), (200, "ok\n"));
    let ready = get(addr, "/readyz", &[]);
    assert_eq!((ready.status, ready.text().as_str()), (200, "ready\n"));

    for (how, header, value) in presentations(WRONG_KEY) {
        let r = get(addr, "/metrics", &[(header, &value)]);
        assert_unauthorized(&r, &format!("wrong key by {how} on /metrics"), "not valid");
    }
    // A key brings its own roles, not the anonymous one.
    let reader = get(addr, "/metrics", &[("X-API-Key", CI_KEY)]);
    assert_eq!(reader.status, 403, "{}", reader.text());
    assert_eq!(s.upstream_requests(), 0);
}

#[test]
fn the_anonymous_role_reads_without_a_key_but_a_wrong_key_is_still_refused() {
    let s = Setup::start(Some("reader"));
    let addr = s.gw.addr;
    let greet = url_path(GREET_MODULE, GREET_VERSION, "info");
    let secret = url_path(SECRET_MODULE, SECRET_VERSION, "info");

    let r = get(addr, &greet, &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), info_json(GREET_VERSION));
    let r = get(addr, GREET_LOOKUP, &[]);
    assert_eq!(r.status, 200, "{}", r.text());

    let r = get(addr, &secret, &[]);
    assert_eq!(r.status, 403, "{}", r.text());
    assert_plain_text(&r, "anonymous, private");
    assert_eq!(
        r.text(),
        "modgate: requests without a key may not read route \"private\"; role \"engineer\" can\n"
    );

    for (how, header, value) in presentations(WRONG_KEY) {
        let r = get(addr, &greet, &[(header, &value)]);
        assert_unauthorized(&r, &format!("wrong key by {how}"), "not valid");
    }
    let r = get(addr, &greet, &[("Authorization", "Basic !!!")]);
    assert_unauthorized(&r, "malformed Basic", "not valid");

    // Keys still count: the engineer key reads the private route.
    let r = get(addr, &secret, &[("X-API-Key", ALICE_KEY)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.corp.count(), 1);
    s.assert_no_client_credentials_upstream();
}

#[test]
fn head_and_get_refusals_agree_and_keep_the_connection() {
    let s = Setup::start(None);
    let addr = s.gw.addr;
    let greet = url_path(GREET_MODULE, GREET_VERSION, "info");
    let secret = url_path(SECRET_MODULE, SECRET_VERSION, "info");
    let ci = format!("Bearer {CI_KEY}");
    let wrong = format!("Bearer {WRONG_KEY}");
    let cases: [(&str, &str, Option<&str>, u16); 5] = [
        ("no key", greet.as_str(), None, 401),
        ("unknown key", greet.as_str(), Some(wrong.as_str()), 401),
        (
            "role without the route",
            secret.as_str(),
            Some(ci.as_str()),
            403,
        ),
        (
            "private module in the checksum database",
            "/sumdb/sum.golang.org/lookup/git.corp.example.com/team/secret@v0.1.0",
            Some(ci.as_str()),
            403,
        ),
        (
            "malformed module path",
            "/Example.com/x/@v/list",
            Some(ci.as_str()),
            400,
        ),
    ];
    let mut conn = Conn::connect(addr);
    for (what, path, auth, status) in cases {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let got = conn.request("GET", path, &headers);
        let head = conn.request("HEAD", path, &headers);
        assert_eq!(got.status, status, "GET, {what}: {}", got.text());
        assert_eq!(head.status, status, "HEAD, {what}");
        assert!(head.body.is_empty(), "HEAD, {what}: {head:?}");
        assert!(!got.body.is_empty(), "GET, {what}: {got:?}");
        assert_plain_text(&got, what);
        assert_plain_text(&head, what);
        assert_eq!(
            head.header("content-length"),
            got.header("content-length"),
            "{what}: HEAD {head:?} GET {got:?}"
        );
        assert_eq!(
            head.header("www-authenticate"),
            got.header("www-authenticate"),
            "{what}"
        );
        assert!(conn.is_open(), "the connection was closed after {what}");
    }
    // The same connection then serves an accepted request.
    let r = conn.get(&greet, &[("Authorization", ci.as_str())]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(s.public.count(), 1);
    assert_eq!(s.corp.count() + s.sumdb.count(), 0);
}

// ---------------------------------------------------------------------------
// Address rules.

const LOOPBACK_1: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const LOOPBACK_2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const LOOPBACK_3: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

/// Connects from `from` (bound with python3, as std cannot bind before connecting),
/// sends one HTTP request with `headers` and reads until the server closes.
/// Returns how the connection ended (`EOF`, `RESET`, `CONNECT-FAILED`, `TIMEOUT`)
/// and every byte the server sent.
fn raw_exchange_from(
    from: IpAddr,
    to: SocketAddr,
    path: &str,
    headers: &[&str],
) -> (String, String) {
    const SCRIPT: &str = r#"
import socket, sys
src, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
extra = "".join(h + "\r\n" for h in sys.argv[4:])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(10)
s.bind((src, 0))
try:
    s.connect(("127.0.0.1", port))
except OSError as e:
    print("CONNECT-FAILED")
    sys.exit(0)
data = b""
outcome = "EOF"
try:
    s.sendall(("GET %s HTTP/1.1\r\nHost: modgate\r\n%sConnection: close\r\n\r\n" % (path, extra)).encode())
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    outcome = "TIMEOUT"
except (ConnectionResetError, BrokenPipeError):
    outcome = "RESET"
print(outcome)
sys.stdout.write(data.decode("latin-1"))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(from.to_string())
        .arg(to.port().to_string())
        .arg(path)
        .args(headers)
        .output()
        .expect("run python3 (needed to connect from another loopback address)");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (outcome, data) = text.split_once('\n').unwrap_or((&text, ""));
    (outcome.to_string(), data.to_string())
}

/// A reqwest client whose connections come from `from`.
fn client_from(from: IpAddr) -> Client {
    Client::builder()
        .local_address(from)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn access_gateway(upstream: &Upstream, extra: &str) -> Gateway {
    Gateway::start(&one_pool_config(
        &format!("{extra}access:\n  default: deny\n  rules:\n    - allow: [\"127.0.0.1/32\"]\n"),
        &upstream.url(),
    ))
}

fn fixture_upstream() -> (ProxyDir, Upstream) {
    let dir = ProxyDir::new();
    dir.add_fixture_modules();
    let upstream = Upstream::start(dir.path());
    (dir, upstream)
}

#[test]
fn a_denied_address_is_closed_before_any_answer() {
    let (_dir, upstream) = fixture_upstream();
    let gw = access_gateway(&upstream, "");
    let greet = url_path(GREET_MODULE, GREET_VERSION, "info");

    let (outcome, data) = raw_exchange_from(LOOPBACK_2, gw.addr, &greet, &[]);
    assert!(
        matches!(outcome.as_str(), "EOF" | "RESET"),
        "from 127.0.0.2: {outcome} {data:?}"
    );
    assert_eq!(data, "", "127.0.0.2 got an HTTP answer");

    // The same exchange from an allowed address is answered: the probe works.
    let (outcome, data) = raw_exchange_from(LOOPBACK_1, gw.addr, &greet, &[]);
    assert_eq!(outcome, "EOF", "{data}");
    assert!(data.starts_with("HTTP/1.1 200"), "{data}");
    assert!(data.ends_with(&info_json(GREET_VERSION)), "{data}");

    let r = client_from(LOOPBACK_2)
        .get(format!("{}{greet}", gw.url()))
        .send();
    assert_closed_unanswered(&r, "127.0.0.2");
    let r = client_from(LOOPBACK_1)
        .get(format!("{}{greet}", gw.url()))
        .send()
        .expect("127.0.0.1 is allowed");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(upstream.count(), 2, "{:?}", upstream.requests());
}

#[test]
fn a_denied_address_gets_no_tls_handshake() {
    let (_dir, upstream) = fixture_upstream();
    let certs = TempDir::new("modgate-sec-tls");
    let ca = Ca::new("modgate test CA");
    let (cert, key) = ca.server(&["a.test"]).write(certs.path(), "server");
    let port = free_port();
    let gw = Gateway::start(&format!(
        "listeners:\n  - address: \"127.0.0.1:{port}\"\n    tls:\n      certificates: [{{cert: {cert:?}, key: {key:?}}}]\naccess:\n  default: deny\n  rules:\n    - allow: [\"127.0.0.1/32\"]\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
        upstream.url()
    ));
    let url = format!(
        "https://a.test:{port}{}",
        url_path(GREET_MODULE, GREET_VERSION, "info")
    );
    let client = |from: IpAddr| {
        Client::builder()
            .local_address(from)
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::tls::Certificate::from_der(&ca.der()).expect("CA certificate"),
            )
            .resolve("a.test", gw.addr)
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    };
    let denied = client(LOOPBACK_2).get(&url).send();
    assert_closed_unanswered(&denied, "127.0.0.2");
    let allowed = client(LOOPBACK_1).get(&url).send().expect("127.0.0.1");
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(upstream.count(), 1);
}

#[test]
fn a_trusted_proxy_speaks_for_its_clients() {
    let (_dir, upstream) = fixture_upstream();
    let gw = access_gateway(
        &upstream,
        "client_ip:\n  trusted_proxies: [\"127.0.0.3/32\"]\n",
    );
    let greet = url_path(GREET_MODULE, GREET_VERSION, "info");
    let url = format!("{}{greet}", gw.url());
    let proxy = client_from(LOOPBACK_3);

    // Forwarding for a denied client: 403 for that client, judged by the header.
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        let r = proxy
            .request(method.clone(), &url)
            .header("X-Forwarded-For", "192.0.2.7")
            .send()
            .expect("the trusted proxy may connect");
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method}");
        assert_eq!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/plain; charset=utf-8")
        );
        let body = r.text().expect("body");
        if method == reqwest::Method::GET {
            assert_eq!(
                body,
                "modgate: address 192.0.2.7 is not allowed to use this proxy\n"
            );
        } else {
            assert_eq!(body, "");
        }
    }
    // The right-most address the proxy did not add itself is the client; entries
    // further left were written by the client and prove nothing.
    let r = proxy
        .get(&url)
        .header("X-Forwarded-For", "127.0.0.1, 192.0.2.7")
        .send()
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Forwarding for an allowed client.
    let r = proxy
        .get(&url)
        .header("X-Forwarded-For", "127.0.0.1")
        .send()
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().expect("body"), info_json(GREET_VERSION));
    // Without the header, the proxy is judged as itself: it is not in the rules.
    let r = proxy.get(&url).send().expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text().expect("body").contains("127.0.0.3 is not allowed"),
        "the refusal names the proxy's address"
    );

    let forwarded = upstream.requests();
    assert_eq!(forwarded.len(), 1, "{forwarded:?}");
    assert_eq!(
        forwarded[0].header("x-forwarded-for"),
        Some("127.0.0.1, 127.0.0.3"),
        "{forwarded:?}"
    );
}

#[test]
fn an_untrusted_peer_cannot_choose_its_address() {
    let (_dir, upstream) = fixture_upstream();
    let gw = access_gateway(
        &upstream,
        "client_ip:\n  trusted_proxies: [\"127.0.0.3/32\"]\n",
    );
    let greet = url_path(GREET_MODULE, GREET_VERSION, "info");
    let url = format!("{}{greet}", gw.url());

    // An allowed peer claiming a denied address is judged by its own address.
    let r = client_from(LOOPBACK_1)
        .get(&url)
        .header("X-Forwarded-For", "192.0.2.7")
        .send()
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let forwarded = upstream.requests();
    assert_eq!(forwarded.len(), 1, "{forwarded:?}");
    assert_eq!(
        forwarded[0].header("x-forwarded-for"),
        Some("127.0.0.1"),
        "the client's own X-Forwarded-For went upstream: {forwarded:?}"
    );

    // A denied peer claiming an allowed (or the trusted proxy's) address gets nothing.
    for claim in ["127.0.0.1", "127.0.0.3", "127.0.0.3, 127.0.0.1"] {
        let header = format!("X-Forwarded-For: {claim}");
        let (outcome, data) = raw_exchange_from(LOOPBACK_2, gw.addr, &greet, &[&header]);
        assert!(
            matches!(outcome.as_str(), "EOF" | "RESET"),
            "{claim}: {outcome} {data:?}"
        );
        assert_eq!(data, "", "127.0.0.2 claiming {claim} got an answer");
        let r = client_from(LOOPBACK_2)
            .get(&url)
            .header("X-Forwarded-For", claim)
            .send();
        assert_closed_unanswered(&r, &format!("127.0.0.2 claiming {claim}"));
    }
    assert_eq!(upstream.count(), 1, "{:?}", upstream.requests());
}

/// modgate listening on `[::]` (IPv4 clients arrive as `::ffff:a.b.c.d`), allowing
/// 127.0.0.1 only and trusting the proxy at 127.0.0.3. Returns the gateway and its port.
fn dual_stack_gateway(upstream: &Upstream) -> (Gateway, u16) {
    // Precondition, checked with std first so a machine without dual-stack
    // sockets says so instead of failing inside modgate.
    let probe = std::net::TcpListener::bind("[::]:0")
        .expect("this test needs IPv6 sockets: cannot bind [::]:0");
    let probe_port = probe.local_addr().expect("local_addr").port();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", probe_port)).is_ok(),
        "this test needs dual-stack sockets (net.ipv6.bindv6only = 0)"
    );
    drop(probe);
    let port = free_port();
    let gw = Gateway::start(&format!(
        "listeners:\n  - address: \"[::]:{port}\"\nclient_ip:\n  trusted_proxies: [\"127.0.0.3/32\"]\naccess:\n  default: deny\n  rules:\n    - allow: [\"127.0.0.1/32\"]\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
        upstream.url()
    ));
    (gw, port)
}

#[test]
fn a_dual_stack_listener_judges_ipv4_clients_by_the_ipv4_rules() {
    let (_dir, upstream) = fixture_upstream();
    let (_gw, port) = dual_stack_gateway(&upstream);
    let url = format!(
        "http://127.0.0.1:{port}{}",
        url_path(GREET_MODULE, GREET_VERSION, "info")
    );
    let to: SocketAddr = ([127, 0, 0, 1], port).into();

    let r = client_from(LOOPBACK_1).get(&url).send().expect("127.0.0.1");
    assert_eq!(r.status(), StatusCode::OK);
    let (outcome, data) = raw_exchange_from(
        LOOPBACK_2,
        to,
        &url_path(GREET_MODULE, GREET_VERSION, "info"),
        &[],
    );
    assert!(
        matches!(outcome.as_str(), "EOF" | "RESET"),
        "{outcome} {data:?}"
    );
    assert_eq!(data, "", "127.0.0.2 got an answer");
    // The trusted proxy is recognised although it arrives as ::ffff:127.0.0.3.
    let proxy = client_from(LOOPBACK_3);
    let r = proxy
        .get(&url)
        .header("X-Forwarded-For", "127.0.0.1")
        .send()
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let r = proxy
        .get(&url)
        .header("X-Forwarded-For", "192.0.2.7")
        .send()
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(upstream.count(), 2);
}

/// The address rules treat `::ffff:127.0.0.1` as 127.0.0.1 ("as the operator wrote
/// them"); what modgate tells upstreams and refused clients should agree.
#[test]
fn a_dual_stack_listener_reports_ipv4_clients_in_ipv4_form() {
    let (_dir, upstream) = fixture_upstream();
    let (_gw, port) = dual_stack_gateway(&upstream);
    let url = format!(
        "http://127.0.0.1:{port}{}",
        url_path(GREET_MODULE, GREET_VERSION, "info")
    );
    let r = client_from(LOOPBACK_1).get(&url).send().expect("127.0.0.1");
    assert_eq!(r.status(), StatusCode::OK);
    let r = client_from(LOOPBACK_3)
        .get(&url)
        .header("X-Forwarded-For", "127.0.0.1")
        .send()
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let forwarded: Vec<Option<String>> = upstream
        .requests()
        .iter()
        .map(|r| r.header("x-forwarded-for").map(str::to_string))
        .collect();
    assert_eq!(
        forwarded,
        [
            Some("127.0.0.1".to_string()),
            Some("127.0.0.1, 127.0.0.3".to_string())
        ]
    );
    // The trusted proxy without a header is refused under its IPv4 address.
    let r = client_from(LOOPBACK_3).get(&url).send().expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        r.text().expect("body"),
        "modgate: address 127.0.0.3 is not allowed to use this proxy\n"
    );
}
