//! `file://` pools with the real binary and the go command: an air-gapped site serves
//! a GOPROXY-layout directory, lists and `@latest` computed where the tree has none,
//! and asks a network pool only for what its trees lack.

mod support;

use std::fs;
use std::path::Path;

use support::goproxy::{
    info_json, latest_path, list_path, url_path, write_fixture_consumer, CASE_MODULE,
    CASE_MODULE_ESCAPED, CASE_VERSION, GREET_MODULE, GREET_NEWER_VERSION, GREET_VERSION,
};
use support::http::get;
use support::{free_port, run_modgate, Gateway, GoEnv, ProxyDir, TempDir, Upstream};

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

/// A tree without the list and `@latest` files, as a copied store or a module cache is.
fn bare_tree() -> ProxyDir {
    let dir = ProxyDir::with_fixtures();
    for module in [GREET_MODULE, CASE_MODULE] {
        let _ = fs::remove_file(dir.path().join(list_path(module).trim_start_matches('/')));
        let _ = fs::remove_file(dir.path().join(latest_path(module).trim_start_matches('/')));
    }
    dir
}

fn offline_gateway(pools: &str, route_pools: &str) -> Gateway {
    Gateway::start(&format!(
        "listeners: [{{address: \"127.0.0.1:{}\"}}]\npools:\n{pools}routes:\n  - {{name: all, modules: [\"*\"], pools: [{route_pools}]}}\n",
        free_port()
    ))
}

#[test]
fn a_file_pool_serves_its_tree_and_computes_lists_and_latest() {
    let tree = bare_tree();
    let gw = offline_gateway(
        &format!(
            "  offline: {{backends: [{{url: \"{}\"}}]}}\n",
            file_url(tree.path())
        ),
        "offline",
    );
    for ext in ["info", "mod", "zip"] {
        let answer = get(gw.addr, &url_path(GREET_MODULE, GREET_VERSION, ext), &[]);
        assert_eq!(answer.status, 200, "{ext}: {}", answer.text());
        assert_eq!(
            answer.body,
            fs::read(tree.file_path(GREET_MODULE, GREET_VERSION, ext)).expect("file"),
            "{ext}"
        );
    }
    let list = get(gw.addr, &list_path(GREET_MODULE), &[]);
    assert_eq!(list.status, 200);
    assert_eq!(
        list.text(),
        format!("{GREET_VERSION}\n{GREET_NEWER_VERSION}\n")
    );
    let latest = get(gw.addr, &latest_path(GREET_MODULE), &[]);
    assert_eq!(latest.status, 200);
    assert_eq!(latest.text(), info_json(GREET_NEWER_VERSION));
    // The upper-case module travels escaped and is found under its escaped path.
    let case = get(
        gw.addr,
        &format!("/{CASE_MODULE_ESCAPED}/@v/{CASE_VERSION}.mod"),
        &[],
    );
    assert_eq!(case.status, 200, "{}", case.text());

    let missing = get(
        gw.addr,
        &url_path("example.com/absent", "v1.0.0", "zip"),
        &[],
    );
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(missing.text().contains("example.com/absent@v1.0.0"));
    let no_list = get(gw.addr, &list_path("example.com/absent"), &[]);
    assert_eq!(no_list.status, 404);

    // The go command builds from it, and resolves @latest, with no network at all.
    let go = GoEnv::new(&gw.url());
    let consumer = go.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);
    go.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let resolved = go.run_ok(&["list", "-m", &format!("{GREET_MODULE}@latest")]);
    assert_eq!(
        resolved.trim(),
        format!("{GREET_MODULE} {GREET_NEWER_VERSION}")
    );
}

#[test]
fn a_network_pool_after_the_trees_is_asked_only_for_what_they_lack() {
    let tree = TempDir::new("modgate-tree");
    let partial = ProxyDir::with_fixtures();
    // The tree has greet only.
    fs::create_dir_all(tree.path().join("example.com")).expect("dir");
    fs::rename(
        partial.path().join("example.com/greet"),
        tree.path().join("example.com/greet"),
    )
    .expect("move greet");
    let upstream_dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(upstream_dir.path());
    let gw = offline_gateway(
        &format!(
            "  offline: {{backends: [{{url: \"{}\"}}]}}\n  public: {{backends: [{{url: \"{}\"}}]}}\n",
            file_url(tree.path()),
            upstream.url()
        ),
        "offline, public",
    );
    let greet = url_path(GREET_MODULE, GREET_VERSION, "zip");
    assert_eq!(get(gw.addr, &greet, &[]).status, 200);
    assert_eq!(upstream.count_for(&greet), 0, "the tree had it");
    let case = format!("/{CASE_MODULE_ESCAPED}/@v/{CASE_VERSION}.zip");
    assert_eq!(get(gw.addr, &case, &[]).status, 200);
    assert_eq!(upstream.count_for(&case), 1, "the tree lacked it");
}

#[test]
fn file_pools_that_cannot_work_are_configuration_errors() {
    let work = TempDir::new("modgate-tree-check");
    let tree = work.path().join("tree");
    fs::create_dir_all(&tree).expect("tree");
    let not_a_dir = work.path().join("file");
    fs::write(&not_a_dir, "x").expect("file");
    let cases = [
        (
            format!("  offline: {{backends: [{{url: \"{}\"}}]}}\n  public: {{backends: [{{url: \"http://127.0.0.1:9\"}}]}}\n", file_url(&tree)),
            "public, offline",
            "list file:// pools first",
        ),
        (
            format!("  offline: {{backends: [{{url: \"{}\"}}]}}\n", file_url(&not_a_dir)),
            "offline",
            "is not a directory",
        ),
        (
            format!("  offline: {{backends: [{{url: \"{}\"}}, {{url: \"http://127.0.0.1:9\"}}]}}\n", file_url(&tree)),
            "offline",
            "must be the only one",
        ),
    ];
    for (pools, route, says) in cases {
        let config = work.path().join("modgate.yaml");
        fs::write(
            &config,
            format!("listeners: [{{address: \"127.0.0.1:1\"}}]\npools:\n{pools}routes:\n  - {{name: all, modules: [\"*\"], pools: [{route}]}}\n"),
        )
        .expect("config");
        let out = run_modgate(&["check", "-c", &config.display().to_string()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{says}: {stderr}");
        assert!(stderr.contains(says), "{says}: {stderr}");
        assert!(stderr.contains("modgate.yaml:"), "{stderr}");
    }
}
