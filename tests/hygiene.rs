//! Request hygiene with the real binary: what a GOPROXY request never carries (a body,
//! an upgrade, a client's say on its own address) is refused or neutralised before
//! anything reaches an upstream, and what a client does wrong is never an upstream
//! failure.

mod support;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use reqwest::blocking::{Body, Client};
use reqwest::{Certificate, Version};

use support::goproxy::{info_json, url_path, GREET_MODULE, GREET_NEWER_VERSION, GREET_VERSION};
use support::http::{get, request, Conn, Response};
use support::pki::Ca;
use support::{
    eventually, free_port, metric, metrics, one_pool_config, Gateway, Mode, ProxyDir, TempDir,
    Upstream,
};

fn fixture_upstream() -> (ProxyDir, Upstream) {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    (dir, upstream)
}

fn admin_extra() -> String {
    format!("admin: {{address: \"127.0.0.1:{}\"}}\n", free_port())
}

/// `modgate_denied_total` for one reason, from the admin listener.
fn denied(gw: &Gateway, reason: &str) -> Option<f64> {
    metric(
        &metrics(gw),
        &format!("modgate_denied_total{{reason=\"{reason}\"}}"),
    )
}

fn assert_bad_request(answer: &Response, what: &str) {
    assert_eq!(answer.status, 400, "{what}: {}", answer.text());
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
}

/// Sends `raw` on a new connection; returns the answer and whether the connection was
/// left open after it.
fn exchange(addr: SocketAddr, raw: &str, head: bool) -> (Response, bool) {
    let mut conn = Conn::connect(addr);
    conn.send_raw(raw.as_bytes()).expect("send");
    let answer = conn
        .read_response(head)
        .unwrap_or_else(|e| panic!("no answer to {raw:?}: {e}"));
    let open = conn.is_open();
    (answer, open)
}

/// A request for another version, sent as a GET's body: what an upstream that does
/// not read GET bodies takes for the next request on the connection.
fn smuggled(version: &str, finished: bool) -> String {
    let path = url_path(GREET_MODULE, version, "info");
    if finished {
        format!("GET {path} HTTP/1.1\r\nHost: upstream\r\n\r\n")
    } else {
        // Left open: the next client's request line becomes this one's header.
        format!("GET {path} HTTP/1.1\r\nX-Ignore: ")
    }
}

#[test]
fn a_request_with_a_body_is_refused_and_nothing_reaches_the_upstream() {
    let (_dir, upstream) = fixture_upstream();
    upstream.ignore_bodies();
    let gw = Gateway::start(&one_pool_config(&admin_extra(), &upstream.url()));
    let info = url_path(GREET_MODULE, GREET_NEWER_VERSION, "info");
    let body = smuggled(GREET_VERSION, true);
    let len = body.len();
    let chunked = format!("{len:x}\r\n{body}\r\n0\r\n\r\n");
    let cases = [
        ("GET with Content-Length", format!("GET {info} HTTP/1.1\r\nHost: m\r\nContent-Length: {len}\r\n\r\n{body}"), false),
        ("HEAD with Content-Length", format!("HEAD {info} HTTP/1.1\r\nHost: m\r\nContent-Length: {len}\r\n\r\n{body}"), true),
        ("GET chunked", format!("GET {info} HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"), false),
        ("HEAD chunked", format!("HEAD {info} HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"), true),
        ("HTTP/1.0 GET with Content-Length", format!("GET {info} HTTP/1.0\r\nContent-Length: {len}\r\n\r\n{body}"), false),
        ("malformed chunks", format!("GET {info} HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{body}\r\n"), false),
        ("both framings", format!("GET {info} HTTP/1.1\r\nHost: m\r\nContent-Length: {len}\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"), false),
    ];
    for (what, raw, head) in &cases {
        let (answer, open) = exchange(gw.addr, raw, *head);
        assert_eq!(answer.status, 400, "{what}: {}", answer.text());
        assert!(
            !open,
            "{what}: the connection was kept, so its body would be read as a request"
        );
    }
    assert_eq!(
        upstream.requests(),
        vec![],
        "a request with a body reached the upstream"
    );
    eventually("each refusal is counted", || {
        denied(&gw, "bad_request").is_some_and(|n| n >= cases.len() as f64 - 1.0)
    });
}

#[test]
fn poisoning_requests_cannot_swap_the_answers_of_later_clients() {
    let (_dir, upstream) = fixture_upstream();
    upstream.ignore_bodies();
    let gw = Gateway::start(&one_pool_config("", &upstream.url()));
    let newer = url_path(GREET_MODULE, GREET_NEWER_VERSION, "info");
    let poison = smuggled(GREET_VERSION, false);
    let raw = format!(
        "GET {newer} HTTP/1.1\r\nHost: m\r\nContent-Length: {}\r\n\r\n{poison}",
        poison.len()
    );
    let poisoned: Vec<u16> = (0..3)
        .map(|_| exchange(gw.addr, &raw, false).0.status)
        .collect();
    // Each clean request on a fresh connection of its own; the swap, if any, happens
    // on the upstream connections modgate reuses.
    let answers: Vec<String> = (0..6).map(|_| get(gw.addr, &newer, &[]).text()).collect();
    assert_eq!(
        answers,
        vec![info_json(GREET_NEWER_VERSION); 6],
        "a clean request got another request's answer"
    );
    assert_eq!(poisoned, [400; 3]);
    for recorded in upstream.requests() {
        assert_eq!(recorded.decoded_path(), newer, "{recorded:?}");
    }
}

#[test]
fn an_http2_request_with_a_body_is_refused() {
    let certs = TempDir::new("modgate-hygiene");
    let ca = Ca::new("modgate test CA");
    let (cert, key) = ca.server(&["a.test"]).write(certs.path(), "server");
    let (_dir, upstream) = fixture_upstream();
    let listen = format!("127.0.0.1:{}", free_port());
    let gw = Gateway::start(&format!(
        "listeners:\n  - address: \"{listen}\"\n    tls:\n      certificates:\n        - {{cert: {:?}, key: {:?}}}\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
        cert.display().to_string(),
        key.display().to_string(),
        upstream.url()
    ));
    let client = Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_der(&ca.der()).expect("CA certificate"))
        .resolve("a.test", gw.addr)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");
    let url = format!("https://a.test:{}{info}", gw.addr.port());
    let smuggle = smuggled(GREET_NEWER_VERSION, true);

    let sized = client
        .get(&url)
        .body(smuggle.clone())
        .send()
        .expect("GET with a body");
    assert_eq!(sized.version(), Version::HTTP_2);
    assert_eq!(sized.status(), 400);
    // No content-length: the body is known only by its DATA frames.
    let unsized_body = Body::new(std::io::Cursor::new(smuggle.into_bytes()));
    let framed = client
        .get(&url)
        .body(unsized_body)
        .send()
        .expect("GET with DATA frames");
    assert_eq!(framed.version(), Version::HTTP_2);
    assert_eq!(framed.status(), 400);
    assert_eq!(framed.text().expect("body"), "modgate: a module proxy request carries no body\nsend GET or HEAD without Content-Length or Transfer-Encoding\n");
    assert_eq!(upstream.count(), 0, "{:?}", upstream.requests());

    let plain = client.get(&url).send().expect("plain GET");
    assert_eq!(plain.version(), Version::HTTP_2);
    assert_eq!(plain.status(), 200);
    assert_eq!(upstream.count(), 1);
}

const CLAIMS: [(&str, &str); 6] = [
    ("X-Real-IP", "203.0.113.9"),
    ("Forwarded", "for=203.0.113.9;host=evil.example;proto=https"),
    ("X-Forwarded-For", "203.0.113.9"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Prefix", "/evil"),
];

#[test]
fn only_a_trusted_proxy_may_name_the_client_address_host_or_scheme() {
    let (_dir, upstream) = fixture_upstream();
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");

    let untrusted = Gateway::start(&one_pool_config("", &upstream.url()));
    assert_eq!(get(untrusted.addr, &info, &CLAIMS).status, 200);
    let seen = upstream.requests_for(&info).pop().expect("forwarded");
    assert_eq!(seen.header("x-real-ip"), Some("127.0.0.1"), "{seen:?}");
    assert_eq!(
        seen.header("x-forwarded-for"),
        Some("127.0.0.1"),
        "{seen:?}"
    );
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"), "{seen:?}");
    for name in ["forwarded", "x-forwarded-host", "x-forwarded-prefix"] {
        assert_eq!(
            seen.header(name),
            None,
            "{name} reached the upstream: {seen:?}"
        );
    }
    drop(untrusted);
    upstream.clear();

    let trusted = Gateway::start(&one_pool_config(
        "client_ip: {trusted_proxies: [\"127.0.0.1/32\"]}\n",
        &upstream.url(),
    ));
    assert_eq!(get(trusted.addr, &info, &CLAIMS).status, 200);
    let seen = upstream.requests_for(&info).pop().expect("forwarded");
    assert_eq!(seen.header("x-real-ip"), Some("203.0.113.9"), "{seen:?}");
    assert_eq!(
        seen.header("x-forwarded-for"),
        Some("203.0.113.9, 127.0.0.1"),
        "{seen:?}"
    );
    assert_eq!(seen.header("x-forwarded-host"), Some("evil.example"));
    assert_eq!(seen.header("forwarded"), Some(CLAIMS[1].1));
}

#[test]
fn an_upgrade_is_never_forwarded_and_a_101_never_relayed() {
    let (_dir, upstream) = fixture_upstream();
    let gw = Gateway::start(&one_pool_config("", &upstream.url()));
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];
    let mut conn = Conn::connect(gw.addr);
    let answer = conn.get(&info, &upgrade);
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.text(), info_json(GREET_VERSION));
    // Still HTTP on the same connection.
    assert_eq!(conn.get(&info, &[]).status, 200);
    let seen = upstream.requests_for(&info);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("upgrade"), None, "{seen:?}");
    assert!(
        !seen[0]
            .header("connection")
            .is_some_and(|c| c.to_ascii_lowercase().contains("upgrade")),
        "{seen:?}"
    );

    upstream.set_mode(Mode::Status(101));
    let answer = get(gw.addr, &info, &upgrade);
    assert_eq!(answer.status, 502, "{}", answer.text());
}

#[test]
fn http_1_1_needs_exactly_one_host() {
    let (_dir, upstream) = fixture_upstream();
    let gw = Gateway::start(&one_pool_config("", &upstream.url()));
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");
    let (answer, _) = exchange(gw.addr, &format!("GET {info} HTTP/1.1\r\n\r\n"), false);
    assert_bad_request(&answer, "no Host");
    let (answer, _) = exchange(
        gw.addr,
        &format!("GET {info} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        false,
    );
    // Pingora refuses this one itself, with an empty 400.
    assert_eq!(answer.status, 400, "two Hosts");
    assert_eq!(upstream.count(), 0);
    let (answer, _) = exchange(gw.addr, &format!("GET {info} HTTP/1.0\r\n\r\n"), false);
    assert_eq!(
        answer.status,
        200,
        "HTTP/1.0 needs no Host: {}",
        answer.text()
    );
}

#[test]
fn a_header_pingora_cannot_forward_is_the_clients_error_not_an_upstream_failure() {
    let (_dir, upstream) = fixture_upstream();
    let gw = Gateway::start(&one_pool_config(&admin_extra(), &upstream.url()));
    let info = url_path(GREET_MODULE, GREET_VERSION, "info");
    for value in ["X-Forwarded-For", "close, Host", "\"x-forwarded-proto\""] {
        let answer = get(gw.addr, &info, &[("Connection", value)]);
        assert_bad_request(&answer, value);
    }
    assert_eq!(upstream.count(), 0);
    eventually("the refusals are counted", || {
        denied(&gw, "bad_request") == Some(3.0)
    });
    let text = metrics(&gw);
    assert!(!text.contains("status=\"error\""), "{text}");
    assert!(!gw.log().contains("\"level\":\"ERROR\""), "{}", gw.log());
}

#[test]
fn pipelined_requests_are_answered_in_order_on_a_kept_connection() {
    let (_dir, upstream) = fixture_upstream();
    let gw = Gateway::start(&one_pool_config("", &upstream.url()));
    let first = url_path(GREET_MODULE, GREET_VERSION, "info");
    let second = url_path(GREET_MODULE, GREET_NEWER_VERSION, "info");
    let mut conn = Conn::connect(gw.addr);
    conn.send_raw(
        format!("GET {first} HTTP/1.1\r\nHost: m\r\n\r\nGET {second} HTTP/1.1\r\nHost: m\r\n\r\n")
            .as_bytes(),
    )
    .expect("send both");
    for version in [GREET_VERSION, GREET_NEWER_VERSION] {
        let answer = conn
            .read_response(false)
            .expect("an answer for each request");
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.text(), info_json(version));
    }
    assert!(conn.is_open());
    assert_eq!(conn.get(&first, &[]).status, 200);
}

#[test]
fn a_client_that_stops_reading_is_closed_after_send_timeout_and_the_upstream_released() {
    const MODULE: &str = "example.com/big";
    let dir = ProxyDir::new();
    dir.add_big_zip(MODULE, "v1.0.0", 48_000_000);
    let upstream = Upstream::start(dir.path());
    let gw = Gateway::start(&one_pool_config(
        &format!("server: {{send_timeout: 1s}}\n{}", admin_extra()),
        &upstream.url(),
    ));
    let mut client = TcpStream::connect(gw.addr).expect("connect");
    let path = url_path(MODULE, "v1.0.0", "zip");
    std::io::Write::write_all(
        &mut client,
        format!("GET {path} HTTP/1.1\r\nHost: m\r\n\r\n").as_bytes(),
    )
    .expect("send");
    let mut start = [0u8; 4096];
    client.read_exact(&mut start).expect("the answer starts");
    assert!(start.starts_with(b"HTTP/1.1 200"));
    // The client takes nothing more; modgate must let go of both ends.
    eventually("the upstream connection is released", || {
        upstream.open_connections() == 0
    });
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut rest = Vec::new();
    client
        .read_to_end(&mut rest)
        .expect("the connection ends with a close, not a timeout");
    assert!(
        (rest.len() as u64) < 48_000_000,
        "the whole zip arrived: the client was not cut off"
    );
    assert_eq!(denied(&gw, "send_timeout"), Some(1.0));
    eventually("the cut-off download is counted", || {
        metrics(&gw).contains("modgate_requests_total{")
    });
    let text = metrics(&gw);
    assert!(!text.contains("status=\"error\""), "{text}");
}

#[test]
fn the_admin_listener_serves_only_get_and_head() {
    let (_dir, upstream) = fixture_upstream();
    let gw = Gateway::start(&one_pool_config(&admin_extra(), &upstream.url()));
    let admin = gw.admin.expect("admin address");
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let answer = request(admin, method, "/metrics", &[]);
        assert_eq!(answer.status, 405, "{method}: {}", answer.text());
        assert_eq!(answer.header("allow"), Some("GET, HEAD"), "{method}");
    }
    assert_eq!(request(admin, "HEAD", "/metrics", &[]).status, 200);
    assert_eq!(get(admin, "/metrics", &[]).status, 200);
}
