//! Storing an upstream answer while it streams to the client. The bytes go to a
//! writer on the blocking pool. When the disk falls behind the transfer, the transfer
//! is slowed to the disk's pace (as nginx's proxy_cache is, which writes in the
//! request's path); past a hard bound, or on a full or failing disk, the fill is
//! abandoned, never the client. The file is written under a temporary name, checked,
//! fsync'd and renamed, so a crash at any moment leaves no partial artifact under a
//! final name.

use super::flight::Lead;
use super::tree::{self, Temp};
use super::{check, Store};
use crate::request::Kind;
use bytes::Bytes;
use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

/// Bytes queued for the writer past which the transfer is slowed down.
const SLOW_DOWN: u64 = 4 << 20;
/// Bytes queued past which the fill is given up: the memory one fill may hold.
const GIVE_UP: u64 = 16 << 20;
/// How long the transfer waits before its next chunk while the writer catches up.
const PAUSE: Duration = Duration::from_millis(5);

pub(super) struct Job {
    pub path: String,
    pub kind: Kind,
    pub module: String,
    pub version: String,
    pub expected_len: Option<u64>,
    pub lead: Option<Lead>,
}

enum Message {
    Chunk(Bytes),
    Done,
}

/// The request's end of a fill. Dropped before [`Fill::finish`] (a failed or cut
/// transfer), it abandons the fill and nothing is stored.
pub struct Fill {
    sender: Option<Sender<Message>>,
    /// Bytes sent to the writer and not written yet.
    queued: Arc<AtomicU64>,
}

impl Fill {
    pub(super) fn start(store: Arc<Store>, job: Job) -> Fill {
        let (sender, receiver) = channel();
        let queued = Arc::new(AtomicU64::new(0));
        let written = queued.clone();
        tokio::task::spawn_blocking(move || write(&store, job, &receiver, &written));
        Fill {
            sender: Some(sender),
            queued,
        }
    }

    /// Queues a chunk for the writer; returns how long the transfer should wait before
    /// its next chunk (Pingora's body filter delay), if the writer is behind.
    pub fn push(&mut self, chunk: &Bytes) -> Option<Duration> {
        let queued = self.queued.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        if queued > GIVE_UP {
            // Counted by the writer, which sees the channel close unfinished.
            tracing::debug!("cache: the disk fell far behind the transfer; fill abandoned");
            self.sender = None;
            return None;
        }
        self.send(Message::Chunk(chunk.clone()));
        (self.sender.is_some() && queued > SLOW_DOWN).then_some(PAUSE)
    }

    /// The whole answer went through: store it if it checks out.
    pub fn finish(&mut self) {
        self.send(Message::Done);
        self.sender = None;
    }

    fn send(&mut self, message: Message) {
        if let Some(sender) = &self.sender {
            if sender.send(message).is_err() {
                // The writer stopped (a write failed): nothing more to send.
                self.sender = None;
            }
        }
    }
}

enum Outcome {
    Stored,
    Abandoned,
}

fn write(store: &Store, mut job: Job, receiver: &Receiver<Message>, queued: &AtomicU64) {
    let lead = job.lead.take();
    let result = fill(store, &job, receiver, queued, lead.as_ref());
    if let Some(lead) = lead {
        lead.end(matches!(result, Ok(Outcome::Stored)));
    }
    let label = match &result {
        Ok(Outcome::Stored) => "stored",
        Ok(Outcome::Abandoned) => "abandoned",
        Err(_) => "failed",
    };
    if let Some(m) = crate::metrics::get() {
        m.cache_fills.with_label_values(&[label]).inc();
    }
    if let Err(error) = result {
        if store.may_log_failure() {
            tracing::error!(artifact = %job.path, %error, "cache: an artifact could not be stored (logged at most once a minute); answers still stream from upstream");
        }
    }
}

fn fill(
    store: &Store,
    job: &Job,
    receiver: &Receiver<Message>,
    queued: &AtomicU64,
    lead: Option<&Lead>,
) -> Result<Outcome, String> {
    let mut temp = Temp::new(&store.root);
    let io = |what: &str| {
        let what = what.to_owned();
        move |e: std::io::Error| format!("{what}: {e}")
    };
    let mut file = File::create(&temp.path).map_err(io("creating a temporary file"))?;
    if let Some(lead) = lead {
        lead.filling(temp.path.clone(), job.expected_len);
    }
    let mut written = 0u64;
    loop {
        match receiver.recv() {
            Ok(Message::Chunk(chunk)) => {
                file.write_all(&chunk).map_err(io("writing"))?;
                written += chunk.len() as u64;
                queued.fetch_sub(chunk.len() as u64, Ordering::Relaxed);
                if let Some(lead) = lead {
                    lead.wrote(chunk.len() as u64);
                }
            }
            Ok(Message::Done) => break,
            Err(_) => return Ok(Outcome::Abandoned),
        }
    }
    if let Some(expected) = job.expected_len {
        if expected != written {
            return Err(format!(
                "the upstream sent {written} bytes after announcing {expected}"
            ));
        }
    }
    file.sync_all().map_err(io("syncing"))?;
    drop(file);
    check::check(&temp.path, job.kind, &job.module, &job.version)?;
    tree::commit(&temp.path, &store.root, &job.path).map_err(io("renaming into place"))?;
    temp.kept = true;
    if matches!(job.kind, Kind::Info | Kind::Mod | Kind::Zip) {
        store.stored(&job.path, written);
        store
            .list_version(&job.module, &job.version)
            .map_err(io("updating @v/list"))?;
    }
    Ok(Outcome::Stored)
}
