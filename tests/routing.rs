//! Routing, pools and refusals, with the real binary against recording upstreams.

mod support;

use support::goproxy::{
    url_path, CASE_VERSION, GREET_MODULE, GREET_VERSION, SECRET_MODULE, SECRET_VERSION,
};
use support::http::get;
use support::{free_port, one_pool_config, Gateway, Mode, ProxyDir, Upstream};

fn listener() -> String {
    format!("127.0.0.1:{}", free_port())
}

#[test]
fn weighted_round_robin_spreads_requests() {
    let dir = ProxyDir::with_fixtures();
    let (a, b, c) = (
        Upstream::start(dir.path()),
        Upstream::start(dir.path()),
        Upstream::start(dir.path()),
    );
    let gw = Gateway::start(&format!(
        "listeners: [{{address: \"{}\"}}]\npools:\n  public:\n    backends:\n      - {{url: \"{}\", weight: 2}}\n      - url: \"{}\"\n      - url: \"{}\"\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
        listener(), a.url(), b.url(), c.url()
    ));
    let path = url_path(GREET_MODULE, GREET_VERSION, "info");
    for _ in 0..400 {
        assert_eq!(get(gw.addr, &path, &[]).status, 200);
    }
    assert_eq!((a.count(), b.count(), c.count()), (200, 100, 100));
}

#[test]
fn not_found_falls_through_to_the_next_pool_only() {
    let full = ProxyDir::with_fixtures();
    let empty = ProxyDir::new();
    let (first, second) = (Upstream::start(empty.path()), Upstream::start(full.path()));
    let gw = Gateway::start(&format!(
        "listeners: [{{address: \"{}\"}}]\npools:\n  mirror: {{backends: [{{url: \"{}\"}}]}}\n  origin: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [mirror, origin]}}\n",
        listener(), first.url(), second.url()
    ));
    let path = url_path(GREET_MODULE, GREET_VERSION, "mod");
    let response = get(gw.addr, &path, &[]);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.text(), "module example.com/greet\n\ngo 1.19\n");
    assert_eq!((first.count(), second.count()), (1, 1));

    // A 5xx is not a reason to leave the pool list order: it stays in the pool.
    first.clear();
    second.clear();
    first.set_mode(Mode::Status(500));
    assert_eq!(get(gw.addr, &path, &[]).status, 500);
    assert_eq!(second.count(), 0);

    // 410 Gone falls through like 404 (the GOPROXY comma rule).
    first.clear();
    second.clear();
    first.set_mode(Mode::Status(410));
    assert_eq!(get(gw.addr, &path, &[]).status, 200);
    assert_eq!((first.count(), second.count()), (1, 1));

    // Not found everywhere: the last pool's 404 is the answer.
    first.set_mode(Mode::Serve);
    let missing = url_path(GREET_MODULE, "v9.9.9", "mod");
    assert_eq!(get(gw.addr, &missing, &[]).status, 404);
}

#[test]
fn private_modules_never_reach_another_pool() {
    // The corp backend holds nothing, so its answer is a 404 of its own: the test
    // shows that 404 is what the client gets, not the public pool's copy.
    let (dir, corp_dir) = (ProxyDir::with_fixtures(), ProxyDir::new());
    let (corp, public) = (
        Upstream::start(corp_dir.path()),
        Upstream::start(dir.path()),
    );
    let gw = Gateway::start(&format!(
        "listeners: [{{address: \"{}\"}}]\npools:\n  corp: {{backends: [{{url: \"{}\"}}]}}\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: private, modules: [\"*.corp.example.com\"], pools: [corp], private: true}}\n  - {{name: public, modules: [\"*\"], pools: [public]}}\nsumdb:\n  - {{name: sum.golang.org, pool: public}}\n",
        listener(), corp.url(), public.url()
    ));
    // The corp backend does not have it: the answer is its 404, not the public copy.
    for ext in ["info", "mod", "zip"] {
        assert_eq!(
            get(gw.addr, &url_path(SECRET_MODULE, SECRET_VERSION, ext), &[]).status,
            404
        );
    }
    let lookup = format!("/sumdb/sum.golang.org/lookup/{SECRET_MODULE}@{SECRET_VERSION}");
    let refused = get(gw.addr, &lookup, &[]);
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("GONOSUMDB"), "{}", refused.text());
    assert_eq!(corp.count(), 3);
    assert_eq!(
        public.count_for("corp.example.com"),
        0,
        "{:?}",
        public.requests()
    );
    assert_eq!(public.count(), 0);
}

#[test]
fn refusals_reach_no_upstream() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let gw = Gateway::start(&format!(
        "listeners: [{{address: \"{}\"}}]\npools:\n  corp: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: private, modules: [\"*.corp.example.com\"], pools: [corp]}}\n",
        listener(), upstream.url()
    ));
    let cases = [
        (
            "GET",
            url_path(GREET_MODULE, GREET_VERSION, "info"),
            404,
            "no route serves module example.com/greet",
        ),
        (
            "GET",
            "/github.com/Upper/Case/@v/list".to_string(),
            400,
            "upper-case",
        ),
        (
            "GET",
            "/example.com/x/../y/@v/list".to_string(),
            400,
            "invalid module path",
        ),
        (
            "GET",
            "/example.com/x/@v/v1.0.0.tar".to_string(),
            400,
            "unsupported GOPROXY request",
        ),
        (
            "GET",
            "/example.com/x/@v/master.zip".to_string(),
            400,
            "version",
        ),
        (
            "GET",
            "/favicon.ico".to_string(),
            404,
            "not a module proxy path",
        ),
        (
            "POST",
            url_path(SECRET_MODULE, SECRET_VERSION, "info"),
            405,
            "only GET and HEAD",
        ),
        ("DELETE", "/".to_string(), 405, "only GET and HEAD"),
    ];
    for (method, path, status, text) in cases {
        let response = support::http::request(gw.addr, method, &path, &[]);
        assert_eq!(
            response.status,
            status,
            "{method} {path}: {}",
            response.text()
        );
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8"),
            "{path}"
        );
        assert!(
            response.text().contains(text),
            "{path}: {}",
            response.text()
        );
        if status == 405 {
            assert_eq!(response.header("allow"), Some("GET, HEAD"), "{path}");
        }
    }
    assert_eq!(upstream.count(), 0, "{:?}", upstream.requests());
}

#[test]
fn upstream_requests_use_the_base_path_host_and_pool_headers_without_client_credentials() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start_with_base(dir.path(), "/goproxy");
    let gw = Gateway::start_with_env(
        &format!(
            "listeners: [{{address: \"{}\"}}]\npools:\n  public:\n    backends: [{{url: \"{}/goproxy/\"}}]\n    headers: {{Authorization: \"Bearer ${{BACKEND_TOKEN}}\"}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
            listener(), upstream.url()
        ),
        &[("BACKEND_TOKEN", "pool-credential")],
    );
    let path = format!("/{}/@v/{CASE_VERSION}.info", "github.com/%21upper/%21case");
    let response = get(
        gw.addr,
        &path,
        &[
            ("Authorization", "Basic Y2k6Y2xpZW50LXNlY3JldA=="),
            ("X-API-Key", "client-secret"),
            ("Cookie", "session=client-secret"),
        ],
    );
    assert_eq!(response.status, 200, "{}", response.text());
    let recorded = upstream.requests();
    assert_eq!(recorded.len(), 1);
    let request = &recorded[0];
    assert_eq!(request.path, format!("/goproxy{path}"));
    assert_eq!(
        request.header("host"),
        Some(upstream.url().trim_start_matches("http://"))
    );
    assert_eq!(
        request.header("authorization"),
        Some("Bearer pool-credential")
    );
    assert_eq!(request.header("x-api-key"), None);
    assert_eq!(request.header("cookie"), None);
    assert_eq!(request.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(request.header("x-forwarded-proto"), Some("http"));
}

#[test]
fn checksum_database_requests() {
    let dir = ProxyDir::with_fixtures();
    let sumdb_dir = ProxyDir::new();
    let lookup = sumdb_dir.path().join("lookup/github.com/!upper");
    std::fs::create_dir_all(&lookup).expect("dir");
    std::fs::write(
        sumdb_dir.path().join("latest"),
        "go.sum database tree\n1\nabc=\n",
    )
    .expect("latest");
    std::fs::write(
        lookup.join("!case@v1.2.0"),
        "42\ngithub.com/Upper/Case v1.2.0 h1:x=\n",
    )
    .expect("lookup");
    let (public, sumdb) = (
        Upstream::start(dir.path()),
        Upstream::start(sumdb_dir.path()),
    );
    let gw = Gateway::start(&format!(
        "listeners: [{{address: \"{}\"}}]\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\n  sumdb: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\nsumdb:\n  - {{name: sum.golang.org, pool: sumdb}}\n",
        listener(), public.url(), sumdb.url()
    ));
    assert_eq!(
        get(gw.addr, "/sumdb/sum.golang.org/supported", &[]).status,
        200
    );
    assert_eq!(
        get(gw.addr, "/sumdb/sum.example.org/supported", &[]).status,
        404
    );
    let latest = get(gw.addr, "/sumdb/sum.golang.org/latest", &[]);
    assert_eq!(latest.status, 200);
    assert!(latest.text().starts_with("go.sum database tree"));
    let lookup = get(
        gw.addr,
        "/sumdb/sum.golang.org/lookup/github.com/!upper/!case@v1.2.0",
        &[],
    );
    assert_eq!(lookup.status, 200, "{}", lookup.text());
    assert!(lookup.text().contains("github.com/Upper/Case v1.2.0"));
    let paths: Vec<String> = sumdb.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/latest", "/lookup/github.com/!upper/!case@v1.2.0"]);
    assert_eq!(public.count(), 0);
}

#[test]
fn http_1_0_and_connection_close_are_answered_then_closed() {
    use std::io::{Read, Write};
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let gw = Gateway::start(&one_pool_config(
        "server: {keepalive_timeout: 60s}\n",
        &upstream.url(),
    ));
    let path = url_path(GREET_MODULE, GREET_VERSION, "info");
    for request in [
        format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n"),
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    ] {
        let mut stream = std::net::TcpStream::connect(gw.addr).expect("connect");
        // Far below the 60 s keep-alive: only a close ends the read in time.
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(request.as_bytes()).expect("send");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .unwrap_or_else(|e| panic!("not closed after {request:?}: {e}"));
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{answer}"
        );
        assert!(answer.ends_with("Z\"}"), "{answer}");
    }
}

#[test]
fn oversized_request_lines_and_headers_are_refused() {
    let dir = ProxyDir::with_fixtures();
    let upstream = Upstream::start(dir.path());
    let gw = Gateway::start(&one_pool_config(
        "server: {max_request_line: 2048, max_header_bytes: 4096}\n",
        &upstream.url(),
    ));
    let long = format!("/example.com/{}/@v/list", "a".repeat(3000));
    let response = get(gw.addr, &long, &[]);
    assert_eq!(response.status, 414, "{}", response.text());
    assert!(response.text().contains("longer than 2048 bytes"));
    let big = "b".repeat(5000);
    let response = get(
        gw.addr,
        &url_path(GREET_MODULE, GREET_VERSION, "info"),
        &[("X-Padding", &big)],
    );
    assert_eq!(response.status, 431, "{}", response.text());
    assert_eq!(
        get(gw.addr, &url_path(GREET_MODULE, GREET_VERSION, "info"), &[]).status,
        200
    );
    assert_eq!(upstream.count(), 1);
}
