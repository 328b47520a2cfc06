//! The cache with the real binary: what cannot change is stored once and served
//! without any upstream, only to whom its route is open; what can change, or arrives
//! broken, is never stored; a crash leaves nothing partial; the size bound holds; and
//! the go command builds from it with every upstream gone.

mod support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::goproxy::{
    info_json, latest_path, list_path, url_path, write_fixture_consumer, CASE_MODULE,
    CASE_MODULE_ESCAPED, CASE_VERSION, GREET_MODULE, GREET_NEWER_VERSION, GREET_VERSION,
    SECRET_MODULE, SECRET_VERSION,
};
use support::http::{get, request};
use support::{
    eventually, free_port, metric, metrics, run_modgate, Gateway, GoEnv, Mode, ProxyDir, TempDir,
    Upstream,
};

const IMMUTABLE: &str = "public, max-age=604800, immutable";

struct Setup {
    gw: Gateway,
    upstream: Upstream,
    dir: ProxyDir,
    cache: TempDir,
}

impl Setup {
    fn start(cache_extra: &str, route_extra: &str) -> Setup {
        let dir = ProxyDir::with_fixtures();
        let upstream = Upstream::start(dir.path());
        let cache = TempDir::new("modgate-cache");
        let gw = Gateway::start(&config(&upstream, cache.path(), cache_extra, route_extra));
        Setup {
            gw,
            upstream,
            dir,
            cache,
        }
    }

    fn stored(&self, module: &str, version: &str, ext: &str) -> PathBuf {
        stored_path(self.cache.path(), module, version, ext)
    }

    fn wait_stored(&self, module: &str, version: &str, ext: &str) {
        let path = self.stored(module, version, ext);
        eventually(&format!("{} is stored", path.display()), || path.is_file());
    }

    fn fixture(&self, module: &str, version: &str, ext: &str) -> Vec<u8> {
        fs::read(self.dir.file_path(module, version, ext)).expect("fixture file")
    }
}

fn config(upstream: &Upstream, cache: &Path, cache_extra: &str, route_extra: &str) -> String {
    format!(
        "listeners: [{{address: \"127.0.0.1:{}\"}}]\nadmin: {{address: \"127.0.0.1:{}\"}}\ncache: {{dir: {:?}{cache_extra}}}\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]{route_extra}}}\n",
        free_port(),
        free_port(),
        cache.display().to_string(),
        upstream.url()
    )
}

fn stored_path(cache: &Path, module: &str, version: &str, ext: &str) -> PathBuf {
    cache.join(url_path(module, version, ext).trim_start_matches('/'))
}

fn cache_count(gw: &Gateway, kind: &str, result: &str) -> f64 {
    metric(
        &metrics(gw),
        &format!("modgate_cache_requests_total{{kind=\"{kind}\",result=\"{result}\"}}"),
    )
    .unwrap_or(0.0)
}

fn fills(gw: &Gateway, result: &str) -> f64 {
    metric(
        &metrics(gw),
        &format!("modgate_cache_fills_total{{result=\"{result}\"}}"),
    )
    .unwrap_or(0.0)
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn a_stored_artifact_is_served_without_asking_any_upstream() {
    let s = Setup::start("", "");
    for ext in ["info", "mod", "zip"] {
        let path = url_path(GREET_MODULE, GREET_VERSION, ext);
        let first = get(s.gw.addr, &path, &[]);
        assert_eq!(first.status, 200, "{ext}: {}", first.text());
        assert_eq!(first.header("cache-control"), Some(IMMUTABLE), "{ext}");
        s.wait_stored(GREET_MODULE, GREET_VERSION, ext);
        let fixture = s.fixture(GREET_MODULE, GREET_VERSION, ext);
        assert_eq!(
            fs::read(s.stored(GREET_MODULE, GREET_VERSION, ext)).expect("stored"),
            fixture,
            "{ext}: the store holds the upstream's exact bytes"
        );
        for _ in 0..3 {
            let hit = get(s.gw.addr, &path, &[]);
            assert_eq!(hit.status, 200, "{ext}");
            assert_eq!(hit.body, fixture, "{ext}");
            assert_eq!(hit.header("cache-control"), Some(IMMUTABLE), "{ext}");
            assert!(hit.header("etag").is_some(), "{ext}");
        }
        assert_eq!(s.upstream.count_for(&path), 1, "{ext} went upstream again");
    }
    // The GOPROXY layout, a list the go command can read, and nothing else.
    eventually("every fill has ended", || fills(&s.gw, "stored") == 3.0);
    let list = fs::read_to_string(s.cache.path().join("example.com/greet/@v/list")).expect("list");
    assert_eq!(list, format!("{GREET_VERSION}\n"));
    assert_eq!(
        files(s.cache.path()),
        [
            "example.com/greet/@v/list",
            "example.com/greet/@v/v1.0.0.info",
            "example.com/greet/@v/v1.0.0.mod",
            "example.com/greet/@v/v1.0.0.zip",
        ]
    );
    eventually("hits and misses are counted", || {
        cache_count(&s.gw, "zip", "hit") == 3.0 && cache_count(&s.gw, "zip", "miss") == 1.0
    });
    assert!(s
        .gw
        .wait_for_log("\"cache\":\"hit\"", Duration::from_secs(10)));
}

#[test]
fn a_stored_zip_answers_head_ranges_and_revalidation() {
    let s = Setup::start("", "");
    let path = url_path(GREET_MODULE, GREET_VERSION, "zip");
    assert_eq!(get(s.gw.addr, &path, &[]).status, 200);
    s.wait_stored(GREET_MODULE, GREET_VERSION, "zip");
    let zip = s.fixture(GREET_MODULE, GREET_VERSION, "zip");
    let len = zip.len();

    let head = request(s.gw.addr, "HEAD", &path, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );
    assert!(head.body.is_empty());

    let part = get(s.gw.addr, &path, &[("Range", "bytes=10-19")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &zip[10..20]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 10-19/{len}").as_str())
    );
    let tail = get(s.gw.addr, &path, &[("Range", "bytes=-5")]);
    assert_eq!((tail.status, tail.body.as_slice()), (206, &zip[len - 5..]));
    let beyond = get(s.gw.addr, &path, &[("Range", &format!("bytes={len}-"))]);
    assert_eq!(beyond.status, 416);

    let etag = get(s.gw.addr, &path, &[])
        .header("etag")
        .expect("an etag")
        .to_owned();
    let again = get(s.gw.addr, &path, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = get(s.gw.addr, &path, &[("If-None-Match", "\"something-else\"")]);
    assert_eq!(other.status, 200);
    assert_eq!(s.upstream.count_for(&path), 1);
}

#[test]
fn what_can_change_is_asked_for_upstream_when_list_ttl_is_zero() {
    let s = Setup::start(", list_ttl: 0s", "");
    for path in [
        list_path(GREET_MODULE),
        latest_path(GREET_MODULE),
        url_path(GREET_MODULE, "master", "info"),
    ] {
        for _ in 0..2 {
            get(s.gw.addr, &path, &[]);
        }
        assert_eq!(s.upstream.count_for(&path), 2, "{path}");
    }
    // A HEAD miss has no body to store.
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");
    assert_eq!(request(s.gw.addr, "HEAD", &info, &[]).status, 200);
    eventually("the answers are kept for when every upstream fails", || {
        files(s.cache.path())
            == [
                "example.com/greet/@v/.modgate-latest",
                "example.com/greet/@v/.modgate-list",
            ]
    });
    eventually("the queries are counted as bypassing the store", || {
        cache_count(&s.gw, "info", "bypass") == 2.0
    });
}

#[test]
fn lists_are_reused_for_list_ttl_and_served_stale_when_every_upstream_fails() {
    let mut s = Setup::start(", list_ttl: 2s", "");
    let list = list_path(GREET_MODULE);
    let latest = latest_path(GREET_MODULE);
    let fixture_list = fs::read(s.dir.path().join(list.trim_start_matches('/'))).expect("list");
    for path in [&list, &latest] {
        let first = get(s.gw.addr, path, &[]);
        assert_eq!(first.status, 200, "{path}");
        let name = if path == &list { "list" } else { "latest" };
        let kept = s
            .cache
            .path()
            .join(format!("example.com/greet/@v/.modgate-{name}"));
        eventually("the answer is kept", || kept.is_file());
        let again = get(s.gw.addr, path, &[]);
        assert_eq!(again.body, first.body, "{path}");
        assert_eq!(
            s.upstream.count_for(path),
            1,
            "{path} asked again within list_ttl"
        );
    }
    std::thread::sleep(Duration::from_millis(2100));
    // Past list_ttl: asked again, and a 404 is an answer, not a failure.
    s.upstream.set_mode(Mode::Status(404));
    assert_eq!(get(s.gw.addr, &list, &[]).status, 404);
    assert_eq!(s.upstream.count_for(&list), 2);

    s.upstream.set_mode(Mode::Status(503));
    let stale = get(s.gw.addr, &list, &[]);
    assert_eq!(stale.status, 200, "{}", stale.text());
    assert_eq!(stale.body, fixture_list);
    assert_eq!(stale.header("warning"), Some("110 - \"Response is Stale\""));
    s.upstream.stop();
    let stale = get(s.gw.addr, &latest, &[]);
    assert_eq!(stale.status, 200, "{}", stale.text());
    assert_eq!(stale.header("warning"), Some("110 - \"Response is Stale\""));
    assert!(stale.text().contains("\"Version\""));
    eventually("stale answers are counted", || {
        cache_count(&s.gw, "list", "stale") == 1.0 && cache_count(&s.gw, "latest", "stale") == 1.0
    });
    // A module never fetched has nothing to fall back on.
    let other = list_path(CASE_MODULE);
    assert_eq!(get(s.gw.addr, &other, &[]).status, 502);
}

#[test]
fn a_route_with_cache_false_never_stores_or_serves_from_the_store() {
    let s = Setup::start("", ", cache: false");
    // Put there by another site: still not served on this route.
    let path = url_path(GREET_MODULE, GREET_VERSION, "info");
    let planted = stored_path(s.cache.path(), GREET_MODULE, GREET_VERSION, "info");
    fs::create_dir_all(planted.parent().expect("parent")).expect("dirs");
    fs::write(&planted, info_json(GREET_VERSION)).expect("plant");
    for _ in 0..2 {
        assert_eq!(get(s.gw.addr, &path, &[]).status, 200);
    }
    let zip = url_path(GREET_MODULE, GREET_VERSION, "zip");
    for _ in 0..2 {
        assert_eq!(get(s.gw.addr, &zip, &[]).status, 200);
    }
    assert_eq!(s.upstream.count_for(&path), 2);
    assert_eq!(s.upstream.count_for(&zip), 2);
    assert!(!stored_path(s.cache.path(), GREET_MODULE, GREET_VERSION, "zip").exists());
}

#[test]
fn a_stored_module_is_served_only_to_keys_whose_role_has_its_route() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let cache = TempDir::new("modgate-cache");
    let auth = "auth:\n  roles: {reader: {routes: [public]}, engineer: {routes: [public, private]}}\n  keys:\n    - {id: ci, secret: reader-key, roles: [reader]}\n    - {id: alice, secret: engineer-key, roles: [engineer]}\n";
    let yaml = |private: &str| {
        format!(
            "{auth}listeners: [{{address: \"127.0.0.1:{}\"}}]\ncache: {{dir: {:?}}}\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: private, modules: [{private}], pools: [public], private: true}}\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
            free_port(),
            cache.path().display().to_string(),
            upstream.url()
        )
    };
    let gw = Gateway::start(&yaml(&format!("\"{SECRET_MODULE}\"")));
    let reader = [("X-API-Key", "reader-key")];
    let engineer = [("X-API-Key", "engineer-key")];
    let secret = url_path(SECRET_MODULE, SECRET_VERSION, "zip");
    assert_eq!(get(gw.addr, &secret, &engineer).status, 200);
    eventually("the private zip is stored", || {
        stored_path(cache.path(), SECRET_MODULE, SECRET_VERSION, "zip").is_file()
    });
    assert_eq!(get(gw.addr, &secret, &reader).status, 403);
    assert_eq!(get(gw.addr, &secret, &[]).status, 401);

    let greet = url_path(GREET_MODULE, GREET_VERSION, "zip");
    assert_eq!(get(gw.addr, &greet, &reader).status, 200);
    eventually("the public zip is stored", || {
        stored_path(cache.path(), GREET_MODULE, GREET_VERSION, "zip").is_file()
    });
    // A reload that makes the module private applies to its stored copy at once.
    let before = gw.log().matches("configuration reloaded").count();
    gw.write_config(&yaml(&format!("\"{SECRET_MODULE}\", \"{GREET_MODULE}\"")));
    gw.signal("HUP");
    eventually("the reload", || {
        gw.log().matches("configuration reloaded").count() > before
    });
    let refused = get(gw.addr, &greet, &reader);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert_eq!(get(gw.addr, &greet, &engineer).status, 200);
    assert_eq!(upstream.count_for(&greet), 1);
}

#[test]
fn a_broken_or_wrong_transfer_is_never_stored() {
    let s = Setup::start("", "");
    let zip = url_path(GREET_MODULE, GREET_VERSION, "zip");
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");

    // Cut mid-body: the client sees a broken transfer, never a short 200.
    s.upstream.set_mode(Mode::Truncated);
    let mut conn = std::net::TcpStream::connect(s.gw.addr).expect("connect");
    std::io::Write::write_all(
        &mut conn,
        format!("GET {zip} HTTP/1.1\r\nHost: m\r\n\r\n").as_bytes(),
    )
    .expect("send");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let _ = conn.read_to_end(&mut got);
    let full = s.fixture(GREET_MODULE, GREET_VERSION, "zip").len();
    let text = String::from_utf8_lossy(&got);
    let announced = format!("content-length: {full}");
    assert!(
        text.to_ascii_lowercase().contains(&announced),
        "the answer started with its full length: {text}"
    );
    assert!(
        got.len() < full,
        "the whole zip arrived from a cut upstream"
    );

    eventually("the cut fill is abandoned", || {
        fills(&s.gw, "abandoned") == 1.0
    });

    // Complete transfers of the wrong bytes: a half zip, a half .info.
    s.upstream.set_mode(Mode::HalfLength);
    assert_eq!(get(s.gw.addr, &zip, &[]).status, 200);
    assert_eq!(get(s.gw.addr, &info, &[]).status, 200);
    eventually("every fill has ended", || fills(&s.gw, "failed") == 2.0);
    assert!(
        s.gw.wait_for_log("could not be stored", Duration::from_secs(10)),
        "{}",
        s.gw.log()
    );
    // Once a minute, not once a request.
    assert_eq!(s.gw.log().matches("could not be stored").count(), 1);
    assert_eq!(files(s.cache.path()), Vec::<String>::new());

    // Served right, it is stored.
    s.upstream.set_mode(Mode::Serve);
    assert_eq!(get(s.gw.addr, &zip, &[]).status, 200);
    s.wait_stored(GREET_MODULE, GREET_VERSION, "zip");
}

#[test]
fn a_kill_mid_fill_leaves_nothing_partial_and_the_next_start_clears_it() {
    let dir = ProxyDir::new();
    dir.add_big_zip("example.com/big", "v1.0.0", 8_000_000);
    let upstream = Upstream::start(dir.path());
    upstream.set_mode(Mode::SlowBody {
        bytes_per_sec: 2_000_000,
    });
    let cache = TempDir::new("modgate-cache");
    let yaml = config(&upstream, cache.path(), "", "");
    let gw = Gateway::start(&yaml);
    let zip = url_path("example.com/big", "v1.0.0", "zip");
    let mut conn = std::net::TcpStream::connect(gw.addr).expect("connect");
    std::io::Write::write_all(
        &mut conn,
        format!("GET {zip} HTTP/1.1\r\nHost: m\r\n\r\n").as_bytes(),
    )
    .expect("send");
    let mut start = [0u8; 100_000];
    conn.read_exact(&mut start)
        .expect("the transfer is under way");
    let temp = cache.path().join(".modgate-tmp");
    eventually("a temporary file is being written", || {
        fs::read_dir(&temp).is_ok_and(|mut d| d.next().is_some())
    });
    gw.signal("KILL");
    drop(gw);
    let final_zip = stored_path(cache.path(), "example.com/big", "v1.0.0", "zip");
    assert!(!final_zip.exists(), "a partial zip under its final name");

    upstream.set_mode(Mode::Serve);
    let gw = Gateway::start(&yaml);
    assert_eq!(
        fs::read_dir(&temp).map(|d| d.count()).unwrap_or(0),
        0,
        "the interrupted fill was not cleared at start"
    );
    assert_eq!(get(gw.addr, &zip, &[]).status, 200);
    eventually("the zip is stored whole", || final_zip.is_file());
    assert_eq!(
        fs::read(&final_zip).expect("stored"),
        fs::read(dir.file_path("example.com/big", "v1.0.0", "zip")).expect("fixture")
    );
}

#[test]
fn past_max_size_the_least_recently_used_go_first() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let cache = TempDir::new("modgate-cache");
    let info_len = |m: &str, v: &str| fs::metadata(dir.file_path(m, v, "info")).expect("f").len();
    let (a, b, c) = (
        (GREET_MODULE, GREET_VERSION),
        (GREET_MODULE, GREET_NEWER_VERSION),
        (CASE_MODULE, CASE_VERSION),
    );
    // Room for two of the three .info files.
    let room = info_len(a.0, a.1) + info_len(c.0, c.1) + 2;
    assert!(room < info_len(a.0, a.1) + info_len(b.0, b.1) + info_len(c.0, c.1));
    let yaml = config(&upstream, cache.path(), &format!(", max_size: {room}"), "");
    let gw = Gateway::start(&yaml);
    let fetch = |(m, v): (&str, &str)| {
        assert_eq!(get(gw.addr, &url_path(m, v, "info"), &[]).status, 200);
    };
    let stored = |(m, v): (&str, &str)| stored_path(cache.path(), m, v, "info").is_file();
    fetch(a);
    eventually("a stored", || stored(a));
    fetch(b);
    eventually("b stored", || stored(b));
    fetch(a); // a hit: now b is the least recently used
    fetch(c);
    eventually("c stored and b evicted", || stored(c) && !stored(b));
    assert!(stored(a));
    let size = (info_len(a.0, a.1) + info_len(c.0, c.1)) as f64;
    eventually("one eviction and the size of a and c", || {
        let text = metrics(&gw);
        metric(&text, "modgate_cache_evictions_total") == Some(1.0)
            && metric(&text, "modgate_cache_size_bytes") == Some(size)
    });
    assert_eq!(upstream.count_for(&url_path(a.0, a.1, "info")), 1);

    // What is already there counts at start: a smaller bound evicts down to it.
    drop(gw);
    let yaml = config(&upstream, cache.path(), ", max_size: 60", "");
    let gw = Gateway::start(&yaml);
    let left = [a, c].iter().filter(|x| stored(**x)).count();
    assert_eq!(left, 1, "{:?}", files(cache.path()));
    assert!(metric(&metrics(&gw), "modgate_cache_size_bytes").is_some_and(|n| n <= 60.0));
}

#[test]
fn a_cache_dir_that_is_a_file_is_a_configuration_error() {
    let dir = TempDir::new("modgate-cache-check");
    let file = dir.path().join("not-a-dir");
    fs::write(&file, "x").expect("write");
    let yaml = format!(
        "listeners: [{{address: \"127.0.0.1:1\"}}]\ncache:\n  dir: {:?}\n  max_size: 20GB\npools:\n  p: {{backends: [{{url: \"http://127.0.0.1:1\"}}]}}\nroutes:\n  - {{name: r, modules: [\"*\"], pools: [p]}}\n",
        file.display().to_string()
    );
    let config = dir.path().join("modgate.yaml");
    fs::write(&config, yaml).expect("write config");
    let out = run_modgate(&["check", "-c", &config.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("modgate.yaml:3:") && stderr.contains("is not a directory"),
        "{stderr}"
    );
    assert!(
        stderr.contains("modgate.yaml:4:") && stderr.contains("GiB"),
        "{stderr}"
    );
}

#[test]
fn the_go_command_builds_from_the_store_with_every_upstream_gone() {
    let mut s = Setup::start(", list_ttl: 0s", "");
    let warm = GoEnv::new(&s.gw.url());
    let consumer = warm.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);
    warm.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    let latest = format!("{GREET_MODULE}@latest");
    let resolved = warm.run_ok(&["list", "-m", &latest]);
    assert_eq!(
        resolved.trim(),
        format!("{GREET_MODULE} {GREET_NEWER_VERSION}")
    );
    s.wait_stored(GREET_MODULE, GREET_NEWER_VERSION, "info");
    for (module, version) in [(GREET_MODULE, GREET_VERSION), (CASE_MODULE, CASE_VERSION)] {
        s.wait_stored(module, version, "zip");
        s.wait_stored(module, version, "mod");
    }
    assert!(s
        .cache
        .path()
        .join(format!("{CASE_MODULE_ESCAPED}/@v/{CASE_VERSION}.zip"))
        .is_file());
    s.upstream.stop();

    // A new machine (empty module cache) builds through modgate alone.
    let cold = GoEnv::new(&s.gw.url());
    let consumer = cold.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);
    cold.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
    // And resolves @latest from the kept list, served stale.
    let resolved = cold.run_ok(&["list", "-m", &latest]);
    assert_eq!(
        resolved.trim(),
        format!("{GREET_MODULE} {GREET_NEWER_VERSION}")
    );

    // The store is a GOPROXY tree the go command reads itself.
    let direct = GoEnv::new(&format!("file://{}", s.cache.path().display()));
    let consumer = direct.work_dir().join("consumer");
    write_fixture_consumer(&consumer, false);
    direct.run_ok_in(&consumer, &["build", "-o", "consumer-bin", "."]);
}

#[test]
fn concurrent_misses_make_one_upstream_fetch_and_every_client_streams_as_it_arrives() {
    const MODULE: &str = "example.com/big";
    let dir = ProxyDir::new();
    dir.add_big_zip(MODULE, "v1.0.0", 3_000_000);
    let zip_bytes = fs::read(dir.file_path(MODULE, "v1.0.0", "zip")).expect("fixture");
    let upstream = Upstream::start(dir.path());
    upstream.set_mode(Mode::SlowBody {
        bytes_per_sec: 1_000_000,
    });
    let cache = TempDir::new("modgate-cache");
    let gw = Gateway::start(&config(&upstream, cache.path(), "", ""));
    let path = url_path(MODULE, "v1.0.0", "zip");
    let stored = stored_path(cache.path(), MODULE, "v1.0.0", "zip");
    let send = |path: &str| {
        let mut conn = std::net::TcpStream::connect(gw.addr).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        std::io::Write::write_all(
            &mut conn,
            format!("GET {path} HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .expect("send");
        conn
    };
    let mut clients = vec![send(&path)];
    let temp = cache.path().join(".modgate-tmp");
    eventually("the first request's fill is under way", || {
        fs::read_dir(&temp).is_ok_and(|mut d| d.next().is_some())
    });
    clients.extend((0..3).map(|_| send(&path)));
    let mut received: Vec<Vec<u8>> = Vec::new();
    for (i, client) in clients.iter_mut().enumerate() {
        let mut first = vec![0u8; 64 * 1024];
        client.read_exact(&mut first).expect("the first bytes");
        assert!(
            !stored.exists(),
            "client {i} got its first bytes only after the fill had ended"
        );
        received.push(first);
    }
    for (i, (mut client, mut bytes)) in clients.into_iter().zip(received).enumerate() {
        client.read_to_end(&mut bytes).expect("the rest");
        let head_end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a head")
            + 4;
        let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "client {i}: {head}");
        assert!(
            head.contains(&format!("content-length: {}", zip_bytes.len())),
            "client {i}: {head}"
        );
        assert!(
            bytes[head_end..] == zip_bytes[..],
            "client {i}: another body"
        );
    }
    assert_eq!(upstream.count_for(&path), 1, "{:?}", upstream.requests());
    eventually("the zip is stored", || stored.is_file());
    assert_eq!(fs::read(&stored).expect("stored"), zip_bytes);
}

#[test]
fn an_unwritable_store_still_streams_from_upstream_stores_nothing_and_is_not_ready() {
    let s = Setup::start("", "");
    let admin = s.gw.admin.expect("admin");
    assert_eq!(get(admin, "/readyz", &[]).status, 200);
    // Where fills are written is no longer a directory (root ignores permissions, so
    // this is how the tests make writes fail).
    let temp = s.cache.path().join(".modgate-tmp");
    fs::remove_dir_all(&temp).expect("remove");
    fs::write(&temp, "in the way").expect("block");

    for ext in ["zip", "mod"] {
        let path = url_path(GREET_MODULE, GREET_VERSION, ext);
        let answer = get(s.gw.addr, &path, &[]);
        assert_eq!(answer.status, 200, "{ext}");
        assert_eq!(
            answer.body,
            s.fixture(GREET_MODULE, GREET_VERSION, ext),
            "{ext}"
        );
    }
    eventually("both fills failed", || fills(&s.gw, "failed") == 2.0);
    assert!(s
        .gw
        .wait_for_log("could not be stored", Duration::from_secs(10)));
    assert_eq!(s.gw.log().matches("could not be stored").count(), 1);
    let ready = get(admin, "/readyz", &[]);
    assert_eq!(ready.status, 503);
    assert!(ready.text().contains("is not writable"), "{}", ready.text());
    assert_eq!(
        files(s.cache.path()),
        [".modgate-tmp"],
        "only the file put in the way"
    );

    fs::remove_file(&temp).expect("unblock");
    fs::create_dir(&temp).expect("restore");
    assert_eq!(get(admin, "/readyz", &[]).status, 200);
    let zip = url_path(GREET_MODULE, GREET_VERSION, "zip");
    assert_eq!(get(s.gw.addr, &zip, &[]).status, 200);
    s.wait_stored(GREET_MODULE, GREET_VERSION, "zip");
}
