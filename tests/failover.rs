//! Failover inside a pool: dead, failing and slow backends, with the real binary
//! against recording upstreams.

mod support;

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use support::goproxy::{info_json, url_path, GREET_MODULE, GREET_VERSION};
use support::http::{get, Response};
use support::{eventually, free_port, Gateway, Mode, ProxyDir, Upstream};

/// The path every health check in this file probes (never asked by the client).
const HEALTH_PATH: &str = "/example.com/greet/@v/list";

/// Generous upper bound for "eventually" (health state flips take ~0.5 s).
const EVENTUALLY: Duration = Duration::from_secs(10);

fn listener() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// The `.info` path the client asks for in these tests.
fn info_path() -> String {
    url_path(GREET_MODULE, GREET_VERSION, "info")
}

/// A config with one pool `mirrors` (the given backends and extra pool settings,
/// as YAML flow-map entries) and one route for every module.
fn config(backends: &[&Upstream], pool_settings: &str) -> String {
    let mut yaml = format!(
        "listeners: [{{address: \"{}\"}}]\npools:\n  mirrors:\n    backends:\n",
        listener()
    );
    for b in backends {
        yaml.push_str(&format!("      - url: \"{}\"\n", b.url()));
    }
    for line in pool_settings.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str(&format!("    {}\n", line.trim()));
    }
    yaml.push_str("routes:\n  - {name: public, modules: [\"*\"], pools: [mirrors]}\n");
    yaml
}

fn health_check() -> String {
    format!(
        "health_check: {{path: \"{HEALTH_PATH}\", interval: 200ms, timeout: 1s, healthy_threshold: 2, unhealthy_threshold: 2}}"
    )
}

/// Client requests (anything but the health probe) an upstream has received.
fn client_requests(upstream: &Upstream) -> usize {
    upstream.count() - upstream.count_for(HEALTH_PATH)
}

/// The `.info` answer the client must get, whoever serves it.
fn assert_info_ok(response: &Response, what: &str) {
    assert_eq!(response.status, 200, "{what}: {}", response.text());
    assert_eq!(response.text(), info_json(GREET_VERSION), "{what}");
}

/// Which upstream wrote the answer (the fixture sets `X-Upstream: <addr>`).
fn served_by(response: &Response) -> Option<String> {
    response.header("x-upstream").map(str::to_owned)
}

#[test]
fn a_backend_killed_mid_loop_costs_the_client_nothing() {
    let dir = ProxyDir::with_fixtures();
    let (a, mut b, c) = (
        Upstream::start(dir.path()),
        Upstream::start(dir.path()),
        Upstream::start(dir.path()),
    );
    let gw = Gateway::start(&config(&[&a, &b, &c], "retries: 2"));
    let path = info_path();

    const TOTAL: usize = 300;
    const KILL_AT: usize = 100;
    let mut at_kill = (0, 0, 0);
    for i in 0..TOTAL {
        if i == KILL_AT {
            b.stop();
            at_kill = (a.count(), b.count(), c.count());
            // Every backend had its share before the kill.
            assert!(
                at_kill.0 > 0 && at_kill.1 > 0 && at_kill.2 > 0,
                "{at_kill:?}"
            );
            assert_eq!(at_kill.0 + at_kill.1 + at_kill.2, KILL_AT, "{at_kill:?}");
        }
        let response = get(gw.addr, &path, &[]);
        assert_info_ok(&response, &format!("request {i}"));
    }

    assert_eq!(b.count(), at_kill.1, "the killed backend got new requests");
    let (a_after, c_after) = (a.count() - at_kill.0, c.count() - at_kill.2);
    // Each of the remaining requests was served exactly once, by a survivor.
    assert_eq!(
        a_after + c_after,
        TOTAL - KILL_AT,
        "a {a_after}, c {c_after}"
    );
    // Round-robin keeps spreading over both survivors.
    let fair = (TOTAL - KILL_AT) / 4;
    assert!(
        a_after >= fair && c_after >= fair,
        "a {a_after}, c {c_after}"
    );
}

#[test]
fn a_backend_dying_with_a_request_in_flight_is_retried_on_another() {
    let dir = ProxyDir::with_fixtures();
    let (mut slow, healthy) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    slow.set_mode(Mode::Delay(Duration::from_secs(5)));
    let gw = Gateway::start(&config(&[&slow, &healthy], "retries: 2\nread_timeout: 30s"));
    let (addr, path) = (gw.addr, info_path());

    // Round-robin starts at the first backend, so the first request waits on `slow`;
    // should it not, the request is simply served by `healthy` and the loop goes on.
    let mut served = Vec::new();
    for _ in 0..4 {
        let before = slow.count();
        let path = path.clone();
        let client = thread::spawn(move || get(addr, &path, &[]));
        let deadline = Instant::now() + EVENTUALLY;
        while slow.count() == before && !client.is_finished() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        if slow.count() > before {
            // The request is inside `slow` now: kill it before it answers.
            slow.stop();
            let response = client.join().expect("client thread");
            assert_info_ok(&response, "request cut by a dying backend");
            assert_eq!(served_by(&response), Some(healthy.addr().to_string()));
            served.push(response);
            break;
        }
        let response = client.join().expect("client thread");
        assert_info_ok(&response, "request served by the healthy backend");
    }
    assert_eq!(served.len(), 1, "no request ever reached the slow backend");
    assert_eq!(slow.count(), 1);
}

#[test]
fn health_checks_take_a_failing_backend_out_and_bring_it_back() {
    let dir = ProxyDir::with_fixtures();
    let (a, b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let gw = Gateway::start(&config(
        &[&a, &b],
        &format!("retries: 2\n{}", health_check()),
    ));
    let path = info_path();
    let ask = |n: usize, what: &str| {
        for i in 0..n {
            assert_info_ok(&get(gw.addr, &path, &[]), &format!("{what}, request {i}"));
        }
    };

    // Both serve clients to begin with, and both are probed.
    ask(20, "both up");
    assert!(client_requests(&a) > 0 && client_requests(&b) > 0);
    assert!(a.wait_for(HEALTH_PATH, 1, EVENTUALLY), "a is never probed");
    assert!(b.wait_for(HEALTH_PATH, 1, EVENTUALLY), "b is never probed");

    // b fails its probes (and any client request it still gets: those are retried
    // on a, so the client sees no failure while the checker makes up its mind).
    b.set_mode(Mode::Status(500));
    let deadline = Instant::now() + EVENTUALLY;
    loop {
        let (a_before, b_before) = (client_requests(&a), client_requests(&b));
        ask(20, "b failing");
        let (a_window, b_window) = (
            client_requests(&a) - a_before,
            client_requests(&b) - b_before,
        );
        if b_window == 0 {
            assert_eq!(a_window, 20, "the survivor serves every client request");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "b still gets client requests {EVENTUALLY:?} after it started failing its health checks"
        );
    }

    // Taken out, not forgotten: b keeps being probed but sees no client request.
    let (b_clients, b_probes) = (client_requests(&b), b.count_for(HEALTH_PATH));
    ask(20, "b out");
    assert!(
        b.wait_for(HEALTH_PATH, b_probes + 2, EVENTUALLY),
        "b is no longer probed while out"
    );
    assert_eq!(
        client_requests(&b),
        b_clients,
        "b got client requests while out"
    );

    // b recovers: after healthy_threshold passes it gets client requests again.
    b.set_mode(Mode::Serve);
    let deadline = Instant::now() + EVENTUALLY;
    while client_requests(&b) == b_clients {
        assert!(
            Instant::now() < deadline,
            "b got no client request {EVENTUALLY:?} after it recovered"
        );
        ask(5, "b recovering");
        thread::sleep(Duration::from_millis(50));
    }
    // And shares the load again.
    let (a_before, b_before) = (client_requests(&a), client_requests(&b));
    ask(20, "b back");
    assert!(client_requests(&a) > a_before && client_requests(&b) > b_before);
}

#[test]
fn a_5xx_is_retried_on_another_backend_of_the_pool() {
    let dir = ProxyDir::with_fixtures();
    let (failing, healthy) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    failing.set_mode(Mode::Status(500));
    let gw = Gateway::start(&config(&[&failing, &healthy], "retries: 2"));
    let path = info_path();

    let mut tried_failing = 0;
    for i in 0..6 {
        let (f_before, h_before) = (failing.count(), healthy.count());
        let response = get(gw.addr, &path, &[]);
        assert_info_ok(&response, &format!("request {i}"));
        assert_eq!(served_by(&response), Some(healthy.addr().to_string()));
        let (f_delta, h_delta) = (failing.count() - f_before, healthy.count() - h_before);
        // The failing backend is asked at most once per request (then the other one),
        // and the healthy one answers exactly once.
        assert!(
            f_delta <= 1,
            "request {i}: failing backend asked {f_delta} times"
        );
        assert_eq!(h_delta, 1, "request {i}");
        tried_failing += f_delta;
    }
    // Round-robin sends about half of the first tries to the failing backend.
    assert!(
        tried_failing >= 2,
        "failing backend tried {tried_failing} times"
    );
}

#[test]
fn no_healthy_backend_is_a_503_naming_the_pool() {
    let dir = ProxyDir::with_fixtures();
    let (a, b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    a.set_mode(Mode::Status(500));
    b.set_mode(Mode::Status(500));
    let gw = Gateway::start(&config(
        &[&a, &b],
        &format!("retries: 2\n{}", health_check()),
    ));
    let path = info_path();

    // Until the checker has taken both out, the client gets the upstreams' 500.
    let deadline = Instant::now() + EVENTUALLY;
    let response = loop {
        let response = get(gw.addr, &path, &[]);
        if response.status == 503 {
            break response;
        }
        assert_eq!(response.status, 500, "{}", response.text());
        assert!(
            Instant::now() < deadline,
            "still no 503 {EVENTUALLY:?} after every backend started failing"
        );
        thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let text = response.text();
    assert!(text.contains("mirrors"), "{text}");
    assert!(text.contains("no healthy backend"), "{text}");

    // Refused by modgate itself: no client request reaches a backend.
    let before = (client_requests(&a), client_requests(&b));
    for _ in 0..5 {
        assert_eq!(get(gw.addr, &path, &[]).status, 503);
    }
    assert_eq!((client_requests(&a), client_requests(&b)), before);
}

#[test]
fn readyz_is_503_while_a_pool_has_no_healthy_backend() {
    let dir = ProxyDir::with_fixtures();
    let a = Upstream::start(dir.path());
    let admin = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let gw = Gateway::start(&format!(
        "admin: {{address: \"{admin}\"}}\n{}",
        config(&[&a], &health_check())
    ));
    let ready = || get(admin, "/readyz", &[]);
    assert_eq!(gw.admin, Some(admin));
    eventually("ready while the backend passes", || ready().status == 200);

    a.set_mode(Mode::Status(500));
    eventually("not ready once the backend is out", || {
        ready().status == 503
    });
    let not_ready = ready();
    assert_eq!(
        not_ready.text(),
        "not ready: no healthy backend in pool(s) mirrors\n"
    );
    // Liveness is another matter: the process still answers.
    assert_eq!(get(admin, "/healthz", &[]).status, 200);

    a.set_mode(Mode::Serve);
    eventually("ready again once the backend is back", || {
        ready().status == 200
    });
}

#[test]
fn every_backend_down_without_health_check_is_a_502_naming_the_pool() {
    let dir = ProxyDir::with_fixtures();
    let (mut a, mut b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let gw = Gateway::start(&config(&[&a, &b], "retries: 2\nconnect_timeout: 1s"));
    let path = info_path();
    assert_info_ok(&get(gw.addr, &path, &[]), "before the backends die");
    a.stop();
    b.stop();

    for i in 0..3 {
        let response = get(gw.addr, &path, &[]);
        assert_eq!(response.status, 502, "request {i}: {}", response.text());
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        let text = response.text();
        assert!(text.contains("mirrors"), "{text}");
        assert!(
            text.ends_with('\n') && text.lines().count() <= 2,
            "{text:?}"
        );
    }
}

#[test]
fn a_backend_slower_than_read_timeout_is_left_for_another() {
    let dir = ProxyDir::with_fixtures();
    let (slow, healthy) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    // Far apart, so a loaded machine's pauses on the healthy backend never reach the
    // timeout while the slow one always does.
    slow.set_mode(Mode::Delay(Duration::from_secs(20)));
    let gw = Gateway::start(&config(&[&slow, &healthy], "retries: 2\nread_timeout: 2s"));
    let path = info_path();

    let mut tried_slow = 0;
    for i in 0..4 {
        let (s_before, h_before) = (slow.count(), healthy.count());
        let response = get(gw.addr, &path, &[]);
        assert_info_ok(&response, &format!("request {i}"));
        // Served by the healthy backend, not by the slow one after its delay.
        assert_eq!(served_by(&response), Some(healthy.addr().to_string()));
        assert_eq!(healthy.count() - h_before, 1, "request {i}");
        let s_delta = slow.count() - s_before;
        assert!(
            s_delta <= 1,
            "request {i}: slow backend asked {s_delta} times"
        );
        tried_slow += s_delta;
    }
    assert!(tried_slow >= 1, "the slow backend was never tried");
}

#[test]
fn a_backend_hanging_up_without_an_answer_is_retried_on_another() {
    let dir = ProxyDir::with_fixtures();
    let (rude, healthy) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    rude.set_mode(Mode::Hangup);
    let gw = Gateway::start(&config(&[&rude, &healthy], "retries: 2"));
    let path = info_path();

    let mut tried_rude = 0;
    for i in 0..6 {
        let (r_before, h_before) = (rude.count(), healthy.count());
        let response = get(gw.addr, &path, &[]);
        assert_info_ok(&response, &format!("request {i}"));
        assert_eq!(served_by(&response), Some(healthy.addr().to_string()));
        assert_eq!(healthy.count() - h_before, 1, "request {i}");
        let r_delta = rude.count() - r_before;
        assert!(
            r_delta <= 1,
            "request {i}: rude backend asked {r_delta} times"
        );
        tried_rude += r_delta;
    }
    assert!(tried_rude >= 2, "rude backend tried {tried_rude} times");
}

/// Once the answer has started, there is nothing left to retry: the client must see
/// the download cut, never a shorter body that looks complete.
#[test]
fn a_backend_dying_mid_body_cuts_the_client_response() {
    use std::io::{Read, Write};

    const MODULE: &str = "example.com/slowzip";
    let dir = ProxyDir::with_fixtures();
    dir.add_big_zip(MODULE, "v1.0.0", 4 << 20);
    let size = std::fs::metadata(dir.file_path(MODULE, "v1.0.0", "zip"))
        .expect("zip")
        .len();
    let mut slow = Upstream::start(dir.path());
    let spare = Upstream::start(dir.path());
    slow.set_mode(Mode::SlowBody {
        bytes_per_sec: 1 << 20,
    });
    // `spare` is second in round-robin order: the first request goes to `slow`.
    let gw = Gateway::start(&config(&[&slow, &spare], "retries: 2\nread_timeout: 30s"));

    let mut stream = std::net::TcpStream::connect(gw.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let zip = url_path(MODULE, "v1.0.0", "zip");
    write!(
        stream,
        "GET {zip} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        gw.addr
    )
    .expect("send");

    // Read the head and the first body bytes, then kill the backend.
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            if raw.len() > i + 4 {
                break i + 4;
            }
        }
        let n = stream.read(&mut buf).expect("read the response head");
        assert!(
            n > 0,
            "closed before the body: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200 "), "{head}");
    assert_eq!(spare.count(), 0, "the zip came from the spare backend");
    slow.stop();

    // The rest, until modgate closes the connection.
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A reset is an honest cut too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("modgate neither finished nor closed the response: {e}"),
        }
    }
    let body = &raw[head_end..];
    if let Some(length) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        let length: u64 = length.trim().parse().expect("content-length");
        assert_eq!(length, size);
        assert!(
            (body.len() as u64) < length,
            "the whole zip arrived although its backend died"
        );
    } else {
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        // A chunked body that was cut must not end with the last chunk.
        assert!(
            !body.ends_with(b"\r\n0\r\n\r\n"),
            "a cut download was closed as if complete ({} bytes)",
            body.len()
        );
    }
}

/// `modgate_backend_up` for one backend of pool `mirrors`, from the admin listener.
fn backend_up(gw: &Gateway, backend: &Upstream) -> Option<f64> {
    let admin = gw.admin.expect("an admin listener");
    let metrics = get(admin, "/metrics", &[]);
    assert_eq!(metrics.status, 200);
    let label = format!("backend=\"{}\"", backend.addr());
    metrics
        .text()
        .lines()
        .filter(|l| l.starts_with("modgate_backend_up{"))
        .filter(|l| l.contains(&label) && l.contains("pool=\"mirrors\""))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn health_checks_take_a_stopped_backend_out_and_bring_it_back_after_restart() {
    let dir = ProxyDir::with_fixtures();
    let (a, mut b) = (Upstream::start(dir.path()), Upstream::start(dir.path()));
    let yaml = config(&[&a, &b], &format!("retries: 2\n{}", health_check())).replacen(
        "pools:",
        &format!("admin: {{address: \"127.0.0.1:{}\"}}\npools:", free_port()),
        1,
    );
    let gw = Gateway::start(&yaml);
    let path = info_path();
    let ask = |n: usize, what: &str| {
        for i in 0..n {
            assert_info_ok(&get(gw.addr, &path, &[]), &format!("{what}, request {i}"));
        }
    };
    ask(10, "both up");
    assert!(client_requests(&b) > 0);

    // Stopped: refused connections are retried on a, and the checker takes b out.
    b.stop();
    let deadline = Instant::now() + EVENTUALLY;
    while backend_up(&gw, &b) != Some(0.0) {
        assert!(
            Instant::now() < deadline,
            "b not reported down {EVENTUALLY:?} after it stopped: {:?}",
            backend_up(&gw, &b)
        );
        ask(5, "b stopped");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(backend_up(&gw, &a), Some(1.0));

    // Restarted: clients reach b again, but only after healthy_threshold (2)
    // passed probes; until then a serves everything.
    b.clear();
    b.restart();
    let deadline = Instant::now() + EVENTUALLY;
    while client_requests(&b) == 0 {
        assert!(
            Instant::now() < deadline,
            "b got no client request {EVENTUALLY:?} after its restart"
        );
        ask(5, "b restarted");
        thread::sleep(Duration::from_millis(20));
    }
    let log = b.requests();
    let first_client = log
        .iter()
        .position(|r| !r.path.contains(HEALTH_PATH))
        .expect("a client request");
    assert!(
        first_client >= 2,
        "b served a client after {first_client} probe(s): {:?}",
        &log[..=first_client]
    );
}

#[test]
fn every_configured_retry_is_made_even_past_pingoras_default_cap() {
    // Pingora stops after 16 retries unless told otherwise: 17 must all be made.
    let dir = ProxyDir::with_fixtures();
    let failing = Upstream::start(dir.path());
    failing.set_mode(Mode::Status(503));
    let gw = Gateway::start(&config(&[&failing], "retries: 17"));
    let response = get(gw.addr, &info_path(), &[]);
    assert_eq!(response.status, 503, "{}", response.text());
    assert_eq!(client_requests(&failing), 18, "one try and 17 retries");
}
