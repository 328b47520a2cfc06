//! Log lines handed to one writer thread and written in batches.
//!
//! A worker never waits on stderr (journald under systemd, which can stall). The
//! writer thread wakes for the first line after a quiet spell, lets the lines that
//! follow gather for a moment, and writes them with one call: under load that is a
//! few hundred wake-ups and writes a second instead of one per request, which is
//! what a thread woken per line cost (a futex wake, a yield and a write each).
//! The queue is bounded. When it is full, `log.on_full` decides: `block` (the
//! default; the access log is an audit trail) waits for room, counting the time spent
//! waiting, and `drop` gives the line up, counting it. The process flushes the queue
//! before it exits, waiting at most a bounded time.

use crate::snapshot::OnFull;
use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};
use tracing_subscriber::fmt::MakeWriter;

/// Lines waiting for the writer: enough to smooth a burst, small enough not to hold
/// megabytes when the output is slower than the traffic.
const QUEUE_LINES: usize = 4096;
/// How long the writer lets lines gather after waking; also the most a line waits.
const GATHER: Duration = Duration::from_millis(2);

enum Message {
    Line(Vec<u8>),
    /// Answered once every line queued before it has been written.
    Flush(SyncSender<()>),
}

#[derive(Clone)]
pub struct Batched {
    lines: SyncSender<Message>,
    on_full: OnFull,
}

impl Batched {
    /// Starts the writer thread over `out`.
    pub fn start(out: impl Write + Send + 'static, on_full: OnFull) -> io::Result<Batched> {
        Batched::with_queue(out, on_full, QUEUE_LINES)
    }

    fn with_queue(
        out: impl Write + Send + 'static,
        on_full: OnFull,
        queue_lines: usize,
    ) -> io::Result<Batched> {
        let (lines, queue) = sync_channel(queue_lines);
        thread::Builder::new()
            .name("modgate-log".into())
            .spawn(move || write_batches(&queue, out))?;
        Ok(Batched { lines, on_full })
    }

    /// Queues one whole line, newline included; false if the writer has stopped.
    pub fn line(&self, line: Vec<u8>) -> bool {
        let line = match self.lines.try_send(Message::Line(line)) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(line)) => line,
        };
        let metrics = crate::metrics::get();
        match self.on_full {
            OnFull::Drop => {
                if let Some(m) = metrics {
                    m.log_dropped_lines.inc();
                }
                true
            }
            OnFull::Block => {
                let started = Instant::now();
                let sent = self.lines.send(line).is_ok();
                if let Some(m) = metrics {
                    m.log_blocked_seconds
                        .inc_by(started.elapsed().as_secs_f64());
                }
                sent
            }
        }
    }

    /// Waits, at most `patience` in all, until every line queued so far has been
    /// written (the process is about to exit, which would drop them). False if that
    /// took longer or the writer has stopped. A stalled output cannot hold the exit
    /// longer, even with a full queue.
    pub fn flush(&self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let (done, written) = sync_channel(1);
        let mut flush = Message::Flush(done);
        loop {
            match self.lines.try_send(flush) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(again)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    flush = again;
                    thread::sleep(Duration::from_millis(5));
                }
            }
        }
        written
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .is_ok()
    }
}

fn write_batches(queue: &Receiver<Message>, mut out: impl Write) {
    let mut batch = Vec::with_capacity(64 * 1024);
    let mut flushes = Vec::new();
    while let Ok(first) = queue.recv() {
        take(first, &mut batch, &mut flushes);
        thread::sleep(GATHER);
        while let Ok(next) = queue.try_recv() {
            take(next, &mut batch, &mut flushes);
        }
        // Nowhere to report a failing log output; the next batch tries again.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
        batch.clear();
        if batch.capacity() > 1024 * 1024 {
            batch.shrink_to(64 * 1024);
        }
    }
}

fn take(message: Message, batch: &mut Vec<u8>, flushes: &mut Vec<SyncSender<()>>) {
    match message {
        Message::Line(line) => batch.extend_from_slice(&line),
        Message::Flush(done) => flushes.push(done),
    }
}

/// One event's line, as tracing's formatter writes it.
pub struct Line<'a> {
    batched: &'a Batched,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.batched.line(buf.to_vec()) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the log writer stopped",
            ));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line { batched: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer over a shared buffer, with `count` numbered lines queued; returns the
    /// buffer, the writer and what the buffer must end up holding.
    fn queued(count: usize) -> (Shared, Batched, String) {
        let out = Shared::default();
        let batched = Batched::start(out.clone(), OnFull::Block).expect("writer thread");
        let lines: Vec<String> = (0..count).map(|i| format!("line {i}\n")).collect();
        for line in &lines {
            batched
                .make_writer()
                .write_all(line.as_bytes())
                .expect("queued");
        }
        (out, batched, lines.concat())
    }

    #[test]
    fn a_flush_returns_once_every_earlier_line_is_written() {
        let (out, batched, expected) = queued(100);
        assert!(batched.flush(Duration::from_secs(10)), "flush gave up");
        let written = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
        assert_eq!(written, expected);
    }

    #[test]
    fn every_line_arrives_in_order() {
        let (out, _batched, expected) = queued(10_000);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let written = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf-8");
            if written == expected {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {} bytes written",
                written.len(),
                expected.len()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// An output that takes nothing until it is opened, as a stalled journald.
    #[derive(Clone, Default)]
    struct Stalled(Arc<(Mutex<bool>, std::sync::Condvar)>, Shared);

    impl Stalled {
        fn open(&self) {
            *self.0 .0.lock().expect("lock") = true;
            self.0 .1.notify_all();
        }
    }

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let (open, wake) = &*self.0;
            let mut open = open.lock().map_err(|_| io::ErrorKind::Other)?;
            while !*open {
                open = wake.wait(open).map_err(|_| io::ErrorKind::Other)?;
            }
            self.1.write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn with_drop_a_stalled_output_costs_lines_not_waiting() {
        let out = Stalled::default();
        let batched = Batched::with_queue(out.clone(), OnFull::Drop, 4).expect("writer");
        let dropped = || crate::metrics::get().map_or(0, |m| m.log_dropped_lines.get());
        let before = dropped();
        // Would block forever with OnFull::Block: the output takes nothing.
        for i in 0..100 {
            assert!(batched.line(format!("line {i}\n").into_bytes()));
        }
        assert!(dropped() - before >= 90, "{} dropped", dropped() - before);
        out.open();
        assert!(batched.flush(Duration::from_secs(10)));
        let written = String::from_utf8(out.1 .0.lock().expect("lock").clone()).expect("utf-8");
        assert!(written.starts_with("line 0\n"), "{written}");
        assert!(written.lines().count() < 100);
    }

    #[test]
    fn the_flush_at_exit_gives_up_on_time_even_with_a_full_queue() {
        let out = Stalled::default();
        let batched = Batched::with_queue(out.clone(), OnFull::Block, 4).expect("writer");
        for i in 0..5 {
            // The writer takes the first line and stalls on it; four more fill the queue.
            assert!(batched.line(format!("line {i}\n").into_bytes()));
        }
        // Before, the flush queued itself with a blocking send and never returned.
        let (returned, flushed) = sync_channel(1);
        let flusher = batched.clone();
        thread::spawn(move || returned.send(flusher.flush(Duration::from_millis(300))));
        let outcome = flushed.recv_timeout(Duration::from_secs(60));
        assert_eq!(outcome, Ok(false), "the flush never returned");
        out.open();
    }
}
