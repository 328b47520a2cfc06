//! One test per configuration error: each names the place and what to change.

use crate::config::compile_text;
use crate::pool::registry::StateRegistry;
use crate::snapshot::Snapshot;
use std::path::Path;

const BASE: &str = r#"
listeners:
  - address: "127.0.0.1:8080"
pools:
  public:
    backends:
      - url: http://127.0.0.1:3000
  corp:
    backends:
      - url: http://127.0.0.1:3001
routes:
  - name: private
    modules: ["*.corp.example.com"]
    pools: [corp]
    private: true
  - name: public
    modules: ["*"]
    pools: [public]
"#;

fn env(name: &str) -> Option<String> {
    (name == "SET").then(|| "value".to_string())
}

fn compile(text: &str) -> Result<Snapshot, Vec<String>> {
    compile_text(
        Path::new("/etc/modgate/modgate.yaml"),
        text,
        &env,
        &StateRegistry::default(),
    )
    .map_err(|errors| errors.0.iter().map(ToString::to_string).collect())
}

/// Compiles `text`, expects exactly one error, and checks its line and message.
fn one_error(text: &str, line: usize, needle: &str) {
    let errors = compile(text).expect_err("should not compile");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = &errors[0];
    let prefix = format!("/etc/modgate/modgate.yaml:{line}:");
    assert!(
        error.starts_with(&prefix),
        "{error} should start with {prefix}"
    );
    assert!(error.contains(needle), "{error} should contain {needle:?}");
}

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

#[test]
fn the_base_compiles() {
    let snapshot = compile(BASE).expect("base");
    assert_eq!(snapshot.pools.len(), 2);
    assert_eq!(snapshot.routes.len(), 2);
    assert!(snapshot.keyring.is_open());
}

#[test]
fn unknown_field() {
    one_error(
        &BASE.replace("    private: true", "    privat: true"),
        15,
        "unknown field `privat`",
    );
}

#[test]
fn an_unknown_key_with_a_line_break_stays_on_one_line() {
    let errors = compile(&format!("{{a\n\nb: 1}}\n{BASE}")).expect_err("unknown key");
    for error in &errors {
        assert!(!error.contains('\n'), "{error:?}");
    }
    assert!(errors[0].contains("unknown field `a\\nb`"), "{errors:?}");
}

#[test]
fn yaml_syntax() {
    one_error(&with("sumdb: [\n"), 20, "");
}

#[test]
fn missing_environment_variable() {
    let text = BASE.replace(
        "      - url: http://127.0.0.1:3001",
        "      - url: http://127.0.0.1:3001\n    headers:\n      Authorization: \"Bearer ${NOPE}\"",
    );
    one_error(&text, 12, "environment variable NOPE is not set");
}

#[test]
fn environment_variables_are_expanded() {
    let text = BASE.replace(
        "      - url: http://127.0.0.1:3001",
        "      - url: http://127.0.0.1:3001\n    headers:\n      X-Token: \"t-${SET}\"",
    );
    let snapshot = compile(&text).expect("compiles");
    let corp = snapshot
        .pools
        .iter()
        .find(|p| p.name == "corp")
        .expect("corp");
    assert_eq!(corp.headers[0].1, "t-value");
}

#[test]
fn bad_duration() {
    one_error(
        &BASE.replace("  public:\n", "  public:\n    connect_timeout: 2\n"),
        6,
        "invalid duration \"2\"",
    );
}

#[test]
fn zero_header_timeout() {
    one_error(
        &format!("server:\n  header_timeout: 0s{BASE}"),
        2,
        "server.header_timeout must be longer than 0",
    );
}

#[test]
fn zero_keepalive_timeout() {
    // Pingora takes a keep-alive of 0 seconds to mean forever.
    one_error(
        &format!("server:\n  keepalive_timeout: 0s{BASE}"),
        2,
        "server.keepalive_timeout must be longer than 0, e.g. 60s",
    );
}

#[test]
fn zero_health_interval() {
    one_error(
        &BASE.replace(
            "  public:\n",
            "  public:\n    health_check:\n      path: /x\n      interval: 0ms\n",
        ),
        8,
        "pools.public.health_check.interval must be longer than 0, e.g. 10s",
    );
}

#[test]
fn zero_upstream_timeouts() {
    for (setting, path, default) in [
        ("connect_timeout: 0s", "connect_timeout", "2s"),
        ("read_timeout: 0s", "read_timeout", "60s"),
        (
            "health_check: {path: /x, timeout: 0s}",
            "health_check.timeout",
            "2s",
        ),
    ] {
        one_error(
            &BASE.replace("  public:\n", &format!("  public:\n    {setting}\n")),
            6,
            &format!("pools.public.{path} must be longer than 0, e.g. {default}"),
        );
    }
}

#[test]
fn client_limits_have_safe_defaults() {
    let limits = compile(BASE).expect("base").server.limits;
    assert_eq!(limits.header_timeout, std::time::Duration::from_secs(10));
    assert_eq!(limits.keepalive_timeout, std::time::Duration::from_secs(60));
    assert_eq!(limits.send_timeout, std::time::Duration::from_secs(60));
}

#[test]
fn zero_send_timeout() {
    one_error(
        &format!("server:\n  send_timeout: 0s{BASE}"),
        2,
        "server.send_timeout must be longer than 0",
    );
}

#[test]
fn route_names_unknown_pool() {
    one_error(
        &BASE.replace("pools: [public]", "pools: [public, nowhere]"),
        18,
        "unknown pool \"nowhere\"",
    );
}

#[test]
fn duplicate_route_names() {
    one_error(
        &BASE.replace("name: public", "name: private"),
        16,
        "route name \"private\" is used twice",
    );
}

#[test]
fn bad_module_pattern() {
    one_error(
        &BASE.replace("[\"*.corp.example.com\"]", "[\"[corp\"]"),
        13,
        "GOPRIVATE pattern syntax",
    );
}

#[test]
fn no_listener() {
    one_error(
        &BASE
            .replace("  - address: \"127.0.0.1:8080\"", "  []")
            .replace("listeners:\n  []", "listeners: []"),
        2,
        "no listener",
    );
}

#[test]
fn bad_listener_address() {
    one_error(
        &BASE.replace("127.0.0.1:8080", "localhost"),
        3,
        "write IP:PORT",
    );
}

#[test]
fn admin_shares_a_listener_port() {
    one_error(
        &with("admin:\n  address: \"127.0.0.1:8080\"\n"),
        20,
        "give it a port of its own",
    );
}

#[test]
fn backend_scheme() {
    one_error(
        &BASE.replace("http://127.0.0.1:3000", "ftp://127.0.0.1:3000"),
        7,
        "scheme must be http or https",
    );
}

#[test]
fn backend_credentials_in_url() {
    one_error(
        &BASE.replace("http://127.0.0.1:3000", "http://u:p@127.0.0.1:3000"),
        7,
        "credentials do not belong in the URL",
    );
}

#[test]
fn zero_weight() {
    one_error(
        &BASE.replace(
            "      - url: http://127.0.0.1:3000",
            "      - url: http://127.0.0.1:3000\n        weight: 0",
        ),
        8,
        "weight must be between 1 and 1000",
    );
}

#[test]
fn empty_pool() {
    one_error(
        &BASE.replace(
            "    backends:\n      - url: http://127.0.0.1:3000",
            "    backends: []",
        ),
        6,
        "has no backends",
    );
}

#[test]
fn health_check_needs_a_path() {
    one_error(
        &BASE.replace(
            "  public:\n",
            "  public:\n    health_check:\n      interval: 1s\n",
        ),
        7,
        "health_check needs a path",
    );
}

#[test]
fn health_check_path_must_be_a_request_path() {
    one_error(
        &BASE.replace(
            "  public:\n",
            "  public:\n    health_check:\n      path: \"/golang.org/x/text/@v/ list\"\n",
        ),
        7,
        "is not a valid request path",
    );
}

#[test]
fn bad_cidr() {
    one_error(
        &with("access:\n  default: deny\n  rules:\n    - allow: [\"10.0.0.0/33\"]\n"),
        22,
        "invalid CIDR \"10.0.0.0/33\"",
    );
}

#[test]
fn access_rule_with_both() {
    one_error(&with("access:\n  default: deny\n  rules:\n    - allow: [\"10.0.0.0/8\"]\n      deny: [\"10.0.0.0/8\"]\n"), 22, "exactly one of allow or deny");
}

#[test]
fn access_default() {
    one_error(
        &with("access:\n  default: maybe\n"),
        20,
        "use allow or deny",
    );
}

#[test]
fn trusted_proxy_cidr() {
    one_error(
        &with("client_ip:\n  trusted_proxies: [\"nope\"]\n"),
        20,
        "invalid CIDR \"nope\"",
    );
}

#[test]
fn role_names_unknown_route() {
    one_error(
        &with("auth:\n  roles:\n    reader: {routes: [publik]}\n"),
        21,
        "unknown route \"publik\"",
    );
}

#[test]
fn key_names_unknown_role() {
    one_error(&with("auth:\n  roles:\n    reader: {routes: [public]}\n  keys:\n    - id: ci\n      secret: ${SET}\n      roles: [writer]\n"), 25, "unknown role \"writer\"");
}

#[test]
fn key_sha256_is_hex() {
    one_error(&with("auth:\n  roles:\n    reader: {routes: [public]}\n  keys:\n    - id: ci\n      sha256: abc\n      roles: [reader]\n"), 24, "64 hex digits");
}

#[test]
fn key_needs_one_secret() {
    one_error(&with("auth:\n  roles:\n    reader: {routes: [public]}\n  keys:\n    - id: ci\n      roles: [reader]\n"), 23, "exactly one of sha256");
}

#[test]
fn duplicate_key_ids() {
    let keys = "auth:\n  roles:\n    reader: {routes: [public]}\n  keys:\n    - {id: ci, sha256: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae, roles: [reader]}\n    - {id: ci, secret: other, roles: [reader]}\n";
    one_error(&with(keys), 24, "key id \"ci\" is used twice");
}

#[test]
fn unknown_anonymous_role() {
    one_error(
        &with("auth:\n  anonymous: guest\n"),
        20,
        "anonymous role \"guest\" is not defined",
    );
}

#[test]
fn sumdb_unknown_pool() {
    one_error(
        &with("sumdb:\n  - name: sum.golang.org\n    pool: sumdb\n"),
        21,
        "unknown pool \"sumdb\"",
    );
}

#[test]
fn tls_certificate_missing() {
    one_error(&BASE.replace("  - address: \"127.0.0.1:8080\"", "  - address: \"127.0.0.1:8443\"\n    tls:\n      certificates:\n        - {cert: missing.crt, key: missing.key}"), 6, "cannot read /etc/modgate/missing.crt");
}

#[test]
fn pool_ca_missing() {
    one_error(
        &BASE.replace("  public:\n", "  public:\n    tls: {ca: nowhere.pem}\n"),
        6,
        "cannot read CA file /etc/modgate/nowhere.pem",
    );
}

#[test]
fn bad_log_level() {
    one_error(&with("log:\n  level: loud\n"), 20, "use error, warn, info");
}

#[test]
fn several_errors_are_all_reported() {
    let text = BASE
        .replace("pools: [corp]", "pools: [nope]")
        .replace("http://127.0.0.1:3000", "ftp://x");
    assert_eq!(compile(&text).expect_err("errors").len(), 2);
}

#[test]
fn a_route_that_could_try_more_than_pingora_allows_is_refused() {
    let text = "listeners: [{address: \"127.0.0.1:1\"}]\npools:\n  a: {backends: [{url: \"http://127.0.0.1:2\"}], retries: 200}\n  b: {backends: [{url: \"http://127.0.0.1:3\"}], retries: 100}\nroutes:\n  - {name: r, modules: [\"*\"], pools: [a, b]}\n";
    one_error(text, 6, "may try its pools 302 times");
    let fits = text.replace("retries: 100", "retries: 54");
    assert!(compile(&fits).is_ok());
}
