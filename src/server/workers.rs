//! Worker threads that each serve whole connections on a runtime of their own.
//!
//! Pingora runs a service on one work-stealing runtime, and it hands each upstream
//! connection it keeps alive to a watcher task that it spawns anew per request; the
//! next request wakes that task to take the connection back. With two threads those
//! wake-ups crossed threads on most requests (a futex and a context switch each).
//! Here each accepted connection moves, once, from the accepting runtime to one
//! single-threaded worker, and the upstream pool is partitioned by worker, so a
//! request's downstream socket, upstream socket and pool watcher all stay on one
//! thread, as in nginx's worker model.
//!
//! Pingora does not give up ownership of an accepted socket, and this crate has no
//! `unsafe`, so the socket is duplicated with `pidfd_getfd(2)` on this very process
//! (Linux 5.6+; a seccomp profile may forbid it, and then `start` fails and the caller
//! serves on Pingora's threads as before).

use pingora::protocols::l4::stream::Stream as Socket;
use pingora::protocols::{GetSocketDigest, SocketDigest, Stream};
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::runtime::{Builder, Handle};

thread_local! {
    static WORKER: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The number of the worker running on this thread, from 1; `None` off the workers.
/// Upstream connections are pooled per worker by it.
pub fn current() -> Option<u64> {
    WORKER.with(Cell::get)
}

pub struct Workers {
    runtimes: Vec<Handle>,
    next: AtomicUsize,
    own_process: OwnedFd,
}

impl Workers {
    /// Starts `count` worker threads, once it is known that sockets can be moved.
    pub fn start(count: usize) -> io::Result<Workers> {
        use rustix::process::{getpid, pidfd_getfd, pidfd_open, PidfdFlags, PidfdGetfdFlags};
        let own_process = pidfd_open(getpid(), PidfdFlags::empty())?;
        drop(pidfd_getfd(
            &own_process,
            own_process.as_raw_fd(),
            PidfdGetfdFlags::empty(),
        )?);
        let mut runtimes = Vec::with_capacity(count);
        for number in 1..=count.max(1) {
            let runtime = Builder::new_current_thread().enable_all().build()?;
            runtimes.push(runtime.handle().clone());
            std::thread::Builder::new()
                .name(format!("modgate-w{number}"))
                .spawn(move || {
                    WORKER.with(|worker| worker.set(Some(number as u64)));
                    runtime.block_on(std::future::pending::<()>());
                })?;
        }
        Ok(Workers {
            runtimes,
            next: AtomicUsize::new(0),
            own_process,
        })
    }

    /// A second descriptor of an accepted connection's socket, to move it to a worker
    /// once the accepting runtime has dropped its own. Fails when the process is out
    /// of descriptors; the connection can still be served where it is.
    pub fn take(&self, stream: &Stream) -> io::Result<Moved> {
        let copy = rustix::process::pidfd_getfd(
            &self.own_process,
            stream.id(),
            rustix::process::PidfdGetfdFlags::empty(),
        )?;
        Ok(Moved {
            socket: std::net::TcpStream::from(copy),
            peer: stream
                .get_socket_digest()
                .and_then(|digest| digest.peer_addr().cloned()),
        })
    }

    /// Serves a moved connection on the next worker, in turn.
    pub fn run<F, S>(&self, moved: Moved, serve: S)
    where
        S: FnOnce(Stream) -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.runtimes.len();
        self.runtimes[index].spawn(async move {
            // Registered with the worker's own runtime, so its readiness wakes only it.
            let socket = match tokio::net::TcpStream::from_std(moved.socket) {
                Ok(socket) => socket,
                Err(error) => {
                    tracing::warn!(%error, "a moved connection could not be registered: closed");
                    return;
                }
            };
            let mut socket = Socket::from(socket);
            let digest = SocketDigest::from_raw_fd(socket.as_raw_fd());
            let _ = digest.peer_addr.set(moved.peer);
            socket.set_socket_digest(digest);
            serve(Box::new(socket)).await;
        });
    }
}

/// A connection's socket on its way to a worker.
pub struct Moved {
    socket: std::net::TcpStream,
    peer: Option<pingora::protocols::l4::socket::SocketAddr>,
}
