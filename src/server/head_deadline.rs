//! A deadline on the request head, which Pingora does not have: it times each read of
//! the head on its own, so a client that sends one byte a minute holds its connection
//! forever, and its HTTP/2 handshake waits for the client's preface without any limit.
//! The downstream stream is wrapped; while a head (or the HTTP/2 preface) is being
//! read, reads fail once the deadline passes. The wrapper finds the end of each head
//! itself, because Pingora reads heads and bodies through the same stream without
//! telling it which.

use super::send_deadline::SendDeadline;
use super::write_hold::WriteHold;
use async_trait::async_trait;
use pingora::protocols::raw_connect::ProxyDigest;
use pingora::protocols::tls::{SslDigest, TlsRef};
use pingora::protocols::{
    GetProxyDigest, GetSocketDigest, GetTimingDigest, Peek, Shutdown, SocketDigest, Ssl, Stream,
    TimingDigest, UniqueID, UniqueIDType, ALPN,
};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Finds the blank line that ends an HTTP/1 request head, across reads. Blank lines
/// before the request line are skipped, as HTTP/1.1 allows, so they cannot be used to
/// end a head early.
#[derive(Debug, Default, Clone, Copy)]
pub struct HeadEnd {
    started: bool,
    newlines: u8,
}

impl HeadEnd {
    /// Feeds the next bytes read; true once the head is complete.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            match byte {
                b'\n' if self.started => {
                    self.newlines += 1;
                    if self.newlines == 2 {
                        return true;
                    }
                }
                b'\n' | b'\r' => {}
                _ => {
                    self.started = true;
                    self.newlines = 0;
                }
            }
        }
        false
    }
}

/// What an HTTP/2 client sends first: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`.
const H2_PREFACE_LEN: usize = 24;

#[derive(Debug)]
enum Phase {
    /// Reading a head; the deadline is armed.
    Head(HeadEnd),
    /// The head is in; the rest of the request and the answer take what they take.
    Serving,
    /// The answer has started; the next byte read starts the next head.
    Answered,
    /// Reading an HTTP/2 connection preface, this many bytes still to come; the
    /// deadline is armed.
    Preface(usize),
    /// Past the HTTP/2 preface: heads come in frames the h2 library bounds by size,
    /// and an idle connection is closed by Pingora's h2 idle timeout.
    Framed,
}

impl Phase {
    fn armed(&self) -> bool {
        matches!(self, Phase::Head(_) | Phase::Preface(_))
    }

    /// What the client failed to send in time, for the log.
    fn awaited(&self) -> &'static str {
        match self {
            Phase::Preface(_) => "HTTP/2 connection preface",
            _ => "request headers",
        }
    }
}

/// How long a client may take to send a head, and to take some of an answer.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header: Duration,
    pub send: Duration,
}

impl Limits {
    pub fn of(limits: &crate::snapshot::ClientLimits) -> Limits {
        Limits {
            header: limits.header_timeout,
            send: limits.send_timeout,
        }
    }
}

/// A downstream stream with a deadline on each request head. Without a deadline it
/// only forwards, which lets the TLS handshake run over the same type.
#[derive(Debug)]
pub struct Guarded {
    inner: Stream,
    watch: Option<Watch>,
    hold: Option<WriteHold>,
    send: Option<SendDeadline>,
}

#[derive(Debug)]
struct Watch {
    limit: Duration,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    expired: bool,
}

impl Guarded {
    pub fn plain(inner: Stream) -> Guarded {
        Guarded {
            inner,
            watch: None,
            hold: None,
            send: None,
        }
    }

    /// HTTP/1: `deadline` bounds the first head (it may include the TLS handshake);
    /// each later head on the connection gets `limit` from its first byte.
    pub fn with_deadline(inner: Stream, deadline: Instant, limits: Limits) -> Guarded {
        let phase = Phase::Head(HeadEnd::default());
        Guarded::watched(inner, phase, deadline, limits, Some(WriteHold::new()))
    }

    /// HTTP/2: `deadline` bounds the connection preface; nothing after it. Writes are
    /// not held: the h2 library frames and flushes them itself.
    pub fn with_preface_deadline(inner: Stream, deadline: Instant, limits: Limits) -> Guarded {
        let phase = Phase::Preface(H2_PREFACE_LEN);
        Guarded::watched(inner, phase, deadline, limits, None)
    }

    fn watched(
        inner: Stream,
        phase: Phase,
        deadline: Instant,
        limits: Limits,
        hold: Option<WriteHold>,
    ) -> Guarded {
        Guarded {
            inner,
            watch: Some(Watch {
                limit: limits.header,
                phase,
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                expired: false,
            }),
            hold,
            send: Some(SendDeadline::new(limits.send)),
        }
    }

    /// A write after a complete head is the answer; the next read starts a new head.
    fn answering(&mut self) {
        if let Some(watch) = self.watch.as_mut() {
            if matches!(watch.phase, Phase::Serving) {
                watch.phase = Phase::Answered;
            }
        }
    }

    fn peer(&self) -> String {
        self.inner
            .get_socket_digest()
            .and_then(|d| d.peer_addr().map(|a| a.to_string()))
            .unwrap_or_default()
    }
}

impl Watch {
    fn passed(&mut self, cx: &mut Context<'_>) -> bool {
        self.phase.armed() && self.deadline.as_mut().poll(cx).is_ready()
    }

    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut end = match self.phase {
            Phase::Head(end) => end,
            Phase::Preface(left) => {
                self.phase = match left.saturating_sub(bytes.len()) {
                    0 => Phase::Framed,
                    left => Phase::Preface(left),
                };
                return;
            }
            Phase::Serving | Phase::Framed => return,
            Phase::Answered => {
                let next = Instant::now() + self.limit;
                self.deadline.as_mut().reset(next);
                HeadEnd::default()
            }
        };
        self.phase = if end.feed(bytes) {
            Phase::Serving
        } else {
            Phase::Head(end)
        };
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(watch) = this.watch.as_mut() else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        if watch.passed(cx) {
            let awaited = watch.phase.awaited();
            if !watch.expired {
                watch.expired = true;
                let limit = watch.limit;
                tracing::info!(
                    peer = %this.peer(),
                    "{awaited} not complete within {limit:?}: connection closed"
                );
                if let Some(m) = crate::metrics::get() {
                    m.denied.with_label_values(&["header_timeout"]).inc();
                }
            }
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{awaited} not complete in time"),
            )));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        watch.saw(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.answering();
        let poll = match this.hold.as_mut() {
            Some(hold) => hold.poll_write(&mut this.inner, cx, buf),
            None => Pin::new(&mut this.inner).poll_write(cx, buf),
        };
        watch_send(&mut this.send, cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.answering();
        let poll = match this.hold.as_mut() {
            Some(hold) => {
                let first = bufs.iter().find(|b| !b.is_empty());
                hold.poll_write(&mut this.inner, cx, first.map_or(&[][..], |b| &b[..]))
            }
            None => Pin::new(&mut this.inner).poll_write_vectored(cx, bufs),
        };
        watch_send(&mut this.send, cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.hold.is_none() && self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = match this.hold.as_mut() {
            Some(hold) => hold.poll_flush(&mut this.inner, cx),
            None => Pin::new(&mut this.inner).poll_flush(cx),
        };
        watch_send(&mut this.send, cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = match this.hold.as_mut() {
            Some(hold) => hold.poll_shutdown(&mut this.inner, cx),
            None => Pin::new(&mut this.inner).poll_shutdown(cx),
        };
        watch_send(&mut this.send, cx, poll)
    }
}

fn watch_send<T>(
    send: &mut Option<SendDeadline>,
    cx: &mut Context<'_>,
    poll: Poll<io::Result<T>>,
) -> Poll<io::Result<T>> {
    match send {
        Some(send) => send.watch(cx, poll),
        None => poll,
    }
}

#[async_trait]
impl Shutdown for Guarded {
    async fn shutdown(&mut self) {
        // A held head goes out before the close, as it would through poll_shutdown.
        if let Some(hold) = self.hold.as_mut() {
            let inner = &mut self.inner;
            let _ = std::future::poll_fn(|cx| hold.poll_flush(inner, cx)).await;
        }
        self.inner.shutdown().await
    }
}

impl UniqueID for Guarded {
    fn id(&self) -> UniqueIDType {
        self.inner.id()
    }
}

impl Ssl for Guarded {
    fn get_ssl(&self) -> Option<&TlsRef> {
        self.inner.get_ssl()
    }

    fn get_ssl_digest(&self) -> Option<Arc<SslDigest>> {
        self.inner.get_ssl_digest()
    }

    /// Pingora knows only h2 and http/1.1; a client that offered just http/1.0 is
    /// served as HTTP/1 instead of being handed to a custom-protocol path that drops it.
    fn selected_alpn_proto(&self) -> Option<ALPN> {
        match self.inner.selected_alpn_proto() {
            Some(ALPN::Custom(custom)) if custom.protocol() == b"http/1.0" => Some(ALPN::H1),
            other => other,
        }
    }
}

impl GetTimingDigest for Guarded {
    fn get_timing_digest(&self) -> Vec<Option<TimingDigest>> {
        self.inner.get_timing_digest()
    }

    fn get_read_pending_time(&self) -> Duration {
        self.inner.get_read_pending_time()
    }

    fn get_write_pending_time(&self) -> Duration {
        self.inner.get_write_pending_time()
    }
}

impl GetProxyDigest for Guarded {
    fn get_proxy_digest(&self) -> Option<Arc<ProxyDigest>> {
        self.inner.get_proxy_digest()
    }

    fn set_proxy_digest(&mut self, digest: ProxyDigest) {
        self.inner.set_proxy_digest(digest)
    }
}

impl GetSocketDigest for Guarded {
    fn get_socket_digest(&self) -> Option<Arc<SocketDigest>> {
        self.inner.get_socket_digest()
    }

    fn set_socket_digest(&mut self, digest: SocketDigest) {
        self.inner.set_socket_digest(digest)
    }
}

#[async_trait]
impl Peek for Guarded {
    async fn try_peek(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        self.inner.try_peek(buf).await
    }
}

#[cfg(test)]
mod tests {
    use super::HeadEnd;

    fn ends(chunks: &[&[u8]]) -> Option<usize> {
        let mut end = HeadEnd::default();
        chunks.iter().position(|c| end.feed(c))
    }

    #[test]
    fn a_head_ends_at_its_blank_line_even_across_reads() {
        assert_eq!(ends(&[b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"]), Some(0));
        assert_eq!(
            ends(&[b"GET / HTTP/1.1\r\n", b"Host: a\r", b"\n\r", b"\n"]),
            Some(3)
        );
        assert_eq!(ends(&[b"GET / HTTP/1.0\n\n"]), Some(0));
    }

    #[test]
    fn an_unfinished_head_does_not_end() {
        assert_eq!(
            ends(&[b"GET / HTTP/1.1\r\nHost: a\r\n", b"X-Slow: 1\r\n"]),
            None
        );
        assert_eq!(ends(&[b"GET / HTTP/1.1\r\n\rX: 1\r\n"]), None);
    }

    #[test]
    fn blank_lines_before_the_request_line_do_not_end_it() {
        assert_eq!(ends(&[b"\r\n\r\n\r\n", b"GET"]), None);
        assert_eq!(ends(&[b"\r\n\r\nGET / HTTP/1.1\r\n\r\n"]), Some(0));
    }
}
