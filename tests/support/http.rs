//! A minimal blocking HTTP/1.1 client over `std::net::TcpStream`, for tests
//! that need control over the bytes (keep-alive, raw requests, streaming).
//!
//! Every request gets `Host: <addr>` and `User-Agent: modgate-tests` unless the
//! caller passes its own. One-shot functions also send `Connection: close`.
//! Reads time out after [`DEFAULT_TIMEOUT`] so a hung server fails the test
//! instead of hanging it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Read timeout of every connection (changeable per [`Conn`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_HEAD: usize = 1 << 20;

/// A fully read response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// In order received, names as sent by the server.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every header of that name (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A response whose body was counted, not kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamedResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body_len: u64,
}

impl StreamedResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `GET path` on a new connection (`Connection: close`). Panics on I/O errors.
pub fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    request(addr, "GET", path, headers)
}

/// Any method on a new connection (`Connection: close`). Panics on I/O errors.
pub fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    try_request(addr, method, path, headers)
        .unwrap_or_else(|e| panic!("{method} http://{addr}{path} failed: {e}"))
}

/// Like [`request`] but returns I/O errors (connection refused, reset, ...).
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    let mut conn = Conn::try_connect(addr)?;
    conn.send(method, path, headers, true)?;
    conn.read_response(method.eq_ignore_ascii_case("HEAD"))
}

/// `GET path`, counting the body bytes without keeping them: `(status, body length)`.
pub fn get_streaming_len(addr: SocketAddr, path: &str) -> (u16, u64) {
    let r = get_streaming(addr, path, &[]);
    (r.status, r.body_len)
}

/// `GET path` with headers, counting the body bytes without keeping them. Panics on I/O errors.
pub fn get_streaming(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> StreamedResponse {
    try_get_streaming(addr, path, headers)
        .unwrap_or_else(|e| panic!("GET http://{addr}{path} failed: {e}"))
}

/// Like [`get_streaming`] but returns I/O errors.
pub fn try_get_streaming(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<StreamedResponse> {
    let mut conn = Conn::try_connect(addr)?;
    conn.send("GET", path, headers, true)?;
    let (status, headers) = read_head(&mut conn.reader)?;
    let framing = framing(false, status, &headers)?;
    let body_len = copy_body(&mut conn.reader, framing, &mut io::sink())?;
    Ok(StreamedResponse {
        status,
        headers,
        body_len,
    })
}

/// One connection that can carry several requests (HTTP/1.1 keep-alive).
/// Requests are sent without `Connection: close` unless the caller adds it.
#[derive(Debug)]
pub struct Conn {
    addr: SocketAddr,
    reader: BufReader<TcpStream>,
    closed: bool,
}

impl Conn {
    /// Connects; panics on failure.
    pub fn connect(addr: SocketAddr) -> Conn {
        Conn::try_connect(addr).unwrap_or_else(|e| panic!("connect to {addr} failed: {e}"))
    }

    pub fn try_connect(addr: SocketAddr) -> io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
        stream.set_write_timeout(Some(DEFAULT_TIMEOUT))?;
        Ok(Conn {
            addr,
            reader: BufReader::with_capacity(64 * 1024, stream),
            closed: false,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The underlying socket (e.g. to shut it down or read its local address).
    pub fn stream(&self) -> &TcpStream {
        self.reader.get_ref()
    }

    pub fn set_read_timeout(&self, timeout: Option<Duration>) {
        self.stream()
            .set_read_timeout(timeout)
            .expect("set_read_timeout");
    }

    pub fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", path, headers)
    }

    /// Sends a request and reads its response; panics on I/O errors.
    pub fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
        let addr = self.addr;
        self.try_request(method, path, headers).unwrap_or_else(|e| {
            panic!("{method} http://{addr}{path} on kept-alive connection failed: {e}")
        })
    }

    pub fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<Response> {
        self.send(method, path, headers, false)?;
        self.read_response(method.eq_ignore_ascii_case("HEAD"))
    }

    /// Writes a request head (no body). `close` adds `Connection: close`
    /// unless `headers` has a `Connection` header.
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        close: bool,
    ) -> io::Result<()> {
        let has = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
        let mut head = format!("{method} {path} HTTP/1.1\r\n");
        if !has("host") {
            head.push_str(&format!("Host: {}\r\n", self.addr));
        }
        if !has("user-agent") {
            head.push_str("User-Agent: modgate-tests\r\n");
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if close && !has("connection") {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        self.send_raw(head.as_bytes())
    }

    /// Writes raw bytes (for malformed or partial requests).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stream = self.reader.get_mut();
        stream.write_all(bytes)?;
        stream.flush()
    }

    /// Reads one response. `head_request`: the request was HEAD (no body follows).
    pub fn read_response(&mut self, head_request: bool) -> io::Result<Response> {
        let (status, headers) = read_head(&mut self.reader)?;
        let framing = framing(head_request, status, &headers)?;
        let mut body = Vec::new();
        copy_body(&mut self.reader, framing, &mut body)?;
        let close = matches!(framing, Framing::Eof)
            || find_header(&headers, "connection")
                .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close")));
        if close {
            self.closed = true;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// Whether the connection still looks open: false after a response that
    /// closed it, or when the peer has closed it (checked with a 100 ms peek).
    pub fn is_open(&mut self) -> bool {
        if self.closed {
            return false;
        }
        if !self.reader.buffer().is_empty() {
            return true;
        }
        let stream = self.reader.get_ref();
        let old = stream.read_timeout().ok().flatten();
        if stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .is_err()
        {
            return false;
        }
        let mut byte = [0u8; 1];
        let open = match stream.peek(&mut byte) {
            Ok(0) => false,
            Ok(_) => true,
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
        };
        let _ = stream.set_read_timeout(old);
        if !open {
            self.closed = true;
        }
        open
    }
}

#[derive(Clone, Copy, Debug)]
enum Framing {
    None,
    Length(u64),
    Chunked,
    Eof,
}

fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, total: &mut usize) -> io::Result<()> {
    buf.clear();
    let n = reader
        .by_ref()
        .take((MAX_HEAD - *total) as u64 + 1)
        .read_until(b'\n', buf)?;
    *total += n;
    if *total > MAX_HEAD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "response head too large",
        ));
    }
    if n == 0 || buf.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed in the middle of a response head",
        ));
    }
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(())
}

/// Reads a status line and headers, skipping interim 1xx responses.
fn read_head(reader: &mut impl BufRead) -> io::Result<(u16, Vec<(String, String)>)> {
    let bad = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
    loop {
        let mut total = 0;
        let mut line = Vec::new();
        read_line(reader, &mut line, &mut total).map_err(|e| {
            if total == 0 {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed without a response",
                )
            } else {
                e
            }
        })?;
        let status_line = String::from_utf8_lossy(&line).into_owned();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(bad(format!("bad status line {status_line:?}")));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            read_line(reader, &mut line, &mut total)?;
            if line.is_empty() {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            let (k, v) = text
                .split_once(':')
                .ok_or_else(|| bad(format!("bad header line {text:?}")))?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        if (100..200).contains(&status) && status != 101 {
            continue;
        }
        return Ok((status, headers));
    }
}

fn framing(head_request: bool, status: u16, headers: &[(String, String)]) -> io::Result<Framing> {
    if head_request || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    if let Some(te) = find_header(headers, "transfer-encoding") {
        if te.to_ascii_lowercase().contains("chunked") {
            return Ok(Framing::Chunked);
        }
    }
    if let Some(cl) = find_header(headers, "content-length") {
        let n = cl.trim().parse::<u64>().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad Content-Length {cl:?}"),
            )
        })?;
        return Ok(Framing::Length(n));
    }
    Ok(Framing::Eof)
}

fn copy_exact(reader: &mut impl BufRead, n: u64, out: &mut impl Write) -> io::Result<u64> {
    let copied = io::copy(&mut reader.by_ref().take(n), out)?;
    if copied != n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("body ended after {copied} of {n} bytes"),
        ));
    }
    Ok(copied)
}

fn copy_body(reader: &mut impl BufRead, framing: Framing, out: &mut impl Write) -> io::Result<u64> {
    match framing {
        Framing::None => Ok(0),
        Framing::Length(n) => copy_exact(reader, n, out),
        Framing::Eof => io::copy(reader, out),
        Framing::Chunked => {
            let mut total = 0u64;
            let mut line = Vec::new();
            loop {
                let mut head_total = 0;
                read_line(reader, &mut line, &mut head_total)?;
                let text = String::from_utf8_lossy(&line);
                let size_text = text.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size_text, 16).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad chunk size {text:?}"),
                    )
                })?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    loop {
                        read_line(reader, &mut line, &mut head_total)?;
                        if line.is_empty() {
                            return Ok(total);
                        }
                    }
                }
                total += copy_exact(reader, size, out)?;
                read_line(reader, &mut line, &mut head_total)?;
                if !line.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "chunk not followed by CRLF",
                    ));
                }
            }
        }
    }
}
