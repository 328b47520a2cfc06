//! Pingora writes an HTTP/1 response head and its body in separate writes and flushes
//! once at the end. Over TLS each write becomes its own record and its own system
//! call, so a small answer costs two of each. The first write after a flush (the next
//! response's head) is held back and sent together with the write that follows it, or
//! at the flush, whichever comes first. Only that one write waits: a body is never held.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::AsyncWrite;

/// A head larger than this is written at once.
const HOLD_MAX: usize = 4 * 1024;
/// A held head is joined with the next write if both fit in this; else written first.
const JOIN_MAX: usize = 16 * 1024;

#[derive(Debug)]
pub struct WriteHold {
    held: Vec<u8>,
    /// How much of `held` is already written.
    sent: usize,
    /// The next write starts an answer and may be held.
    armed: bool,
}

impl WriteHold {
    pub fn new() -> WriteHold {
        WriteHold {
            held: Vec::new(),
            sent: 0,
            armed: true,
        }
    }

    pub fn poll_write<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if !self.held.is_empty() {
            if self.sent == 0 && self.held.len() + buf.len() <= JOIN_MAX {
                self.held.extend_from_slice(buf);
                // Written now if the socket takes it, else at the next write or flush.
                if let Poll::Ready(Err(error)) = self.poll_drain(inner, cx) {
                    return Poll::Ready(Err(error));
                }
                return Poll::Ready(Ok(buf.len()));
            }
            ready!(self.poll_drain(inner, cx))?;
        }
        if std::mem::take(&mut self.armed) && !buf.is_empty() && buf.len() <= HOLD_MAX {
            self.held.extend_from_slice(buf);
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(inner).poll_write(cx, buf)
    }

    pub fn poll_flush<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(inner, cx))?;
        self.armed = true;
        Pin::new(inner).poll_flush(cx)
    }

    pub fn poll_shutdown<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(inner, cx))?;
        Pin::new(inner).poll_shutdown(cx)
    }

    fn poll_drain<W: AsyncWrite + Unpin>(
        &mut self,
        inner: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while self.sent < self.held.len() {
            let written = ready!(Pin::new(&mut *inner).poll_write(cx, &self.held[self.sent..]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += written;
        }
        self.held.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    /// Records each write the inner stream receives.
    #[derive(Default)]
    struct Writes(Vec<Vec<u8>>);

    impl AsyncWrite for Writes {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.push(buf.to_vec());
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    async fn write(hold: &mut WriteHold, inner: &mut Writes, buf: &[u8]) {
        let n = poll_fn(|cx| hold.poll_write(inner, cx, buf)).await;
        assert_eq!(n.ok(), Some(buf.len()));
    }

    async fn flush(hold: &mut WriteHold, inner: &mut Writes) {
        let done = poll_fn(|cx| hold.poll_flush(inner, cx)).await;
        assert!(done.is_ok());
    }

    #[tokio::test]
    async fn a_head_and_a_small_body_go_out_as_one_write() {
        let (mut hold, mut inner) = (WriteHold::new(), Writes::default());
        write(&mut hold, &mut inner, b"HTTP/1.1 200 OK\r\n\r\n").await;
        assert!(inner.0.is_empty());
        write(&mut hold, &mut inner, b"body").await;
        flush(&mut hold, &mut inner).await;
        assert_eq!(inner.0, vec![b"HTTP/1.1 200 OK\r\n\r\nbody".to_vec()]);
    }

    #[tokio::test]
    async fn only_the_first_write_after_a_flush_waits() {
        let (mut hold, mut inner) = (WriteHold::new(), Writes::default());
        write(&mut hold, &mut inner, b"head").await;
        write(&mut hold, &mut inner, b"one").await;
        write(&mut hold, &mut inner, b"two").await;
        assert_eq!(inner.0, vec![b"headone".to_vec(), b"two".to_vec()]);
        flush(&mut hold, &mut inner).await;
        write(&mut hold, &mut inner, b"next head").await;
        assert_eq!(inner.0.len(), 2);
        flush(&mut hold, &mut inner).await;
        assert_eq!(inner.0[2], b"next head".to_vec());
    }

    /// A socket that is full every other time it is written to and then takes at most
    /// `room` bytes.
    struct Narrow {
        out: Vec<u8>,
        room: usize,
        full: bool,
    }

    impl AsyncWrite for Narrow {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.full = !self.full;
            if self.full {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let n = buf.len().min(self.room);
            self.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_full_socket_keeps_every_byte_in_order() {
        let mut hold = WriteHold::new();
        let mut inner = Narrow {
            out: Vec::new(),
            room: 5,
            full: false,
        };
        let mut sent = Vec::new();
        for answer in 0..3 {
            let head = format!("head {answer}\r\n");
            let writes = [head.as_bytes(), b"small body ", &[b'x'; JOIN_MAX], b" end"];
            for buf in writes {
                let mut at = 0;
                while at < buf.len() {
                    at += poll_fn(|cx| hold.poll_write(&mut inner, cx, &buf[at..]))
                        .await
                        .expect("written");
                }
                sent.extend_from_slice(buf);
            }
            let flushed = poll_fn(|cx| hold.poll_flush(&mut inner, cx)).await;
            assert!(flushed.is_ok());
            assert_eq!(inner.out, sent, "after answer {answer}");
        }
    }

    #[tokio::test]
    async fn a_large_body_is_not_copied_behind_the_head() {
        let (mut hold, mut inner) = (WriteHold::new(), Writes::default());
        let body = vec![7u8; JOIN_MAX];
        write(&mut hold, &mut inner, b"head").await;
        write(&mut hold, &mut inner, &body).await;
        assert_eq!(inner.0, vec![b"head".to_vec(), body]);
    }
}
