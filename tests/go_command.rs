//! End to end with the real go command: GOPROXY=http://<modgate>.

mod support;

use std::process::Command;

use support::goproxy::{
    consumer_output, write_fixture_consumer, CASE_MODULE, CASE_MODULE_ESCAPED, CASE_VERSION,
    GREET_MODULE, GREET_VERSION,
};
use support::{free_port, Gateway, GoEnv, ProxyDir, Upstream};

/// modgate (plain HTTP) with one pool on `upstream` and one route for `modules`.
fn gateway(upstream: &Upstream, modules: &str) -> Gateway {
    Gateway::start(&format!(
        "listeners: [{{address: \"127.0.0.1:{}\"}}]\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [{modules}], pools: [public]}}\n",
        free_port(),
        upstream.url()
    ))
}

/// The go command pointed at modgate only (no `direct`, no checksum database).
fn go_env(gw: &Gateway) -> GoEnv {
    let mut go = GoEnv::new(&gw.url());
    go.set("GOINSECURE", "*")
        .set("GOFLAGS", "-mod=mod")
        .set("GONOSUMDB", "*")
        .set("GOSUMDB", "off");
    go
}

#[test]
fn go_build_through_modgate_fetches_and_builds_the_modules() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let gw = gateway(&upstream, "\"*\"");
    let go = go_env(&gw);
    let consumer = go.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);

    go.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let run = Command::new(consumer.join("consumer-bin"))
        .output()
        .expect("run the built consumer");
    assert!(run.status.success(), "{run:?}");
    assert_eq!(String::from_utf8_lossy(&run.stdout), consumer_output(false));

    // `go run` from the filled module cache agrees.
    let stdout = go.run_ok_in(&consumer, &["run", "."]);
    assert_eq!(stdout, consumer_output(false));

    // The upper-case module path travelled escaped, as the go command sends it.
    for ext in ["mod", "zip"] {
        let path = format!("/{CASE_MODULE_ESCAPED}/@v/{CASE_VERSION}.{ext}");
        assert_eq!(
            upstream.count_for(&path),
            1,
            "{path}: {:?}",
            upstream.requests()
        );
    }
    for ext in ["mod", "zip"] {
        let path = format!("/{GREET_MODULE}/@v/{GREET_VERSION}.{ext}");
        assert_eq!(upstream.count_for(&path), 1, "{path}");
    }
    let unescaped: Vec<String> = upstream
        .requests()
        .into_iter()
        .map(|r| r.decoded_path())
        .filter(|p| p.contains("Upper") || p.contains("Case"))
        .collect();
    assert!(unescaped.is_empty(), "{unescaped:?}");
    // The module cache holds the escaped directory too.
    assert!(go
        .modcache()
        .join(format!("{CASE_MODULE_ESCAPED}@{CASE_VERSION}"))
        .is_dir());
}

#[test]
fn go_build_shows_modgates_refusal_for_a_module_without_route() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let gw = gateway(&upstream, "\"example.com/*\"");
    let go = go_env(&gw);
    let consumer = go.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);

    let out = go.run_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "go build succeeded:\n{stderr}");
    assert!(
        stderr.contains(&format!("no route serves module {CASE_MODULE}")),
        "{stderr}"
    );
    assert!(!consumer.join("consumer-bin").exists());
    // The refused module never reached the upstream.
    assert_eq!(
        upstream.count_for(CASE_MODULE_ESCAPED),
        0,
        "{:?}",
        upstream.requests()
    );
}
