//! Log lines handed to one writer thread and written in batches.
//!
//! A worker never waits on stderr (journald under systemd, which can stall). The
//! writer thread wakes for the first line after a quiet spell, lets the lines that
//! follow gather for a moment, and writes them with one call: under load that is a
//! few hundred wake-ups and writes a second instead of one per request, which is
//! what a thread woken per line cost (a futex wake, a yield and a write each).
//! The queue is bounded and blocks rather than drops when full: the access log is an
//! audit trail, and for the same reason the process flushes it before it exits.

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;
use std::time::Duration;
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
}

impl Batched {
    /// Starts the writer thread over `out`.
    pub fn start(out: impl Write + Send + 'static) -> io::Result<Batched> {
        let (lines, queue) = sync_channel(QUEUE_LINES);
        thread::Builder::new()
            .name("modgate-log".into())
            .spawn(move || write_batches(&queue, out))?;
        Ok(Batched { lines })
    }

    /// Queues one whole line, newline included. A stopped writer has nowhere to put it.
    pub fn line(&self, line: Vec<u8>) {
        let _ = self.lines.send(Message::Line(line));
    }

    /// Waits, at most `patience`, until every line queued so far has been written (the
    /// process is about to exit, which would drop them). False if that took longer or
    /// the writer has stopped.
    pub fn flush(&self, patience: Duration) -> bool {
        let (done, written) = sync_channel(1);
        self.lines.send(Message::Flush(done)).is_ok() && written.recv_timeout(patience).is_ok()
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
    lines: &'a SyncSender<Message>,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lines
            .send(Message::Line(buf.to_vec()))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the log writer stopped"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line { lines: &self.lines }
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
        let batched = Batched::start(out.clone()).expect("writer thread");
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
}
