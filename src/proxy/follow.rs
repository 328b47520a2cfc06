//! A request that follows another's upstream fetch of the same artifact: its answer
//! is read from the file being filled, as the bytes arrive.

use super::stored::{self, content_type, Freshness};
use crate::cache::{Progress, Store};
use crate::request::Kind;
use bytes::{Bytes, BytesMut};
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;
use std::fs::File;
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

const CHUNK: u64 = 256 * 1024;

/// Serves the artifact from the flight; `None` when the flight ended with nothing to
/// share before any byte was sent (the caller then asks upstream itself).
pub async fn serve(
    session: &mut Session,
    store: &Store,
    path: &str,
    mut flight: watch::Receiver<Progress>,
    kind: Kind,
) -> Result<Option<u64>> {
    let (mut file, len) = loop {
        let progress = flight.borrow_and_update().clone();
        match progress {
            Progress::Waiting => {
                if flight.changed().await.is_err() {
                    return Ok(None);
                }
            }
            Progress::Failed => return Ok(None),
            Progress::Stored => {
                let Some(stored) = store.open_artifact(path) else {
                    return Ok(None);
                };
                let sent = stored::serve(session, stored, kind, Freshness::Immutable).await?;
                return Ok(Some(sent));
            }
            Progress::Filling { temp, len, .. } => match File::open(&temp) {
                Ok(file) => break (tokio::fs::File::from_std(file), len),
                // Renamed into place meanwhile: the next progress says Stored.
                Err(_) => {
                    if flight.changed().await.is_err() {
                        return Ok(None);
                    }
                }
            },
        }
    };
    let mut header = ResponseHeader::build(200, Some(4))?;
    header.insert_header("content-type", content_type(kind))?;
    header.insert_header("cache-control", stored::IMMUTABLE)?;
    if let Some(len) = len {
        header.insert_header("content-length", len)?;
    }
    let head_only = session.req_header().method == http::Method::HEAD;
    session
        .write_response_header(Box::new(header), head_only)
        .await?;
    if head_only {
        return Ok(Some(0));
    }
    let mut sent = 0u64;
    loop {
        let progress = flight.borrow_and_update().clone();
        let (available, complete) = match progress {
            Progress::Filling { written, .. } => (written, false),
            Progress::Stored => {
                let on_disk = file.metadata().await.map(|m| m.len());
                (on_disk.map_err(read_error)?, true)
            }
            Progress::Failed | Progress::Waiting => {
                return Error::e_explain(ReadError, "the fill this answer followed failed")
            }
        };
        while sent < available {
            let mut buf = BytesMut::zeroed(CHUNK.min(available - sent) as usize);
            let read = file.read(&mut buf).await.map_err(read_error)?;
            if read == 0 {
                break;
            }
            buf.truncate(read);
            sent += read as u64;
            let last = complete && sent >= available;
            session
                .write_response_body(Some(Bytes::from(buf)), last)
                .await?;
        }
        if complete {
            if sent == 0 {
                session.write_response_body(None, true).await?;
            }
            return Ok(Some(sent));
        }
        if flight.changed().await.is_err() && !matches!(*flight.borrow(), Progress::Stored) {
            return Error::e_explain(ReadError, "the fill this answer followed ended");
        }
    }
}

fn read_error(e: std::io::Error) -> Box<Error> {
    Error::because(ReadError, "reading the artifact being filled", e)
}
