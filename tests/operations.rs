//! Operating a running gateway: reloads, metrics, graceful stop and binary upgrade.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use support::goproxy::{url_path, GREET_MODULE, GREET_VERSION};
use support::http::{get, get_streaming_len, try_request, Conn};
use support::{
    eventually, free_port, metric, metrics, one_pool_config, Gateway, Mode, ProxyDir, Upstream,
};

fn info() -> String {
    url_path(GREET_MODULE, GREET_VERSION, "info")
}

fn two_pool_config(
    listen: u16,
    admin: u16,
    a: &Upstream,
    b: &Upstream,
    route_pool: &str,
    extra: &str,
) -> String {
    format!(
        "listeners: [{{address: \"127.0.0.1:{listen}\"}}]\nadmin: {{address: \"127.0.0.1:{admin}\"}}\npools:\n  a: {{backends: [{{url: \"{}\"}}]}}\n  b: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [{route_pool}]}}\n{extra}",
        a.url(),
        b.url()
    )
}

/// `modgate_config_reloads_total` for `result` (success or failure).
fn reloads(gw: &Gateway, result: &str) -> Option<f64> {
    metric(
        &metrics(gw),
        &format!("modgate_config_reloads_total{{result=\"{result}\"}}"),
    )
}

/// Sequential requests, each on a new connection, until stopped (bounded in count).
struct ClientLoop {
    done: Arc<AtomicBool>,
    thread: thread::JoinHandle<Outcomes>,
}

/// How the requests of a [`ClientLoop`] ended.
#[derive(Debug, Default, PartialEq, Eq)]
struct Outcomes {
    sent: usize,
    /// The connection was refused: nobody was listening.
    refused: usize,
    /// Connected, but closed without an answer.
    unanswered: usize,
    /// Answered, but not with 200.
    bad_status: usize,
}

impl ClientLoop {
    fn start(addr: std::net::SocketAddr) -> ClientLoop {
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let done = done.clone();
            thread::spawn(move || {
                let mut out = Outcomes::default();
                while !done.load(Ordering::Relaxed) && out.sent < 100_000 {
                    out.sent += 1;
                    match try_request(addr, "GET", &info(), &[]) {
                        Ok(r) if r.status == 200 => {}
                        Ok(r) => {
                            out.bad_status += 1;
                            eprintln!("answered {}: {}", r.status, r.text());
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                            out.refused += 1
                        }
                        Err(e) => {
                            out.unanswered += 1;
                            eprintln!("no answer: {e}");
                        }
                    }
                }
                out
            })
        };
        ClientLoop { done, thread }
    }

    fn stop(self) -> Outcomes {
        self.done.store(true, Ordering::Relaxed);
        self.thread.join().expect("client loop")
    }
}

#[test]
fn a_reload_moves_a_route_without_losing_a_request() {
    let dir = ProxyDir::with_fixtures();
    let (a, b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let (listen, admin) = (free_port(), free_port());
    let gw = Gateway::start(&two_pool_config(listen, admin, &a, &b, "a", ""));
    let addr = gw.addr;
    let client = ClientLoop::start(addr);
    eventually("requests at pool a", || a.count() > 20);
    gw.write_config(&two_pool_config(listen, admin, &a, &b, "b", ""));
    eventually("the reload", || reloads(&gw, "success") == Some(1.0));
    let after_reload = a.count();
    eventually("requests at pool b", || b.count() > 20);
    let out = client.stop();
    assert_eq!(
        (out.refused, out.unanswered, out.bad_status),
        (0, 0, 0),
        "{out:?}"
    );
    // Requests already routed when the swap happened may still finish at a; no new ones start there.
    assert!(
        a.count() <= after_reload + 1,
        "a kept getting requests: {} > {after_reload}",
        a.count()
    );
}

#[test]
fn a_reload_of_the_client_limits_applies_to_new_connections() {
    let dir = ProxyDir::with_fixtures();
    let (a, b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let (listen, admin) = (free_port(), free_port());
    let gw = Gateway::start(&two_pool_config(listen, admin, &a, &b, "a", ""));
    let padding = "x".repeat(2000);
    let padded = [("X-Padding", padding.as_str())];
    assert_eq!(get(gw.addr, &info(), &padded).status, 200);

    gw.write_config(&two_pool_config(
        listen,
        admin,
        &a,
        &b,
        "a",
        "server: {max_header_bytes: 1000}\n",
    ));
    eventually("the reload", || reloads(&gw, "success") == Some(1.0));
    let refused = get(gw.addr, &info(), &padded);
    assert_eq!(refused.status, 431, "{}", refused.text());
    assert_eq!(
        refused.text(),
        "modgate: the request headers are larger than 1000 bytes\n"
    );
    assert_eq!(get(gw.addr, &info(), &[]).status, 200);
}

#[test]
fn an_invalid_file_changes_nothing_and_is_counted() {
    let dir = ProxyDir::with_fixtures();
    let (a, b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let (listen, admin) = (free_port(), free_port());
    let gw = Gateway::start(&two_pool_config(listen, admin, &a, &b, "a", ""));
    gw.write_config(&two_pool_config(
        listen,
        admin,
        &a,
        &b,
        "b",
        "surprise: true\n",
    ));
    eventually("the failed reload", || reloads(&gw, "failure") == Some(1.0));
    assert!(
        gw.wait_for_log("unknown field `surprise`", Duration::from_secs(15)),
        "{}",
        gw.log()
    );
    assert_eq!(get(gw.addr, &info(), &[]).status, 200);
    assert_eq!((a.count(), b.count()), (1, 0));
    assert_eq!(reloads(&gw, "success"), Some(0.0));
}

#[test]
fn a_key_only_reload_keeps_backend_health() {
    let dir = ProxyDir::with_fixtures();
    let (good, bad) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    bad.set_mode(Mode::Status(500));
    let (listen, admin) = (free_port(), free_port());
    let config = |key: &str| {
        format!(
            "listeners: [{{address: \"127.0.0.1:{listen}\"}}]\nadmin: {{address: \"127.0.0.1:{admin}\"}}\npools:\n  p:\n    backends: [{{url: \"{}\"}}, {{url: \"{}\"}}]\n    health_check: {{path: /example.com/greet/@v/list, interval: 2s, timeout: 500ms, healthy_threshold: 3, unhealthy_threshold: 1}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [p]}}\nauth:\n  anonymous: reader\n  roles: {{reader: {{routes: [public]}}}}\n  keys: [{{id: ci, secret: \"{key}\", roles: [reader]}}]\n",
            good.url(),
            bad.url()
        )
    };
    let gw = Gateway::start(&config("first-key"));
    let bad_series = format!(
        "modgate_backend_up{{backend=\"{}\",pool=\"p\"}}",
        bad.url().trim_start_matches("http://")
    );
    eventually("the failing backend marked down", || {
        metric(&metrics(&gw), &bad_series) == Some(0.0)
    });
    // The backend recovers; after its first passing check it is still down (it needs
    // three in a row, 2 s apart). A reload that lost the state would check it afresh,
    // find it passing and send it clients at once; a kept state leaves it down.
    let probes = || bad.requests_for("/@v/list").len();
    let before = probes();
    bad.set_mode(Mode::Serve);
    eventually("one passing check", || probes() > before);
    bad.clear();
    gw.write_config(&config("second-key"));
    gw.signal("HUP");
    eventually("the reload", || reloads(&gw, "success") >= Some(1.0));
    assert_eq!(metric(&metrics(&gw), &bad_series), Some(0.0));
    for _ in 0..20 {
        assert_eq!(get(gw.addr, &info(), &[]).status, 200);
    }
    assert_eq!(
        bad.requests()
            .iter()
            .filter(|r| !r.path.contains("/@v/list"))
            .count(),
        0
    );
    assert_eq!(
        get(gw.addr, &info(), &[("X-API-Key", "second-key")]).status,
        200
    );
    assert_eq!(
        get(gw.addr, &info(), &[("X-API-Key", "first-key")]).status,
        401
    );
}

#[test]
fn metrics_count_a_known_sequence() {
    let dir = ProxyDir::with_fixtures();
    let (a, b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let gw = Gateway::start(&two_pool_config(free_port(), free_port(), &a, &b, "a", ""));
    for _ in 0..3 {
        assert_eq!(get(gw.addr, &info(), &[]).status, 200);
    }
    let zip = get(gw.addr, &url_path(GREET_MODULE, GREET_VERSION, "zip"), &[]);
    assert_eq!(zip.status, 200);
    assert_eq!(get(gw.addr, "/Bad/@v/list", &[]).status, 400);
    assert_eq!(
        get(gw.addr, &url_path(GREET_MODULE, "v9.0.0", "mod"), &[]).status,
        404
    );
    let upstream = a.url().trim_start_matches("http://").to_string();
    let expect = [
        ("modgate_requests_total{kind=\"info\",route=\"public\",status=\"200\"}".to_string(), 3.0),
        ("modgate_requests_total{kind=\"zip\",route=\"public\",status=\"200\"}".to_string(), 1.0),
        ("modgate_requests_total{kind=\"mod\",route=\"public\",status=\"404\"}".to_string(), 1.0),
        ("modgate_requests_total{kind=\"-\",route=\"-\",status=\"400\"}".to_string(), 1.0),
        ("modgate_denied_total{reason=\"bad_request\"}".to_string(), 1.0),
        (format!("modgate_upstream_requests_total{{backend=\"{upstream}\",pool=\"a\",status=\"200\"}}"), 4.0),
        (format!("modgate_upstream_requests_total{{backend=\"{upstream}\",pool=\"a\",status=\"404\"}}"), 1.0),
        ("modgate_request_duration_seconds_count{kind=\"info\",route=\"public\"}".to_string(), 3.0),
        ("modgate_upstream_duration_seconds_count{pool=\"a\"}".to_string(), 5.0),
        (format!("modgate_backend_up{{backend=\"{upstream}\",pool=\"a\"}}"), 1.0),
        (format!("modgate_build_info{{version=\"{}\"}}", env!("CARGO_PKG_VERSION")), 1.0),
    ];
    // A request is counted when its log record is written, just after its answer,
    // so the scrape is repeated until the counters settle on exactly these values.
    let mut text = metrics(&gw);
    let deadline = Instant::now() + Duration::from_secs(10);
    while expect
        .iter()
        .any(|(series, value)| metric(&text, series) != Some(*value))
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(50));
        text = metrics(&gw);
    }
    for (series, value) in &expect {
        assert_eq!(metric(&text, series), Some(*value), "{series}\n{text}");
    }
    let bytes = metric(&text, "modgate_response_bytes_total{route=\"public\"}").expect("bytes");
    let info_len = get(gw.addr, &info(), &[]).body.len() as f64;
    assert!(bytes >= 3.0 * info_len + zip.body.len() as f64, "{bytes}");
    assert!(!text.contains(GREET_MODULE), "module names are not labels");
    assert_eq!(get(gw.admin.expect("admin"), "/healthz", &[]).status, 200);
    assert_eq!(get(gw.admin.expect("admin"), "/readyz", &[]).status, 200);
}

#[test]
fn sigterm_lets_a_slow_download_finish() {
    let dir = ProxyDir::new();
    dir.add_big_zip("example.com/big", "v1.0.0", 3 << 20);
    let size = std::fs::metadata(dir.file_path("example.com/big", "v1.0.0", "zip"))
        .expect("zip")
        .len();
    let upstream = Upstream::start(dir.path());
    upstream.set_mode(Mode::SlowBody {
        bytes_per_sec: 2 << 20,
    });
    let mut gw = Gateway::start(&format!(
        "server: {{grace_period: 10s}}\nlisteners: [{{address: \"127.0.0.1:{}\"}}]\npools:\n  p: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [p]}}\n",
        free_port(),
        upstream.url()
    ));
    let addr = gw.addr;
    let download = thread::spawn(move || {
        get_streaming_len(addr, &url_path("example.com/big", "v1.0.0", "zip"))
    });
    eventually("the download to start", || upstream.count() == 1);
    thread::sleep(Duration::from_millis(200));
    gw.signal("TERM");
    let (status, received) = download.join().expect("download");
    assert_eq!((status, received), (200, size));
    let exited = gw.wait_exit(Duration::from_secs(15));
    assert!(
        exited.is_some(),
        "modgate did not exit within the grace period"
    );
}

#[test]
fn sigterm_on_an_idle_gateway_exits_without_waiting_out_the_grace_period() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let mut gw = Gateway::start(&format!(
        "server: {{grace_period: 60s}}\nlisteners: [{{address: \"127.0.0.1:{}\"}}]\npools:\n  p: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [p]}}\n",
        free_port(),
        upstream.url()
    ));
    // An idle keep-alive connection does not hold the stop up.
    let mut kept = support::http::Conn::connect(gw.addr);
    assert_eq!(kept.get(&info(), &[]).status, 200);
    gw.signal("TERM");
    // Well inside the 60 s grace period, which Pingora alone would wait out.
    let exited = gw.wait_exit(Duration::from_secs(20));
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
    assert!(
        gw.log().contains("nothing in flight: modgate stopped"),
        "{}",
        gw.log()
    );
}

/// The whole log of a gateway that answered one request and then stopped at once
/// (which writes out every queued line). The request's log phase runs after its
/// answer is sent, so the stop waits until the request is counted, which that phase
/// does just before its access line, and with `logged` until the log holds that.
fn log_of_one_request(extra: &str, env: &[(&str, &str)], logged: Option<&str>) -> String {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let extra = format!(
        "server: {{grace_period: 0s}}\nadmin: {{address: \"127.0.0.1:{}\"}}\n{extra}",
        free_port()
    );
    let mut gw = Gateway::start_with_env(&one_pool_config(&extra, &upstream.url()), env);
    assert_eq!(get(gw.addr, &info(), &[]).status, 200);
    let counted = "modgate_requests_total{kind=\"info\",route=\"public\",status=\"200\"}";
    eventually("the request counted", || {
        metric(&metrics(&gw), counted) == Some(1.0)
    });
    if let Some(needle) = logged {
        assert!(
            gw.wait_for_log(needle, Duration::from_secs(10)),
            "{}",
            gw.log()
        );
    }
    gw.signal("TERM");
    let exited = gw.wait_exit(Duration::from_secs(15));
    assert!(exited.is_some_and(|s| s.success()), "{exited:?}");
    gw.log()
}

#[test]
fn the_last_log_lines_are_written_before_the_process_exits() {
    // No grace period and no wait for the line: the exit follows the signal at once,
    // while the answered request's access line may still wait in the log queue.
    let log = log_of_one_request("", &[], None);
    let path = format!("\"path\":\"{}\"", info());
    assert!(
        log.lines()
            .any(|l| l.contains("\"target\":\"access\"") && l.contains(&path)),
        "the access line of the last request is missing:\n{log}"
    );
    // Logged after the server stopped, just before the exit.
    assert!(log.contains("modgate stopped"), "{log}");
}

#[test]
fn the_log_level_rust_log_and_the_format_decide_the_access_lines() {
    let path = info();
    let json = format!("\"path\":\"{path}\"");
    let json = Some(json.as_str());
    log_of_one_request("", &[], json);
    log_of_one_request("log: {level: warn}\n", &[("RUST_LOG", "access=info")], json);
    let log = log_of_one_request("log: {level: warn}\n", &[], None);
    assert!(!log.contains(&path), "{log}");
    // RUST_LOG overrides the file, down to one target.
    let log = log_of_one_request("", &[("RUST_LOG", "info,access=off")], None);
    assert!(
        !log.contains(&path) && log.contains("modgate stopped"),
        "{log}"
    );
    // The pretty format lays the same event out for people, without terminal colours
    // when the output is not a terminal.
    let log = log_of_one_request("log: {format: pretty}\n", &[], Some(" access: "));
    let line = log
        .lines()
        .find(|l| l.contains(" access: "))
        .unwrap_or_default();
    assert!(line.contains(&format!(" path=\"{path}\" ")), "{log}");
    assert!(line.contains(" status=200 "), "{log}");
    assert!(!log.contains('\u{1b}'), "{log}");
}

#[test]
fn an_upgrade_hands_over_the_sockets_without_refusing_a_connection() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let sockets = support::TempDir::new("modgate-upgrade");
    let config = format!(
        "server: {{grace_period: 2s, upgrade_socket: \"{}\", pid_file: \"{}\"}}\nlisteners: [{{address: \"127.0.0.1:{}\"}}]\npools:\n  p: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [p]}}\n",
        sockets.join("upgrade.sock").display(),
        sockets.join("modgate.pid").display(),
        free_port(),
        upstream.url()
    );
    let mut old = Gateway::start(&config);
    let pid_file = std::fs::read_to_string(sockets.join("modgate.pid")).expect("pid file");
    assert_eq!(pid_file.trim(), old.pid().to_string());
    let addr = old.addr;
    let client = ClientLoop::start(addr);
    eventually("traffic", || upstream.count() > 20);
    let mut new = old.spawn_upgrade(&[]);
    // The new process listens on the upgrade socket while it waits for the sockets.
    eventually("the new process waiting for the sockets", || {
        sockets.join("upgrade.sock").exists()
    });
    old.signal("QUIT");
    assert!(
        old.wait_exit(Duration::from_secs(15)).is_some(),
        "old process did not exit"
    );
    let before = upstream.count();
    eventually("traffic through the new process", || {
        upstream.count() > before + 20
    });
    let out = client.stop();
    // What the issue asks: no connection refused across the handover, and every
    // answer a 200. One thing Pingora does that we cannot change from outside: when
    // the old process stops, it drops connections still waiting for their request
    // headers, so a connection it accepted in that instant ends without an answer.
    // A single sequential client has at most one connection in that state.
    assert_eq!((out.refused, out.bad_status), (0, 0), "{out:?}");
    assert!(out.unanswered <= 1, "{out:?}");
    assert!(
        new.try_wait().is_none(),
        "new process exited:\n{}",
        new.log()
    );
}

#[test]
fn the_access_log_is_an_audit_trail_and_restart_only_changes_are_named() {
    let dir = ProxyDir::with_fixtures();
    let (a, b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let (listen, admin) = (free_port(), free_port());
    let auth = "auth:\n  roles: {reader: {routes: [public]}}\n  keys: [{id: ci, secret: \"audit-key-1\", roles: [reader]}]\n";
    let gw = Gateway::start(&two_pool_config(listen, admin, &a, &b, "a", auth));
    let path = url_path(GREET_MODULE, GREET_VERSION, "zip");
    assert_eq!(
        get(gw.addr, &path, &[("X-API-Key", "audit-key-1")]).status,
        200
    );
    let mut line = None;
    eventually("the access log line", || {
        line = gw
            .log()
            .lines()
            .find(|l| l.contains("\"target\":\"access\"") && l.contains("\"kind\":\"zip\""))
            .map(str::to_string);
        line.is_some()
    });
    let line = line.unwrap_or_default();
    let upstream = a.url().trim_start_matches("http://").to_string();
    for field in [
        "\"client\":\"127.0.0.1\"".to_string(),
        "\"key\":\"ci\"".to_string(),
        "\"method\":\"GET\"".to_string(),
        format!("\"path\":\"{path}\""),
        format!("\"module\":\"{GREET_MODULE}\""),
        format!("\"version\":\"{GREET_VERSION}\""),
        "\"route\":\"public\"".to_string(),
        "\"pool\":\"a\"".to_string(),
        format!("\"backend\":\"{upstream}\""),
        "\"upstream_status\":200".to_string(),
        "\"tries\":1".to_string(),
        "\"status\":200".to_string(),
        "\"bytes\":".to_string(),
        "\"duration_ms\":".to_string(),
        "\"timestamp\":".to_string(),
    ] {
        assert!(line.contains(&field), "{field} missing from {line}");
    }
    assert!(!gw.log().contains("audit-key-1"), "a key reached the log");

    // A new listener address cannot be taken over by a reload: the log says so.
    let moved = two_pool_config(free_port(), admin, &a, &b, "a", auth);
    gw.write_config(&moved);
    assert!(
        gw.wait_for_log("take effect after a restart", Duration::from_secs(15)),
        "{}",
        gw.log()
    );
    assert_eq!(
        get(gw.addr, &info(), &[("X-API-Key", "audit-key-1")]).status,
        200
    );
}

#[test]
fn connections_are_served_by_one_worker_thread_each_as_configured() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let listen = free_port();
    let gw = Gateway::start(&format!(
        "server: {{threads: 3}}\nlisteners: [{{address: \"127.0.0.1:{listen}\"}}]\npools:\n  a: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [a]}}\n",
        upstream.url()
    ));
    let before = worker_switches(gw.pid());
    let names: Vec<&String> = before.keys().collect();
    assert_eq!(names, ["modgate-w1", "modgate-w2", "modgate-w3"]);
    // Kept connections land on the workers in turn (six: two each, whichever worker
    // is next); a worker waits for each next request on its connections, so every
    // worker that serves one is switched out each time.
    let mut conns: Vec<Conn> = (0..6).map(|_| Conn::connect(gw.addr)).collect();
    for _ in 0..3 {
        for conn in &mut conns {
            assert_eq!(conn.get(&info(), &[]).status, 200);
        }
    }
    let after = worker_switches(gw.pid());
    for (name, count) in &after {
        assert!(
            *count >= before[name] + 3,
            "{name} served nothing: {before:?} -> {after:?}"
        );
    }
}

/// Voluntary context switches of each worker thread, by thread name.
fn worker_switches(pid: u32) -> std::collections::BTreeMap<String, u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks");
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("status")).ok())
        .filter_map(|status| {
            let field = |key: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(key))
                    .map(|value| value.trim().to_string())
            };
            let name = field("Name:")?;
            let switches = field("voluntary_ctxt_switches:")?.parse().ok()?;
            name.starts_with("modgate-w").then_some((name, switches))
        })
        .collect()
}

/// modgate with its stderr on a pipe nobody reads (a stalled journald), and the
/// requests it answered on four kept connections within the budget.
fn answers_with_a_stalled_log(on_full: &str, requests: usize) -> (usize, String) {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let work = support::TempDir::new("modgate-stalled-log");
    let (listen, admin) = (free_port(), free_port());
    let config = work.path().join("modgate.yaml");
    std::fs::write(
        &config,
        format!(
            "log: {{on_full: {on_full}}}\nlisteners: [{{address: \"127.0.0.1:{listen}\"}}]\nadmin: {{address: \"127.0.0.1:{admin}\"}}\npools:\n  p: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [p]}}\n",
            upstream.url()
        ),
    )
    .expect("config");
    let mut child = std::process::Command::new(support::gateway::modgate_bin())
        .args(["run", "-c", &config.display().to_string()])
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start modgate");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{listen}").parse().expect("addr");
    eventually("modgate listens", || {
        std::net::TcpStream::connect(addr).is_ok()
            && std::net::TcpStream::connect(("127.0.0.1", admin)).is_ok()
    });
    let per_connection = requests / 4;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let mut conn = support::http::Conn::connect(addr);
                conn.set_read_timeout(Some(Duration::from_secs(3)));
                (0..per_connection)
                    .take_while(|_| {
                        conn.try_request("GET", &info(), &[])
                            .is_ok_and(|r| r.status == 200)
                    })
                    .count()
            })
        })
        .collect();
    let answered = clients.into_iter().map(|c| c.join().expect("client")).sum();
    let metrics = get(
        format!("127.0.0.1:{admin}").parse().expect("admin"),
        "/metrics",
        &[],
    )
    .text();
    let _ = child.kill();
    let _ = child.wait();
    (answered, metrics)
}

#[test]
fn a_stalled_log_output_drops_lines_with_on_full_drop_and_blocks_by_default() {
    // Far more lines than the pipe (64 KiB) and the queue (4096 lines) hold.
    let (answered, metrics) = answers_with_a_stalled_log("drop", 8000);
    assert_eq!(answered, 8000, "serving waited for the log");
    let dropped = support::metric(&metrics, "modgate_log_dropped_lines_total").unwrap_or(0.0);
    assert!(dropped > 1000.0, "{dropped} lines dropped\n{metrics}");

    let (answered, _) = answers_with_a_stalled_log("block", 8000);
    assert!(
        answered < 8000,
        "the audit trail lost lines: {answered} answered"
    );
}
