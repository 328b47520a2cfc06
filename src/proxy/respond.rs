//! Answers modgate writes itself. Refusals keep the connection open (a go command
//! fetching many modules should not reconnect after one 403), so the header and body
//! are written directly rather than through `respond_error`.

use super::decide::Answer;
use crate::TEXT_PLAIN;
use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::prelude::*;
use pingora::proxy::Session;

pub async fn answer(session: &mut Session, answer: &Answer) -> Result<()> {
    plain(session, answer.status, &answer.body, answer.challenge).await
}

pub async fn plain(session: &mut Session, status: u16, body: &str, challenge: bool) -> Result<()> {
    let body = body.as_bytes().to_vec();
    write(session, status, TEXT_PLAIN, body, challenge).await
}

pub async fn write(
    session: &mut Session,
    status: u16,
    content_type: &str,
    body: Vec<u8>,
    challenge: bool,
) -> Result<()> {
    let mut header = ResponseHeader::build(status, Some(4))?;
    header.insert_header("content-type", content_type)?;
    header.insert_header("content-length", body.len())?;
    header.insert_header("cache-control", "no-store")?;
    if challenge {
        header.insert_header("www-authenticate", "Basic realm=\"modgate\"")?;
    }
    if status == 405 {
        header.insert_header("allow", "GET, HEAD")?;
    }
    let head_only = session.req_header().method == http::Method::HEAD || body.is_empty();
    session
        .write_response_header(Box::new(header), head_only)
        .await?;
    if !head_only {
        session
            .write_response_body(Some(Bytes::from(body)), true)
            .await?;
    }
    Ok(())
}
