//! Clients that take too long: a request head sent a byte at a time, a TLS handshake
//! never finished, or an HTTP/2 preface never sent, is closed once
//! `server.header_timeout` has passed (on the admin listener too) and holds up nobody
//! else, even with a single worker thread. A kept connection may idle longer than that
//! (the keep-alive timeout governs idling, over HTTP/2 too); the deadline of its next
//! head starts at that head's first byte.

mod support;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use support::goproxy::{url_path, GREET_MODULE, GREET_VERSION};
use support::http::get;
use support::pki::Ca;
use support::{eventually, free_port, metric, metrics, Conn, Gateway, ProxyDir, TempDir, Upstream};

/// Bytes of a head that never ends, sent 100 ms apart: 20 s in all, far beyond the
/// 1 s header timeout under test and well inside Pingora's own 60 s per-read timeout,
/// so only modgate's deadline can close the connection in time.
const TRICKLE_BYTES: usize = 200;
const TRICKLE_GAP: Duration = Duration::from_millis(100);

fn info() -> String {
    url_path(GREET_MODULE, GREET_VERSION, "info")
}

/// What an HTTP/2 client sends first.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The fixture modules behind a gateway with a plaintext and a TLS listener
/// (certificate for `localhost` from `ca`), one worker thread, a 1 s header timeout
/// and a 4 s keep-alive timeout.
struct Setup {
    gw: Gateway,
    tls: SocketAddr,
    ca: Ca,
    _upstream: Upstream,
    _dirs: (ProxyDir, TempDir),
}

fn setup() -> Setup {
    let (dir, certs) = (ProxyDir::with_fixtures(), TempDir::new("modgate-slow"));
    let upstream = Upstream::start(dir.path());
    let ca = Ca::new("modgate test CA");
    let (cert, key) = ca.server(&["localhost"]).write(certs.path(), "server");
    let tls = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let gw = Gateway::start(&format!(
        "server: {{threads: 1, header_timeout: 1s, keepalive_timeout: 4s}}\nlisteners:\n  - address: \"127.0.0.1:{}\"\n  - address: \"{tls}\"\n    tls:\n      certificates: [{{cert: {:?}, key: {:?}}}]\nadmin: {{address: \"127.0.0.1:{}\"}}\npools:\n  public: {{backends: [{{url: \"{}\"}}]}}\nroutes:\n  - {{name: public, modules: [\"*\"], pools: [public]}}\n",
        free_port(),
        cert.display().to_string(),
        key.display().to_string(),
        free_port(),
        upstream.url(),
    ));
    Setup {
        gw,
        tls,
        ca,
        _upstream: upstream,
        _dirs: (dir, certs),
    }
}

fn tls_client(
    ca: &Ca,
    alpn: &[&[u8]],
    addr: SocketAddr,
) -> StreamOwned<ClientConnection, TcpStream> {
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().into()).expect("CA certificate");
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = ServerName::try_from("localhost").expect("server name");
    let connection = ClientConnection::new(Arc::new(config), name).expect("client connection");
    let socket = TcpStream::connect(addr).expect("connect");
    socket
        .set_read_timeout(Some(TRICKLE_GAP))
        .expect("read timeout");
    let mut stream = StreamOwned::new(connection, socket);
    while stream.conn.is_handshaking() {
        match stream.conn.complete_io(&mut stream.sock) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(e) => panic!("TLS handshake with {addr}: {e}"),
        }
    }
    stream
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether the server has closed: a read that ends or fails, as opposed to one that
/// only waits (the socket's read timeout is short).
fn closed(stream: &mut impl Read) -> bool {
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(n) => panic!(
            "the server answered a head it had not received: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(e) if is_timeout(&e) => false,
        Err(_) => true,
    }
}

/// Whether the server has closed, whatever it sent before (an HTTP/2 server speaks
/// first): a read that ends or fails, as opposed to one that only waits.
fn ended(stream: &mut impl Read) -> bool {
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if is_timeout(&e) => false,
        Err(_) => true,
    }
}

/// Reads until the server closes, at most `TRICKLE_BYTES` reads of `TRICKLE_GAP`;
/// returns how long after `started` it closed, or `None` if it never did.
fn closed_after(stream: &mut impl Read, started: Instant) -> Option<Duration> {
    (0..TRICKLE_BYTES)
        .any(|_| ended(stream))
        .then(|| started.elapsed())
}

/// Sends `bytes` one at a time, `TRICKLE_GAP` apart, then waits; returns how long the
/// server let it go on before closing, or `None` if it never closed.
fn trickle_then_wait(stream: &mut (impl Read + Write), bytes: &[u8]) -> Option<Duration> {
    let started = Instant::now();
    for byte in bytes {
        if stream
            .write_all(std::slice::from_ref(byte))
            .and_then(|()| stream.flush())
            .is_err()
            || ended(stream)
        {
            return Some(started.elapsed());
        }
        thread::sleep(TRICKLE_GAP);
    }
    closed_after(stream, started)
}

/// Sends a request line and then an endless header a byte at a time; returns how long
/// the server let it go on before closing, or `None` if it never closed.
fn trickle(stream: &mut (impl Read + Write)) -> Option<Duration> {
    let started = Instant::now();
    stream
        .write_all(b"GET /example.com/greet/@v/list HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .ok()?;
    for _ in 0..TRICKLE_BYTES {
        if stream
            .write_all(b"a")
            .and_then(|()| stream.flush())
            .is_err()
            || closed(stream)
        {
            return Some(started.elapsed());
        }
        thread::sleep(TRICKLE_GAP);
    }
    None
}

/// Closed, and not before the 1 s deadline could have passed: a gateway that dropped
/// every unfinished head at once would fail here. Half a second of slack covers a
/// TLS handshake that used part of the same deadline.
fn assert_closed_at_the_deadline(closed_after: Option<Duration>, what: &str) {
    let after = closed_after.unwrap_or_else(|| panic!("{what} was never closed"));
    assert!(
        after >= Duration::from_millis(500),
        "{what} closed after only {after:?}"
    );
}

/// `modgate_denied_total{reason="header_timeout"}`.
fn header_timeouts(gw: &Gateway) -> Option<f64> {
    metric(
        &metrics(gw),
        "modgate_denied_total{reason=\"header_timeout\"}",
    )
}

fn plain(addr: SocketAddr) -> TcpStream {
    let socket = TcpStream::connect(addr).expect("connect");
    socket
        .set_read_timeout(Some(TRICKLE_GAP))
        .expect("read timeout");
    socket
}

#[test]
fn a_trickled_head_is_closed_and_holds_nobody_up() {
    let setup = setup();
    let (gw, tls, ca) = (&setup.gw, setup.tls, &setup.ca);

    let slow_plain = {
        let addr = gw.addr;
        thread::spawn(move || trickle(&mut plain(addr)))
    };
    let slow_tls = {
        let mut stream = tls_client(ca, &[b"http/1.1"], tls);
        thread::spawn(move || trickle(&mut stream))
    };
    // While both trickle, the one worker thread still serves others.
    for _ in 0..5 {
        assert_eq!(get(gw.addr, &info(), &[]).status, 200);
        thread::sleep(Duration::from_millis(200));
    }
    let plain_closed = slow_plain.join().expect("plaintext trickler");
    let tls_closed = slow_tls.join().expect("TLS trickler");
    assert_closed_at_the_deadline(plain_closed, "a trickled plaintext head");
    assert_closed_at_the_deadline(tls_closed, "a trickled head over TLS");
    eventually("the header timeouts counted", || {
        header_timeouts(gw).is_some_and(|n| n >= 2.0)
    });
    assert!(
        gw.wait_for_log(
            "request headers not complete within 1s",
            Duration::from_secs(15)
        ),
        "{}",
        gw.log()
    );
}

#[test]
fn a_silent_plaintext_client_is_closed() {
    let setup = setup();
    let gw = &setup.gw;

    let started = Instant::now();
    assert_closed_at_the_deadline(
        closed_after(&mut plain(gw.addr), started),
        "a plaintext client that sent nothing",
    );
    eventually("the header timeout counted", || {
        header_timeouts(gw) == Some(1.0)
    });
}

#[test]
fn a_trickled_head_on_the_admin_listener_is_closed() {
    let setup = setup();
    let gw = &setup.gw;

    let admin = gw.admin.expect("admin address");
    assert_closed_at_the_deadline(
        trickle(&mut plain(admin)),
        "a trickled head on the admin listener",
    );
    eventually("the admin header timeout counted", || {
        header_timeouts(gw) == Some(1.0)
    });
}

#[test]
fn a_tls_handshake_never_finished_is_closed() {
    let setup = setup();
    let (gw, tls) = (&setup.gw, setup.tls);

    let mut silent = plain(tls);
    let mut waited = 0;
    while !closed(&mut silent) {
        waited += 1;
        assert!(
            waited < TRICKLE_BYTES,
            "a client that never sent a ClientHello was kept"
        );
    }
    eventually("the handshake timeout counted", || {
        metric(
            &metrics(gw),
            "modgate_denied_total{reason=\"handshake_timeout\"}",
        ) == Some(1.0)
    });
}

#[test]
fn a_kept_connection_may_idle_past_the_header_timeout() {
    let setup = setup();
    let gw = &setup.gw;

    let mut conn = Conn::connect(gw.addr);
    assert_eq!(conn.get(&info(), &[]).status, 200);
    thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        conn.get(&info(), &[]).status,
        200,
        "the idle wait counted as a head"
    );
    // The next head on the same connection has its own deadline.
    conn.set_read_timeout(Some(TRICKLE_GAP));
    let stream = conn.stream();
    let mut stream = stream.try_clone().expect("clone socket");
    assert_closed_at_the_deadline(trickle(&mut stream), "a trickled second head");
    eventually("the second head's timeout counted", || {
        header_timeouts(gw) == Some(1.0)
    });
}

#[test]
fn a_client_offering_only_http_1_0_over_tls_is_served() {
    let setup = setup();
    let (tls, ca) = (setup.tls, &setup.ca);

    let mut stream = tls_client(ca, &[b"http/1.0"], tls);
    assert_eq!(stream.conn.alpn_protocol(), Some(&b"http/1.0"[..]));
    stream
        .sock
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
        .write_all(format!("GET {} HTTP/1.0\r\nHost: localhost\r\n\r\n", info()).as_bytes())
        .expect("send");
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        // Closing without close_notify after an HTTP/1.0 answer is allowed.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
        Err(e) => panic!("reading the answer: {e}"),
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "{answer}"
    );
    assert!(answer.contains(GREET_VERSION), "{answer}");
}

#[test]
fn an_h2_client_that_never_sends_its_preface_is_closed() {
    let setup = setup();
    let (gw, tls, ca) = (&setup.gw, setup.tls, &setup.ca);

    let silent = {
        let mut stream = tls_client(ca, &[b"h2"], tls);
        assert_eq!(stream.conn.alpn_protocol(), Some(&b"h2"[..]));
        thread::spawn(move || trickle_then_wait(&mut stream, b""))
    };
    let slow = {
        let mut stream = tls_client(ca, &[b"h2"], tls);
        thread::spawn(move || trickle_then_wait(&mut stream, H2_PREFACE))
    };
    // Meanwhile a real HTTP/2 client is served on the same listener.
    let client = h2_client(ca, tls);
    let response = client
        .get(format!("https://localhost:{}{}", tls.port(), info()))
        .send()
        .expect("GET over h2");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert!(response.text().expect("body").contains(GREET_VERSION));

    assert_closed_at_the_deadline(
        silent.join().expect("silent h2 client"),
        "an h2 connection without a preface",
    );
    assert_closed_at_the_deadline(
        slow.join().expect("slow h2 client"),
        "an h2 connection with a trickled preface",
    );
    eventually("both preface timeouts counted", || {
        header_timeouts(gw) == Some(2.0)
    });
    assert!(
        gw.wait_for_log(
            "HTTP/2 connection preface not complete within 1s",
            Duration::from_secs(15)
        ),
        "{}",
        gw.log()
    );
}

#[test]
fn an_idle_h2_connection_is_closed_after_the_keepalive_timeout() {
    let setup = setup();
    let (gw, tls, ca) = (&setup.gw, setup.tls, &setup.ca);

    let mut stream = tls_client(ca, &[b"h2"], tls);
    // The preface and an empty SETTINGS frame: a complete handshake, then nothing.
    let mut hello = H2_PREFACE.to_vec();
    hello.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    stream.write_all(&hello).expect("send the preface");
    stream.flush().expect("flush");
    assert!(
        closed_after(&mut stream, Instant::now()).is_some(),
        "an idle h2 connection was kept past the 4 s keep-alive timeout"
    );
    assert_eq!(
        header_timeouts(gw),
        None,
        "a complete preface was taken for a slow one"
    );
}

/// A reqwest client that trusts only `ca` and finds `localhost` at `addr`; it offers
/// h2 first, as the go command does.
fn h2_client(ca: &Ca, addr: SocketAddr) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::tls::Certificate::from_der(&ca.der()).expect("CA certificate"),
        )
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("h2 client")
}
