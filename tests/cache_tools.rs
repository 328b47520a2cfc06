//! `modgate cache import | ls | verify` with the real binary: an air-gapped site is
//! filled from a GOPROXY tree or a go module cache, and serves it with no upstream.

mod support;

use std::fs;
use std::path::Path;

use support::goproxy::{
    url_path, write_fixture_consumer, CASE_MODULE, CASE_MODULE_ESCAPED, CASE_VERSION, GREET_MODULE,
    GREET_NEWER_VERSION, GREET_VERSION,
};
use support::http::get;
use support::{free_port, run_modgate, Gateway, GoEnv, ProxyDir, TempDir, Upstream};

/// A config whose store is `cache` and whose only upstream is `upstream`.
fn write_config(dir: &Path, cache: &Path, upstream: &str) -> String {
    let path = dir.join("modgate.yaml");
    fs::write(
        &path,
        format!(
            "listeners: [{{address: \"127.0.0.1:{}\"}}]\ncache: {{dir: {:?}}}\npools:\n  public: {{backends: [{{url: \"{upstream}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
            free_port(),
            cache.display().to_string()
        ),
    )
    .expect("write config");
    path.display().to_string()
}

fn cache_cmd(config: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["cache", "-c", config];
    all.extend_from_slice(args);
    let out = run_modgate(&all);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_goproxy_tree_is_imported_checked_listed_and_served_without_upstream() {
    let source = ProxyDir::with_fixtures();
    // A tampered zip in the source is refused, never stored.
    let tampered = source.file_path(GREET_MODULE, GREET_NEWER_VERSION, "zip");
    let bytes = fs::read(&tampered).expect("zip");
    fs::write(&tampered, &bytes[..bytes.len() / 2]).expect("truncate");

    let work = TempDir::new("modgate-import");
    let cache = work.path().join("store");
    let config = write_config(work.path(), &cache, "http://127.0.0.1:9");
    let (ok, stdout, stderr) =
        cache_cmd(&config, &["import", &source.path().display().to_string()]);
    assert!(
        !ok,
        "a refused artifact makes the import fail: {stdout}{stderr}"
    );
    assert!(
        stderr.contains(&format!("{GREET_NEWER_VERSION}.zip")),
        "{stderr}"
    );
    assert!(stderr.contains("not a readable zip"), "{stderr}");
    assert!(!cache
        .join(url_path(GREET_MODULE, GREET_NEWER_VERSION, "zip").trim_start_matches('/'))
        .exists());
    let zip = url_path(GREET_MODULE, GREET_VERSION, "zip");
    assert_eq!(
        fs::read(cache.join(zip.trim_start_matches('/'))).expect("imported"),
        fs::read(source.file_path(GREET_MODULE, GREET_VERSION, "zip")).expect("source")
    );

    // Again: nothing new, and the refusal is said again.
    let (_, stdout, _) = cache_cmd(&config, &["import", &source.path().display().to_string()]);
    assert!(stdout.contains("imported 0 artifacts"), "{stdout}");

    let (ok, stdout, _) = cache_cmd(&config, &["ls", GREET_MODULE]);
    assert!(ok);
    assert!(
        stdout.contains(&format!("{GREET_MODULE} {GREET_VERSION} info,mod,zip ")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{GREET_MODULE} {GREET_NEWER_VERSION} info,mod ")),
        "{stdout}"
    );
    assert!(!stdout.contains(CASE_MODULE), "{stdout}");

    let (ok, stdout, _) = cache_cmd(&config, &["verify"]);
    assert!(ok, "{stdout}");
    // A stored zip damaged on disk is named by verify.
    let stored_zip = cache.join(zip.trim_start_matches('/'));
    fs::write(&stored_zip, b"PK not really").expect("damage");
    let (ok, stdout, _) = cache_cmd(&config, &["verify"]);
    assert!(!ok);
    assert!(
        stdout.contains("bad ") && stdout.contains("v1.0.0.zip"),
        "{stdout}"
    );
    assert!(stdout.contains(", 1 bad"), "{stdout}");
}

#[test]
fn a_go_module_cache_imported_while_modgate_runs_is_served_at_once() {
    // A connected machine fills its module cache straight from an upstream.
    let source = ProxyDir::with_fixtures();
    let upstream = Upstream::start(source.path());
    let go = GoEnv::new(&upstream.url());
    let consumer = go.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);
    go.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    drop(upstream);
    let download = go.modcache().join("cache/download");
    assert!(download.join(CASE_MODULE_ESCAPED).is_dir());

    // The air-gapped site: modgate with a dead upstream, then the import.
    let work = TempDir::new("modgate-import");
    let cache = work.path().join("store");
    let yaml_path = write_config(work.path(), &cache, "http://127.0.0.1:9");
    let gw = Gateway::start(&fs::read_to_string(&yaml_path).expect("config"));
    let (ok, stdout, stderr) = cache_cmd(&yaml_path, &["import", &download.display().to_string()]);
    assert!(ok, "{stdout}{stderr}");
    for (module, version) in [(GREET_MODULE, GREET_VERSION), (CASE_MODULE, CASE_VERSION)] {
        for ext in ["mod", "zip"] {
            let answer = get(gw.addr, &url_path(module, version, ext), &[]);
            assert_eq!(answer.status, 200, "{module} {ext}: {}", answer.text());
        }
    }

    // And the go command builds there through modgate alone.
    let offline = GoEnv::new(&gw.url());
    let consumer = offline.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);
    offline.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
}
