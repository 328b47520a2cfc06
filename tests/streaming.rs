//! Big module zips stream through modgate: every byte arrives, memory stays flat.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use support::goproxy::url_path;
use support::http::get_streaming;
use support::{free_port, Gateway, ProxyDir, Upstream};

const BIG_MODULE: &str = "example.com/big";
const BIG_VERSION: &str = "v1.0.0";
/// About 200 MB.
const BIG_SIZE: u64 = 200 * 1000 * 1000;

/// Peak RSS allowed for modgate after streaming the zip (also 4 at once).
///
/// The zip is ~191 MiB; a gateway that buffered one response would peak above
/// that, one that buffered four above 760 MiB. Streaming needs a few buffers of
/// 64 KiB per download. Measured with the debug binary and `threads: 2`: about
/// 21 MiB idle, 25 MiB after one download, 27 MiB after four at once. 64 MiB
/// leaves room for allocator arenas and other builds, and is still a third of
/// one buffered response.
const RSS_BOUND_KIB: u64 = 64 * 1024;

struct Setup {
    // Field order: the gateway goes first, then the upstream, then the files.
    gw: Gateway,
    upstream: Upstream,
    _dir: ProxyDir,
    path: String,
    size: u64,
}

fn setup() -> Setup {
    let dir = ProxyDir::new();
    dir.add_big_zip(BIG_MODULE, BIG_VERSION, BIG_SIZE);
    let size = std::fs::metadata(dir.file_path(BIG_MODULE, BIG_VERSION, "zip"))
        .expect("big zip")
        .len();
    assert!(size > BIG_SIZE * 9 / 10, "the zip is only {size} bytes");
    let upstream = Upstream::start(dir.path());
    let gw = Gateway::start(&format!(
        "listeners: [{{address: \"127.0.0.1:{}\"}}]\nserver: {{threads: 2}}\npools:\n  public: {{backends: [{{url: \"{}\"}}], read_timeout: 30s}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
        free_port(),
        upstream.url()
    ));
    Setup {
        gw,
        upstream,
        _dir: dir,
        path: url_path(BIG_MODULE, BIG_VERSION, "zip"),
        size,
    }
}

fn assert_rss_bounded(gw: &Gateway, after: &str) {
    let peak = gw.rss_peak_kib();
    assert!(
        peak < RSS_BOUND_KIB,
        "modgate's peak RSS after {after} is {peak} KiB (bound {RSS_BOUND_KIB} KiB)"
    );
}

#[test]
fn a_200_mb_zip_streams_with_bounded_memory() {
    let s = setup();

    let response = get_streaming(s.gw.addr, &s.path, &[]);
    assert_eq!(response.status, 200);
    assert_eq!(response.body_len, s.size);
    assert_eq!(response.header("content-type"), Some("application/zip"));
    assert_rss_bounded(&s.gw, "one download");

    let (addr, path) = (s.gw.addr, s.path.clone());
    let downloads: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            thread::spawn(move || get_streaming(addr, &path, &[]))
        })
        .collect();
    for (i, download) in downloads.into_iter().enumerate() {
        let response = download.join().expect("download thread");
        assert_eq!(response.status, 200, "download {i}");
        assert_eq!(response.body_len, s.size, "download {i}");
    }
    assert_rss_bounded(&s.gw, "four concurrent downloads");
    assert_eq!(s.upstream.count_for(&s.path), 5);
}

#[test]
fn head_of_a_big_zip_has_its_length_and_no_body() {
    let s = setup();

    let mut stream = TcpStream::connect(s.gw.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "HEAD {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.path, s.gw.addr
    )
    .expect("send HEAD");
    // Everything modgate sends until it closes the connection.
    let mut raw = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading the HEAD response: {e} after {} bytes", raw.len()),
        }
        assert!(Instant::now() < deadline, "HEAD response never ended");
    }
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head")
        + 4;
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    let content_length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no Content-Length in {head}"));
    assert_eq!(content_length, s.size.to_string());
    assert_eq!(raw.len() - end, 0, "bytes after the HEAD response head");

    // HEAD went upstream as HEAD: the zip was not fetched to answer it.
    let methods: Vec<String> = s
        .upstream
        .requests_for(&s.path)
        .into_iter()
        .map(|r| r.method)
        .collect();
    assert_eq!(methods, ["HEAD"]);
}
