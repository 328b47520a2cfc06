//! The decision path without I/O at production-scale sizes: request parsing, address
//! rules (10,000 CIDRs), key check (10,000 keys), route match (1,000 routes, and the
//! route index's worst case), and the compile-and-swap of a configuration that size.
//!
//! cargo bench --bench decision

use arc_swap::ArcSwap;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use modgate::config::compile_text;
use modgate::pool::registry::StateRegistry;
use modgate::proxy::decide::{decide, Inbound, Outcome};
use modgate::snapshot::Snapshot;
use std::fmt::Write;
use std::net::IpAddr;
use std::path::Path;

const RULES: usize = 10_000;
const KEYS: usize = 10_000;
const ROUTES: usize = 1_000;

fn key(i: usize) -> String {
    format!("key-{i:05}-0123456789abcdef")
}

/// 10,000 deny rules for 10.x.y.0/24 networks, then an allow for 127.0.0.0/8;
/// 999 private routes for team-N.corp.example.com, then a catch-all.
fn large_config() -> String {
    let mut y = String::from("listeners: [{address: \"127.0.0.1:8443\"}]\naccess:\n  default: deny\n  rules:\n    - deny:\n");
    for i in 0..RULES {
        let _ = writeln!(y, "        - 10.{}.{}.0/24", i / 256, i % 256);
    }
    y.push_str("    - allow: [\"127.0.0.0/8\"]\npools:\n  public: {backends: [{url: \"http://127.0.0.1:3000\"}]}\n  corp: {backends: [{url: \"http://127.0.0.1:3001\"}]}\nroutes:\n");
    for i in 0..ROUTES - 1 {
        let _ = writeln!(y, "  - {{name: team-{i}, modules: [\"team-{i}.corp.example.com\", \"github.com/team-{i}\"], pools: [corp], private: true}}");
    }
    y.push_str("  - {name: public, modules: [\"*\"], pools: [public]}\nauth:\n  roles:\n    reader: {routes: [\"*\"]}\n  keys:\n");
    for i in 0..KEYS {
        let hash = hex::encode(modgate::auth::hash_key(key(i).as_bytes()));
        let _ = writeln!(y, "    - {{id: k{i}, sha256: \"{hash}\", roles: [reader]}}");
    }
    y
}

/// Makes route N's module pattern.
type Pattern = fn(usize) -> String;

/// 999 routes whose patterns share a wildcard shape, made by `pattern`, then the
/// catch-all: the cases where an index of literal elements alone would test every
/// route. `github.com/*/team-N` share one `*` edge; `github.com/team-N-*` and
/// `*.team-N.corp.example.com` each have an edge of their own, found by its literal
/// prefix or suffix.
fn shared_prefix_config(pattern: Pattern) -> String {
    let mut y = String::from("listeners: [{address: \"127.0.0.1:8443\"}]\npools:\n  public: {backends: [{url: \"http://127.0.0.1:3000\"}]}\n  corp: {backends: [{url: \"http://127.0.0.1:3001\"}]}\nroutes:\n");
    for i in 0..ROUTES - 1 {
        let _ = writeln!(
            y,
            "  - {{name: team-{i}, modules: [\"{}\"], pools: [corp]}}",
            pattern(i)
        );
    }
    y.push_str("  - {name: public, modules: [\"*\"], pools: [public]}\n");
    y
}

fn compile(text: &str) -> Snapshot {
    match compile_text(
        Path::new("bench.yaml"),
        text,
        &|_| None,
        &StateRegistry::default(),
    ) {
        Ok(snapshot) => snapshot,
        Err(errors) => panic!("{errors}"),
    }
}

fn request<'a>(snapshot: &Snapshot, path: &'a str, key: &'a str) -> Outcome {
    let peer: IpAddr = "127.0.0.1".parse().expect("ip");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::HOST,
        http::HeaderValue::from_static("goproxy"),
    );
    decide(
        snapshot,
        Inbound {
            method: &http::Method::GET,
            version: http::Version::HTTP_11,
            headers: &headers,
            path,
            peer,
            forwarded_for: std::iter::empty::<&[u8]>(),
            api_key: Some(key.as_bytes()),
            authorization: None,
        },
    )
    .outcome
}

fn benches(c: &mut Criterion) {
    let text = large_config();
    let snapshot = compile(&text);
    let key = key(KEYS / 2);
    // The catch-all after 999 private routes: the index reaches it through its `*`
    // edge, and the other routes only where the module shares their elements.
    let public = "/golang.org/x/text/@v/v0.14.0.info";
    let private = "/team-500.corp.example.com/lib/@v/v1.2.3.zip";
    assert!(matches!(
        request(&snapshot, public, &key),
        Outcome::Forward(_)
    ));
    assert!(matches!(
        request(&snapshot, private, &key),
        Outcome::Forward(_)
    ));

    let mut group = c.benchmark_group("decision");
    group.bench_function("public module, last route", |b| {
        b.iter(|| request(black_box(&snapshot), black_box(public), black_box(&key)))
    });
    group.bench_function("private module, middle route", |b| {
        b.iter(|| request(black_box(&snapshot), black_box(private), black_box(&key)))
    });
    group.bench_function("upper-case escaped path", |b| {
        b.iter(|| {
            request(
                black_box(&snapshot),
                black_box("/github.com/%21azure/azure-sdk/@v/list"),
                black_box(&key),
            )
        })
    });
    let outside = "/github.com/someone/tool/@v/v1.0.0.info";
    let shapes: [(&str, Pattern); 3] = [
        ("999 routes github.com/*/team-N, none matches", |i| {
            format!("github.com/*/team-{i}")
        }),
        ("999 routes github.com/team-N-*, none matches", |i| {
            format!("github.com/team-{i}-*")
        }),
        ("999 routes *.team-N.corp.example.com, none matches", |i| {
            format!("*.team-{i}.corp.example.com")
        }),
    ];
    for (name, pattern) in shapes {
        let shared = compile(&shared_prefix_config(pattern));
        match request(&shared, outside, "") {
            Outcome::Forward(forward) => assert_eq!(forward.route, Some(ROUTES - 1)),
            other => panic!("{other:?}"),
        }
        group.bench_function(name, |b| {
            b.iter(|| request(black_box(&shared), black_box(outside), black_box("")))
        });
    }
    group.finish();

    let live = ArcSwap::from_pointee(compile(&text));
    let mut group = c.benchmark_group("reload");
    group.sample_size(10);
    group.bench_function("compile and swap 10k rules, 10k keys, 1k routes", |b| {
        b.iter(|| live.store(std::sync::Arc::new(compile(black_box(&text)))))
    });
    group.finish();
}

criterion_group!(decision, benches);
criterion_main!(decision);
