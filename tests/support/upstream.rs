//! A real HTTP/1.1 upstream (a stand-in for a Go module proxy) serving a
//! [`super::ProxyDir`] and recording every request it receives.
//!
//! Thread per connection, keep-alive, HEAD, bodies streamed from disk in
//! 64 KiB chunks. Its behaviour can be switched while it runs ([`Mode`]); it
//! can be stopped (the port then refuses connections and every open
//! connection is closed) and restarted on the same port.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const CHUNK: usize = 64 * 1024;
const MAX_HEAD: usize = 64 * 1024;

/// How the upstream answers (applies to every request, health checks included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Files from the root: 200 with Content-Length and Content-Type
    /// (`application/json` for `.info` and `@latest`, `application/zip` for
    /// `.zip`, `text/plain; charset=utf-8` otherwise); missing → 404 text/plain.
    Serve,
    /// Every request answered with this status and a short text/plain body.
    Status(u16),
    /// Like `Serve`, after sleeping this long (before any response byte).
    Delay(Duration),
    /// Like `Serve`, but bodies of served files trickle at this rate
    /// (headers are sent at once).
    SlowBody { bytes_per_sec: u64 },
    /// Read and record the request, then close the connection without answering.
    Hangup,
    /// Like `Serve`, but a file's body stops halfway and the connection closes,
    /// though its full length was announced.
    Truncated,
    /// Like `Serve`, but a file is announced and sent at half its length: a complete
    /// transfer of the wrong bytes.
    HalfLength,
}

/// One request as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub method: String,
    /// The request target exactly as received (still percent-encoded, with query).
    pub path: String,
    /// In order received, names as sent.
    pub headers: Vec<(String, String)>,
    /// The request body as framed by Content-Length or chunked encoding (empty when
    /// the upstream was told to ignore bodies).
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn matches(&self, path_substring: &str) -> bool {
        self.path.contains(path_substring) || self.decoded_path().contains(path_substring)
    }

    /// The path without query, percent-decoded (`%21` → `!`); still
    /// module-escaped (`!u` for `U`).
    pub fn decoded_path(&self) -> String {
        let path = self.path.split(['?', '#']).next().unwrap_or("");
        percent_decode(path).unwrap_or_else(|| path.to_owned())
    }
}

struct Conns {
    accepting: bool,
    next_id: u64,
    open: HashMap<u64, TcpStream>,
}

struct Shared {
    root: PathBuf,
    /// Normalised base prefix: `/base` (no trailing slash), or `None`.
    base: Option<String>,
    addr: SocketAddr,
    mode: Mutex<Mode>,
    /// Like many small servers: a request's body is left unread (and so taken for
    /// the next request's head).
    ignore_bodies: AtomicBool,
    requests: Mutex<Vec<Recorded>>,
    conns: Mutex<Conns>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running (or stopped) upstream server on 127.0.0.1.
pub struct Upstream {
    shared: Arc<Shared>,
    acceptor: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Upstream {
    /// Serves `root` at `/` on 127.0.0.1:<ephemeral port>.
    pub fn start(root: &Path) -> Upstream {
        Upstream::start_inner(root, None)
    }

    /// Serves `root` under `/<base>/` only (anything else is 404), e.g.
    /// `start_with_base(root, "/goproxy")` serves `/goproxy/example.com/greet/@v/list`.
    pub fn start_with_base(root: &Path, base: &str) -> Upstream {
        let base = base.trim_matches('/');
        let base = (!base.is_empty()).then(|| format!("/{base}"));
        Upstream::start_inner(root, base)
    }

    fn start_inner(root: &Path, base: Option<String>) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream listener");
        let addr = listener.local_addr().expect("upstream local_addr");
        let shared = Arc::new(Shared {
            root: root.to_path_buf(),
            base,
            addr,
            mode: Mutex::new(Mode::Serve),
            ignore_bodies: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
            conns: Mutex::new(Conns {
                accepting: false,
                next_id: 0,
                open: HashMap::new(),
            }),
        });
        let mut upstream = Upstream {
            shared,
            acceptor: None,
        };
        upstream.spawn_acceptor(listener);
        upstream
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT` (without the base path).
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// `http://127.0.0.1:PORT/base` (or [`Upstream::url`] when there is no base).
    pub fn base_url(&self) -> String {
        format!(
            "{}{}",
            self.url(),
            self.shared.base.as_deref().unwrap_or("")
        )
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Leaves request bodies unread, as servers that expect none do.
    pub fn ignore_bodies(&self) {
        self.shared.ignore_bodies.store(true, Ordering::SeqCst);
    }

    pub fn mode(&self) -> Mode {
        *lock(&self.shared.mode)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.requests).clone()
    }

    /// The requests whose path contains `path_substring`, raw or
    /// percent-decoded (so `!upper` matches a request for `%21upper`).
    pub fn requests_for(&self, path_substring: &str) -> Vec<Recorded> {
        lock(&self.shared.requests)
            .iter()
            .filter(|r| r.matches(path_substring))
            .cloned()
            .collect()
    }

    /// Number of requests received so far.
    pub fn count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Number of requests whose path (raw or percent-decoded) contains `path_substring`.
    pub fn count_for(&self, path_substring: &str) -> usize {
        lock(&self.shared.requests)
            .iter()
            .filter(|r| r.matches(path_substring))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Polls (every 10 ms) until at least `n` requests whose path contains
    /// `path_substring` were received; false on timeout.
    pub fn wait_for(&self, path_substring: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.count_for(path_substring) >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Number of client connections open right now.
    pub fn open_connections(&self) -> usize {
        lock(&self.shared.conns).open.len()
    }

    pub fn is_running(&self) -> bool {
        self.acceptor.is_some()
    }

    /// Stops listening and closes every open connection (in-flight responses
    /// are cut). Afterwards the port refuses connections. Idempotent.
    pub fn stop(&mut self) {
        let Some((stop, handle)) = self.acceptor.take() else {
            return;
        };
        stop.store(true, Ordering::SeqCst);
        lock(&self.shared.conns).accepting = false;
        // Wake the blocking accept(); the acceptor sees the flag and drops the listener.
        let _ = TcpStream::connect_timeout(&self.shared.addr, Duration::from_secs(2));
        let _ = handle.join();
        let open: Vec<TcpStream> = lock(&self.shared.conns)
            .open
            .drain()
            .map(|(_, s)| s)
            .collect();
        for s in open {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Listens again on the same port (retrying the bind for up to 10 s).
    /// No-op when running. Mode and recorded requests are kept.
    pub fn restart(&mut self) {
        if self.acceptor.is_some() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(self.shared.addr) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("upstream cannot listen again on {}: {e}", self.shared.addr),
            }
        };
        self.spawn_acceptor(listener);
    }

    fn spawn_acceptor(&mut self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        lock(&self.shared.conns).accepting = true;
        let shared = Arc::clone(&self.shared);
        let flag = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name(format!("upstream-{}", self.shared.addr.port()))
            .spawn(move || accept_loop(listener, shared, flag))
            .expect("spawn upstream acceptor");
        self.acceptor = Some((stop, handle));
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, stop: Arc<AtomicBool>) {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else {
            thread::sleep(Duration::from_millis(5));
            continue;
        };
        let id = {
            let mut conns = lock(&shared.conns);
            if !conns.accepting {
                break;
            }
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let id = conns.next_id;
            conns.next_id += 1;
            conns.open.insert(id, clone);
            id
        };
        let shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("upstream-conn-{id}"))
            .spawn(move || {
                serve_connection(stream, &shared);
                lock(&shared.conns).open.remove(&id);
            });
        if spawned.is_err() {
            eprintln!("upstream: cannot spawn a connection thread");
        }
    }
}

struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

enum ReadError {
    /// Clean end of the connection (or a broken one): just close.
    Closed,
    /// Unparseable request: answer 400 (or 431) and close.
    Bad(u16),
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Result<Request, ReadError> {
    let mut total = 0usize;
    let mut line = Vec::new();
    let mut read_line = |line: &mut Vec<u8>| -> Result<(), ReadError> {
        line.clear();
        let n = reader
            .by_ref()
            .take((MAX_HEAD - total) as u64 + 1)
            .read_until(b'\n', line)
            .map_err(|_| ReadError::Closed)?;
        total += n;
        if total > MAX_HEAD {
            return Err(ReadError::Bad(431));
        }
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(ReadError::Closed);
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        Ok(())
    };
    // Tolerate empty lines before a request line (RFC 9112 §2.2).
    loop {
        read_line(&mut line)?;
        if !line.is_empty() {
            break;
        }
    }
    let request_line = String::from_utf8(line.clone()).map_err(|_| ReadError::Bad(400))?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad(400));
    };
    if method.is_empty() || target.is_empty() || !version.starts_with("HTTP/1.") {
        return Err(ReadError::Bad(400));
    }
    let (method, target, version) = (method.to_owned(), target.to_owned(), version.to_owned());
    let mut headers = Vec::new();
    loop {
        read_line(&mut line)?;
        if line.is_empty() {
            break;
        }
        let text = String::from_utf8_lossy(&line).into_owned();
        let Some((k, v)) = text.split_once(':') else {
            return Err(ReadError::Bad(400));
        };
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(Request {
        method,
        target,
        version,
        headers,
    })
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut out = stream;
    loop {
        let req = match read_request(&mut reader) {
            Ok(req) => req,
            Err(ReadError::Closed) => break,
            Err(ReadError::Bad(status)) => {
                let _ = send_simple(&mut out, status, "bad request\n", false, false, shared);
                break;
            }
        };
        let keep_alive = if req.version == "HTTP/1.0" {
            req.has_token("connection", "keep-alive")
        } else {
            !req.has_token("connection", "close")
        };
        let mut body = Vec::new();
        if !shared.ignore_bodies.load(Ordering::SeqCst) {
            let read = if req.has_token("transfer-encoding", "chunked") {
                read_chunked(&mut reader, &mut body)
            } else if let Some(len) = req.header("content-length") {
                match len.parse::<u64>() {
                    Ok(n) => reader.by_ref().take(n).read_to_end(&mut body).map(|_| ()),
                    Err(_) => {
                        let _ = send_simple(
                            &mut out,
                            400,
                            "bad Content-Length\n",
                            false,
                            false,
                            shared,
                        );
                        break;
                    }
                }
            } else {
                Ok(())
            };
            if read.is_err() {
                break;
            }
        }
        lock(&shared.requests).push(Recorded {
            method: req.method.clone(),
            path: req.target.clone(),
            headers: req.headers.clone(),
            body,
        });

        let mode = *lock(&shared.mode);
        let result = match mode {
            Mode::Hangup => break,
            Mode::Status(status) => {
                let body = format!("upstream answers {status}\n");
                let head = req.method.eq_ignore_ascii_case("HEAD");
                send_simple(&mut out, status, &body, head, keep_alive, shared)
            }
            Mode::Delay(d) => {
                thread::sleep(d);
                serve_file(&mut out, &req, shared, keep_alive, None)
            }
            Mode::SlowBody { bytes_per_sec } => serve_file(
                &mut out,
                &req,
                shared,
                keep_alive,
                Some(bytes_per_sec.max(1)),
            ),
            Mode::Serve => serve_file(&mut out, &req, shared, keep_alive, None),
            Mode::Truncated => serve_cut(&mut out, &req, shared, true),
            Mode::HalfLength => serve_cut(&mut out, &req, shared, false),
        };
        if result.is_err() || !keep_alive {
            break;
        }
    }
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Both);
}

/// A chunked request body, extensions and trailers skipped.
fn read_chunked(reader: &mut BufReader<TcpStream>, body: &mut Vec<u8>) -> io::Result<()> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunk");
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size, 16).map_err(|_| bad())?;
        if size == 0 {
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(());
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        410 => "Gone",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn head_text(
    status: u16,
    content_type: &str,
    len: Option<u64>,
    keep_alive: bool,
    shared: &Shared,
) -> String {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nServer: modgate-test-upstream\r\nX-Upstream: {}\r\n",
        reason(status),
        shared.addr
    );
    if let Some(len) = len {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {len}\r\n"
        ));
    }
    if !keep_alive {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head
}

/// A response with a small text body (none for HEAD, 1xx, 204 and 304).
fn send_simple(
    out: &mut TcpStream,
    status: u16,
    body: &str,
    head_request: bool,
    keep_alive: bool,
    shared: &Shared,
) -> io::Result<()> {
    let bodiless = (100..200).contains(&status) || status == 204 || status == 304;
    let len = (!bodiless).then_some(body.len() as u64);
    let mut bytes =
        head_text(status, "text/plain; charset=utf-8", len, keep_alive, shared).into_bytes();
    if !bodiless && !head_request {
        bytes.extend_from_slice(body.as_bytes());
    }
    out.write_all(&bytes)?;
    out.flush()
}

fn content_type(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.ends_with(".info") || name == "@latest" {
        "application/json"
    } else if name.ends_with(".zip") {
        "application/zip"
    } else {
        "text/plain; charset=utf-8"
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Maps a request target to a file under the root (None → 404).
fn resolve(shared: &Shared, target: &str) -> Option<PathBuf> {
    let mut path = target.split(['?', '#']).next().unwrap_or("");
    // Absolute-form targets (`http://host/path`).
    if let Some(rest) = path
        .strip_prefix("http://")
        .or_else(|| path.strip_prefix("https://"))
    {
        path = rest.find('/').map(|i| &rest[i..]).unwrap_or("/");
    }
    if let Some(base) = &shared.base {
        path = path.strip_prefix(base.as_str())?;
        if !path.starts_with('/') {
            return None;
        }
    }
    let decoded = percent_decode(path)?;
    let mut file = shared.root.clone();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." || segment.contains(['\\', '\0']) {
            return None;
        }
        file.push(segment);
    }
    Some(file)
}

fn serve_file(
    out: &mut TcpStream,
    req: &Request,
    shared: &Shared,
    keep_alive: bool,
    rate: Option<u64>,
) -> io::Result<()> {
    let head_request = req.method.eq_ignore_ascii_case("HEAD");
    if !head_request && !req.method.eq_ignore_ascii_case("GET") {
        return send_simple(out, 405, "only GET and HEAD\n", false, keep_alive, shared);
    }
    let opened = resolve(shared, &req.target).and_then(|path| {
        let file = File::open(&path).ok()?;
        let meta = file.metadata().ok()?;
        meta.is_file().then_some((path, file, meta.len()))
    });
    let Some((path, mut file, len)) = opened else {
        let body = format!("not found: {}\n", req.target);
        return send_simple(out, 404, &body, head_request, keep_alive, shared);
    };
    let head = head_text(200, content_type(&path), Some(len), keep_alive, shared);
    out.write_all(head.as_bytes())?;
    if head_request {
        return out.flush();
    }
    let chunk = match rate {
        // About 20 writes a second.
        Some(rate) => (rate / 20).clamp(1, CHUNK as u64) as usize,
        None => CHUNK,
    };
    let mut buf = vec![0u8; chunk];
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < len {
        let want = ((len - sent) as usize).min(chunk);
        file.read_exact(&mut buf[..want])?;
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                thread::sleep(wait);
            }
        }
        out.write_all(&buf[..want])?;
        sent += want as u64;
    }
    out.flush()
}

/// Half of a file: announced whole (`announce_whole`, then the connection is closed)
/// or announced at half its length.
fn serve_cut(
    out: &mut TcpStream,
    req: &Request,
    shared: &Shared,
    announce_whole: bool,
) -> io::Result<()> {
    let Some(bytes) = resolve(shared, &req.target).and_then(|p| std::fs::read(p).ok()) else {
        return send_simple(out, 404, "not found\n", false, false, shared);
    };
    let half = &bytes[..bytes.len() / 2];
    let announced = if announce_whole {
        bytes.len()
    } else {
        half.len()
    };
    let head = head_text(
        200,
        "application/octet-stream",
        Some(announced as u64),
        false,
        shared,
    );
    out.write_all(head.as_bytes())?;
    out.write_all(half)?;
    out.flush()?;
    Err(io::Error::other("cut on purpose"))
}
