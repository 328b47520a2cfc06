//! Answers from the store: an immutable artifact with its validators, whole, as a
//! range (the go command and CDNs resume with one), or as "not modified".

use crate::cache::Stored;
use crate::request::Kind;
use bytes::{Bytes, BytesMut};
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;
use std::io::SeekFrom;
use std::os::unix::fs::FileExt;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

pub const IMMUTABLE: &str = "public, max-age=604800, immutable";

/// Read at once, on the request's thread: `.info` and `.mod`, and small zips.
const SMALL: u64 = 64 * 1024;
const CHUNK: usize = 256 * 1024;

pub fn content_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Info | Kind::Latest => "application/json",
        Kind::Zip => "application/zip",
        _ => crate::TEXT_PLAIN,
    }
}

/// The bytes one `Range: bytes=…` header asks for, as `start..end`, within `len`.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    All,
    Part(u64, u64),
    Unsatisfiable,
}

/// A single range is served; several, or a unit other than bytes, get the whole file,
/// which RFC 9110 allows.
pub fn wanted(range: Option<&[u8]>, len: u64) -> Wanted {
    let Some(spec) = range
        .and_then(|r| std::str::from_utf8(r).ok())
        .and_then(|r| r.trim().strip_prefix("bytes="))
    else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    let number = |s: &str| s.trim().parse::<u64>().ok();
    let (start, end) = match (first.trim().is_empty(), number(first), number(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(suffix)) if suffix > 0 => (len.saturating_sub(suffix), len),
        (true, _, _) => return Wanted::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => (start, len),
        (false, Some(start), Some(last)) if last >= start => (start, len.min(last + 1)),
        _ => return Wanted::All,
    };
    if start >= len {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part(start, end)
}

fn matches_etag(if_none_match: Option<&[u8]>, etag: &str) -> bool {
    if_none_match.is_some_and(|v| {
        v.split(|&b| b == b',').map(<[u8]>::trim_ascii).any(|tag| {
            tag == b"*"
                || tag == etag.as_bytes()
                || tag.strip_prefix(b"W/") == Some(etag.as_bytes())
        })
    })
}

/// How a stored answer is labelled for the client and caches in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// An artifact of a canonical version: it never changes.
    Immutable,
    /// A list or `@latest` answer, reused for this much longer.
    For(Duration),
    /// A list or `@latest` answer past its time, served because every upstream
    /// failed (stale-if-error).
    Stale,
}

/// Writes the answer; returns the body bytes sent.
pub async fn serve(
    session: &mut Session,
    stored: Stored,
    kind: Kind,
    freshness: Freshness,
) -> Result<u64> {
    let request = session.req_header();
    let not_modified = matches_etag(
        request.headers.get("if-none-match").map(|v| v.as_bytes()),
        &stored.etag,
    );
    let wanted = wanted(
        request.headers.get("range").map(|v| v.as_bytes()),
        stored.len,
    );
    let head_only = request.method == http::Method::HEAD;
    let (status, start, end) = match (not_modified, wanted) {
        (true, _) => (304, 0, 0),
        (false, Wanted::All) => (200, 0, stored.len),
        (false, Wanted::Part(start, end)) => (206, start, end),
        (false, Wanted::Unsatisfiable) => (416, 0, 0),
    };
    let mut header = ResponseHeader::build(status, Some(6))?;
    header.insert_header("etag", &stored.etag)?;
    match freshness {
        Freshness::Immutable => header.insert_header("cache-control", IMMUTABLE)?,
        Freshness::For(left) => header.insert_header(
            "cache-control",
            format!("public, max-age={}", left.as_secs()),
        )?,
        Freshness::Stale => {
            header.insert_header("cache-control", "no-cache")?;
            header.insert_header("warning", "110 - \"Response is Stale\"")?;
        }
    }
    header.insert_header("accept-ranges", "bytes")?;
    match status {
        206 => {
            header.insert_header(
                "content-range",
                format!("bytes {start}-{}/{}", end - 1, stored.len),
            )?;
        }
        416 => header.insert_header("content-range", format!("bytes */{}", stored.len))?,
        _ => {}
    }
    if status != 304 {
        header.insert_header("content-type", content_type(kind))?;
        header.insert_header("content-length", end - start)?;
    }
    let empty = head_only || end == start;
    session
        .write_response_header(Box::new(header), empty)
        .await?;
    if empty {
        return Ok(0);
    }
    let read_error = |e| Error::because(ReadError, "reading a stored artifact", e);
    if end - start <= SMALL {
        // One read from the page cache, on this thread: tokio::fs would hand each call
        // to the blocking pool, which cost a small hit three times its own work.
        let mut buf = vec![0; (end - start) as usize];
        stored
            .file
            .read_exact_at(&mut buf, start)
            .map_err(read_error)?;
        session
            .write_response_body(Some(Bytes::from(buf)), true)
            .await?;
        return Ok(end - start);
    }
    let mut file = tokio::fs::File::from_std(stored.file);
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(read_error)?;
    let mut left = end - start;
    while left > 0 {
        let size = CHUNK.min(left as usize);
        let mut buf = BytesMut::zeroed(size);
        let read = file.read(&mut buf).await.map_err(read_error)?;
        if read == 0 {
            return Error::e_explain(ReadError, "a stored artifact is shorter than it was");
        }
        buf.truncate(read);
        left -= read as u64;
        session
            .write_response_body(Some(Bytes::from(buf)), left == 0)
            .await?;
    }
    Ok(end - start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str, len: u64) -> Wanted {
        wanted(Some(text.as_bytes()), len)
    }

    #[test]
    fn single_byte_ranges_are_served_and_clamped() {
        assert_eq!(range("bytes=0-9", 100), Wanted::Part(0, 10));
        assert_eq!(range("bytes=90-", 100), Wanted::Part(90, 100));
        assert_eq!(range("bytes=90-1000", 100), Wanted::Part(90, 100));
        assert_eq!(range("bytes=-10", 100), Wanted::Part(90, 100));
        assert_eq!(range("bytes=-1000", 100), Wanted::Part(0, 100));
    }

    #[test]
    fn past_the_end_is_unsatisfiable_and_anything_odd_is_the_whole_file() {
        assert_eq!(range("bytes=100-", 100), Wanted::Unsatisfiable);
        assert_eq!(range("bytes=-0", 100), Wanted::Unsatisfiable);
        for odd in [
            "bytes=5-1",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=a-b",
            "bytes=1",
        ] {
            assert_eq!(range(odd, 100), Wanted::All, "{odd}");
        }
        assert_eq!(wanted(None, 100), Wanted::All);
    }

    #[test]
    fn etags_match_strong_weak_and_star() {
        let etag = "\"1f-abc\"";
        assert!(matches_etag(Some(b"\"1f-abc\""), etag));
        assert!(matches_etag(Some(b"\"x\", W/\"1f-abc\""), etag));
        assert!(matches_etag(Some(b"*"), etag));
        assert!(!matches_etag(Some(b"\"1f-abd\""), etag));
        assert!(!matches_etag(None, etag));
    }
}
