//! `server.send_timeout`, nginx's `send_timeout`: a client that takes none of an
//! answer's bytes for this long is closed, which also releases the upstream connection
//! feeding it. Pingora's own write timeout bounds each whole write instead, so a slow
//! but steady reader of a large zip would be cut off and a stalled one held for as long
//! as a write of any size may take.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

#[derive(Debug)]
pub struct SendDeadline {
    limit: Duration,
    /// Armed while a write waits; made on the first wait, as most answers never do.
    stalled: Option<Pin<Box<Sleep>>>,
    waiting: bool,
}

impl SendDeadline {
    pub fn new(limit: Duration) -> SendDeadline {
        SendDeadline {
            limit,
            stalled: None,
            waiting: false,
        }
    }

    /// Passes a write's outcome through; a write still waiting when the limit has
    /// passed since the client last took a byte fails with `TimedOut`.
    pub fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.waiting = false;
            return poll;
        }
        let deadline = Instant::now() + self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.waiting {
            self.waiting = true;
            stalled.as_mut().reset(deadline);
        }
        if stalled.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        tracing::info!(
            "the client took none of the answer for {:?}: connection closed",
            self.limit
        );
        if let Some(m) = crate::metrics::get() {
            m.denied.with_label_values(&["send_timeout"]).inc();
        }
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client took nothing within server.send_timeout",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::SendDeadline;
    use std::task::{Context, Poll};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_write_waiting_past_the_limit_fails_and_progress_rearms_it() {
        let mut deadline = SendDeadline::new(Duration::from_secs(10));
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let pending = || Poll::<std::io::Result<usize>>::Pending;
        assert!(deadline.watch(&mut cx, pending()).is_pending());
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(deadline.watch(&mut cx, pending()).is_pending());
        // The client took some bytes: the wait starts over.
        assert!(matches!(
            deadline.watch(&mut cx, Poll::Ready(Ok(5))),
            Poll::Ready(Ok(5))
        ));
        assert!(deadline.watch(&mut cx, pending()).is_pending());
        tokio::time::advance(Duration::from_secs(9)).await;
        assert!(deadline.watch(&mut cx, pending()).is_pending());
        tokio::time::advance(Duration::from_secs(2)).await;
        match deadline.watch(&mut cx, pending()) {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
}
