//! Single flight: concurrent misses for one artifact make one upstream fetch. The
//! first request leads (it asks upstream, and its 200 is stored); the others follow,
//! streaming the bytes from the file being filled as they arrive, not after the fill.
//! If the lead gets no 200, its followers ask upstream themselves.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The lead has asked upstream and has no answer yet.
    Waiting,
    /// A 200 is being written to `temp`; `written` bytes are there so far.
    Filling {
        temp: PathBuf,
        len: Option<u64>,
        written: u64,
    },
    /// Complete, checked and under its final name.
    Stored,
    /// Nothing to share: no 200, or the transfer or the fill failed.
    Failed,
}

type Board = Arc<Mutex<HashMap<String, (u64, watch::Receiver<Progress>)>>>;

/// The artifacts in flight in one store.
#[derive(Debug, Default)]
pub struct Flights {
    board: Board,
}

pub enum Role {
    Lead(Lead),
    Follow(watch::Receiver<Progress>),
}

impl Flights {
    /// Leads the fetch of `path`, or follows the one in flight.
    pub fn join(&self, path: &str) -> Role {
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, progress)) = board.get(path) {
            return Role::Follow(progress.clone());
        }
        let (sender, receiver) = watch::channel(Progress::Waiting);
        let id = rand::random();
        board.insert(path.to_owned(), (id, receiver));
        Role::Lead(Lead {
            board: self.board.clone(),
            path: path.to_owned(),
            id,
            sender,
            ended: false,
        })
    }
}

/// The leading request's hold on a flight. Dropped before it ends (no 200, a failed
/// transfer), it tells the followers to ask upstream themselves.
#[derive(Debug)]
pub struct Lead {
    board: Board,
    path: String,
    id: u64,
    sender: watch::Sender<Progress>,
    ended: bool,
}

impl Lead {
    pub fn filling(&self, temp: PathBuf, len: Option<u64>) {
        self.sender.send_replace(Progress::Filling {
            temp,
            len,
            written: 0,
        });
    }

    pub fn wrote(&self, bytes: u64) {
        self.sender.send_modify(|progress| {
            if let Progress::Filling { written, .. } = progress {
                *written += bytes;
            }
        });
    }

    pub fn end(mut self, stored: bool) {
        self.finish(if stored {
            Progress::Stored
        } else {
            Progress::Failed
        });
    }

    fn finish(&mut self, last: Progress) {
        self.ended = true;
        let mut board = self.board.lock().unwrap_or_else(|e| e.into_inner());
        if board.get(&self.path).is_some_and(|(id, _)| *id == self.id) {
            board.remove(&self.path);
        }
        drop(board);
        self.sender.send_replace(last);
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if !self.ended {
            self.finish(Progress::Failed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_leads_the_rest_follow_until_it_ends() {
        let flights = Flights::default();
        let Role::Lead(lead) = flights.join("m/@v/v1.0.0.zip") else {
            panic!("the first request leads");
        };
        let Role::Follow(mut follower) = flights.join("m/@v/v1.0.0.zip") else {
            panic!("the second follows");
        };
        assert!(matches!(flights.join("m/@v/v1.0.0.mod"), Role::Lead(_)));
        lead.filling(PathBuf::from("t"), Some(10));
        lead.wrote(4);
        assert_eq!(
            *follower.borrow_and_update(),
            Progress::Filling {
                temp: PathBuf::from("t"),
                len: Some(10),
                written: 4
            }
        );
        lead.end(true);
        assert_eq!(*follower.borrow_and_update(), Progress::Stored);
        // Ended: the next miss leads a new flight.
        assert!(matches!(flights.join("m/@v/v1.0.0.zip"), Role::Lead(_)));
    }

    #[test]
    fn a_lead_dropped_unfinished_fails_its_followers() {
        let flights = Flights::default();
        let lead = flights.join("p");
        let Role::Follow(follower) = flights.join("p") else {
            panic!("follows");
        };
        drop(lead);
        assert_eq!(*follower.borrow(), Progress::Failed);
        assert!(matches!(flights.join("p"), Role::Lead(_)));
    }
}
