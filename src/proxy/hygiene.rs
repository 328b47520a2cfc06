//! The parts of request hygiene that need the session (an HTTP/2 body is told by its
//! frames, not its head) or that shape the request sent upstream. The head checks are
//! in `request::hygiene`.

use super::ctx::RequestCtx;
use super::decide::{Answer, DenyReason};
use crate::request::hygiene::Flaw;
use pingora::http::RequestHeader;
use pingora::prelude::*;
use pingora::proxy::{FailToProxy, Session};
use std::time::Duration;

pub fn refusal(flaw: Flaw) -> Answer {
    Answer {
        status: 400,
        body: flaw.message().into(),
        reason: Some(DenyReason::BadRequest),
        challenge: false,
    }
}

/// An HTTP/2 request whose headers did not end the stream may still end it with an
/// empty DATA frame; anything else is a body. HTTP/1 bodies were refused by their head.
pub async fn no_body(session: &mut Session, wait: Duration) -> Result<(), Flaw> {
    if session.is_body_empty() {
        return Ok(());
    }
    loop {
        match tokio::time::timeout(wait, session.read_request_body()).await {
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(chunk))) if chunk.is_empty() => {}
            _ => return Err(Flaw::Body),
        }
    }
}

/// A protocol upgrade would turn the connection into a tunnel past every per-request
/// check. The request is served as the plain GET it also is (RFC 9110 lets a server
/// ignore `Upgrade`), and Pingora no longer takes it for an upgrade.
pub fn drop_upgrade(request: &mut RequestHeader) {
    request.remove_header(&http::header::UPGRADE);
}

/// Headers through which a client names its address, host or scheme to the upstream;
/// only a trusted proxy's are passed on.
const CLIENT_FORWARDING: [&str; 2] = ["forwarded", "x-real-ip"];
const FORWARDED_FAMILY: &str = "x-forwarded-";

pub fn drop_client_forwarding(upstream: &mut RequestHeader) {
    for name in CLIENT_FORWARDING {
        upstream.remove_header(name);
    }
    while let Some(name) = upstream
        .headers
        .keys()
        .find(|name| name.as_str().starts_with(FORWARDED_FAMILY))
        .cloned()
    {
        upstream.remove_header(&name);
    }
}

/// The client's side failed: it went away, stopped reading, or sent what cannot be
/// forwarded. Not an upstream failure, so no 502 and no upstream error counted.
pub fn is_client_fault(e: &Error) -> bool {
    *e.esource() == ErrorSource::Downstream
}

pub async fn client_failed(session: &mut Session, e: &Error, ctx: &mut RequestCtx) -> FailToProxy {
    let gone = matches!(
        e.etype(),
        ConnectionClosed | ReadError | WriteError | ReadTimedout | WriteTimedout
    );
    let mut error_code = 0;
    if gone {
        // nginx's 499: logged, never sent.
        ctx.failed_status = Some(499);
    } else {
        let answer = refusal(Flaw::Unreadable);
        if !ctx.downstream_started && super::respond::answer(session, &answer).await.is_ok() {
            error_code = answer.status;
        }
        ctx.failed_status = Some(answer.status);
        ctx.answered = Some(answer);
    }
    FailToProxy {
        error_code,
        can_reuse_downstream: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_forwarding_header_is_dropped_and_others_kept() {
        let mut request = RequestHeader::build("GET", b"/x", None).expect("request");
        for name in [
            "Forwarded",
            "X-Real-IP",
            "X-Forwarded-Host",
            "x-forwarded-for",
            "X-Forwarded-Proto",
            "X-Forwarded-Prefix",
            "Accept",
        ] {
            request.append_header(name, "v").expect("header");
        }
        request
            .append_header("x-forwarded-host", "w")
            .expect("header");
        drop_client_forwarding(&mut request);
        let left: Vec<&str> = request.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(left, ["accept"]);
    }
}
