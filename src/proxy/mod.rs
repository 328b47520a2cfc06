//! The Pingora glue: each hook hands one step of the request's way to a plain
//! function and keeps the result in the request context.

pub mod ctx;
pub mod decide;
mod follow;
mod from_store;
mod from_tree;
mod hygiene;
mod limits;
pub mod peer;
mod record;
mod respond;
mod stored;

use crate::live::Live;

use crate::request::Kind;
use async_trait::async_trait;
use bytes::Bytes;
use ctx::{CacheResult, RequestCtx};
use decide::{decide, Inbound, Outcome};
use pingora::http::{RequestHeader, ResponseHeader};
use pingora::prelude::*;
use pingora::protocols::Digest;
use pingora::proxy::{FailToProxy, ProxyHttp, Session};
use pingora::upstreams::peer::HttpPeer;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// Headers that carry the client's credentials; they never go upstream.
const CLIENT_CREDENTIALS: [&str; 4] = [
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
];

pub struct Gateway {
    live: Arc<Live>,
}

impl Gateway {
    pub fn new(live: Arc<Live>) -> Gateway {
        Gateway { live }
    }
}

fn peer_ip(session: &Session) -> IpAddr {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; report them as IPv4.
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip().to_canonical())
}

fn is_tls(session: &Session) -> bool {
    session
        .digest()
        .is_some_and(|d: &Digest| d.ssl_digest.is_some())
}

#[async_trait]
impl ProxyHttp for Gateway {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> RequestCtx {
        RequestCtx::new(self.live.snapshot(), self.live.enter())
    }

    async fn request_filter(&self, session: &mut Session, ctx: &mut RequestCtx) -> Result<bool> {
        let limits = ctx.snapshot.server.limits;
        // Only bound connections the client asked to keep (Pingora would keep those
        // forever); HTTP/1.0 and `Connection: close` stay closed.
        if session.get_keepalive().is_some() {
            session.set_keepalive(Some(keepalive_seconds(limits.keepalive_timeout)));
        }
        if let Some(answer) = limits::check(session.req_header(), &limits) {
            return refuse(session, ctx, answer).await;
        }
        // Answers go out in request order; the next request is read after this one's
        // answer (Pingora's default drops pipelined requests and closes).
        session.set_pipelining_enabled(true);
        // Over HTTP/1 the head deadline's stream closes a client that takes nothing
        // for this long; an HTTP/2 stream stalls in flow control instead.
        if session.is_http2() {
            session.set_write_timeout(Some(limits.send_timeout));
        }
        let request = session.req_header();
        let decision = decide(
            &ctx.snapshot,
            Inbound {
                method: &request.method,
                version: request.version,
                headers: &request.headers,
                path: request.uri.path(),
                peer: peer_ip(session),
                forwarded_for: request
                    .headers
                    .get_all("x-forwarded-for")
                    .iter()
                    .map(|v| v.as_bytes()),
                api_key: request.headers.get("x-api-key").map(|v| v.as_bytes()),
                authorization: request.headers.get("authorization").map(|v| v.as_bytes()),
            },
        );
        ctx.client = Some(decision.client);
        ctx.key_id = decision.key_id;
        if !matches!(decision.outcome, Outcome::Answer(_)) {
            if let Err(flaw) = hygiene::no_body(session, limits.header_timeout).await {
                return refuse(session, ctx, hygiene::refusal(flaw)).await;
            }
            hygiene::drop_upgrade(session.req_header_mut());
        }
        match decision.outcome {
            Outcome::Forward(forward) => {
                let kind = forward.kind;
                ctx.forward = Some(forward);
                if from_tree::serve(session, ctx).await? {
                    return Ok(true);
                }
                let get = session.req_header().method == http::Method::GET;
                if let Some((stored, freshness)) = self.stored_answer(ctx, get) {
                    ctx.bytes = stored::serve(session, stored, kind, freshness).await?;
                    return Ok(true);
                }
                if let Some((store, path, flight)) = ctx.follow.take() {
                    if let Some(sent) = follow::serve(session, &store, &path, flight, kind).await? {
                        ctx.bytes = sent;
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Outcome::Answer(answer) => refuse(session, ctx, answer).await,
            Outcome::Admin(endpoint) => {
                let store = self.live.store();
                let report = crate::admin::report(endpoint, &ctx.snapshot, store.as_deref());
                respond::write(
                    session,
                    report.status,
                    report.content_type,
                    report.body,
                    false,
                )
                .await?;
                Ok(true)
            }
        }
    }

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut RequestCtx,
    ) -> Result<Box<HttpPeer>> {
        let (pool, backend) = ctx.next_backend()?;
        if ctx.tries_in_pool > 1 {
            tokio::time::sleep(backoff(ctx.tries_in_pool - 1)).await;
        }
        let (pool, backend) = (
            &ctx.snapshot.pools[pool],
            &ctx.snapshot.pools[pool].backends[backend],
        );
        let address = backend
            .state
            .address()
            .ok_or_else(|| Error::explain(HTTPStatus(503), "backend address not resolved"))?;
        Ok(Box::new(peer::backend_peer(pool, backend, address)))
    }

    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream: &mut RequestHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let (Some(forward), Some((pool, backend))) = (&ctx.forward, ctx.backend) else {
            return Error::e_explain(InternalError, "no backend chosen");
        };
        let pool = &ctx.snapshot.pools[pool];
        let backend = &pool.backends[backend];
        let target = format!("{}{}", backend.base_path, forward.upstream_path);
        let uri = target
            .parse::<http::Uri>()
            .map_err(|_| Error::explain(HTTPStatus(400), "request path cannot be forwarded"))?;
        upstream.set_uri(uri);
        for name in CLIENT_CREDENTIALS {
            upstream.remove_header(name);
        }
        upstream.insert_header(http::header::HOST, backend.host_header())?;
        for (name, value) in &pool.headers {
            upstream.insert_header(name.clone(), value.clone())?;
        }
        // A trusted proxy's chain is kept and extended; anyone else's is replaced, and
        // so is everything else a client could say about its address, host or scheme.
        let peer = peer_ip(session);
        let trusted = ctx.snapshot.trusted_proxies.contains(peer);
        if !trusted {
            hygiene::drop_client_forwarding(upstream);
        }
        let mut chain = String::new();
        if trusted {
            for earlier in session.req_header().headers.get_all("x-forwarded-for") {
                if let Ok(earlier) = earlier.to_str() {
                    chain.push_str(earlier);
                    chain.push_str(", ");
                }
            }
        }
        chain.push_str(&peer.to_string());
        upstream.insert_header("x-forwarded-for", chain)?;
        if let Some(client) = ctx.client {
            upstream.insert_header("x-real-ip", client.to_string())?;
        }
        upstream.insert_header(
            "x-forwarded-proto",
            if is_tls(session) { "https" } else { "http" },
        )?;
        Ok(())
    }

    async fn upstream_response_filter(
        &self,
        _session: &mut Session,
        upstream: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        let status = upstream.status.as_u16();
        ctx.upstream_status = Some(status);
        ctx.observe_upstream(Some(status));
        if upstream.status.is_informational() {
            // Nothing was asked to switch protocols, and a 101 relayed would be a tunnel.
            return Error::e_explain(InvalidHTTPHeader, "the upstream answered 1xx to a GET");
        }
        if ctx.should_try_again(status) {
            return Error::e_explain(HTTPStatus(status), "trying the next backend or pool");
        }
        if status >= 500 && ctx.stale.is_some() {
            return Error::e_explain(HTTPStatus(status), "serving the kept answer instead");
        }
        if status == 200 {
            if let (Some((store, path)), Some(forward)) = (ctx.artifact.take(), &ctx.forward) {
                if matches!(forward.kind, Kind::Info | Kind::Mod | Kind::Zip) {
                    upstream.insert_header("cache-control", stored::IMMUTABLE)?;
                }
                let expected = upstream
                    .headers
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse().ok());
                let module = forward.module.as_deref().unwrap_or_default();
                let version = forward.version.as_deref().unwrap_or_default();
                let lead = ctx.lead.take();
                ctx.fill =
                    Some(store.begin_fill(path, forward.kind, module, version, expected, lead));
            }
        }
        Ok(())
    }

    async fn response_filter(
        &self,
        _session: &mut Session,
        _response: &mut ResponseHeader,
        ctx: &mut RequestCtx,
    ) -> Result<()> {
        ctx.downstream_started = true;
        Ok(())
    }

    fn response_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut RequestCtx,
    ) -> Result<Option<Duration>> {
        let mut pause = None;
        if let Some(chunk) = body {
            ctx.bytes += chunk.len() as u64;
            if let Some(fill) = &mut ctx.fill {
                pause = fill.push(chunk);
            }
        }
        if end_of_stream {
            if let Some(fill) = &mut ctx.fill {
                fill.finish();
            }
        }
        Ok(pause)
    }

    fn fail_to_connect(
        &self,
        _session: &mut Session,
        _peer: &HttpPeer,
        ctx: &mut RequestCtx,
        mut e: Box<Error>,
    ) -> Box<Error> {
        ctx.observe_upstream(None);
        e.set_retry(ctx.may_retry_in_pool());
        e
    }

    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        _session: &mut Session,
        e: Box<Error>,
        ctx: &mut RequestCtx,
        _client_reused: bool,
    ) -> Box<Error> {
        if hygiene::is_client_fault(&e) {
            // Nothing the upstream did: not counted against it, and not retried.
            return e;
        }
        if !ctx.take_observed() {
            ctx.observe_upstream(None);
        }
        let mut e = e.more_context(format!("backend {peer}"));
        // Only GET and HEAD get this far, so trying again is safe until the first
        // byte of the answer has gone to the client.
        // A client that went away is no reason to ask another backend.
        let upstream_fault = *e.esource() == ErrorSource::Upstream;
        let retry = ctx.take_retry_request()
            || (upstream_fault && !ctx.downstream_started && ctx.may_retry_in_pool());
        e.set_retry(retry);
        e
    }

    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        e: &Error,
        ctx: &mut RequestCtx,
    ) -> FailToProxy {
        let status = match e.etype() {
            HTTPStatus(code) if *code >= 400 => *code,
            _ if hygiene::is_client_fault(e) => {
                return hygiene::client_failed(session, e, ctx).await
            }
            ConnectTimedout | ReadTimedout | WriteTimedout => 504,
            _ => 502,
        };
        if status >= 500 && !ctx.downstream_started {
            if let Some(served) = from_store::serve_stale(session, ctx).await {
                return served;
            }
        }
        let error_code = if ctx.downstream_started {
            0
        } else {
            let body = ctx.failure_message(status);
            match respond::plain(session, status, &body, false).await {
                Ok(()) => status,
                Err(_) => 0,
            }
        };
        ctx.failed_status = Some(status);
        FailToProxy {
            error_code,
            can_reuse_downstream: false,
        }
    }

    /// A stale answer served in place of the failure is logged by `serve_stale`.
    fn suppress_error_log(&self, _session: &Session, ctx: &RequestCtx, _error: &Error) -> bool {
        ctx.cache == Some(CacheResult::Stale)
    }

    async fn logging(&self, session: &mut Session, e: Option<&Error>, ctx: &mut RequestCtx) {
        record::request(session, e, ctx);
    }
}

/// Answers the request with a refusal modgate writes itself; the request ends here.
async fn refuse(
    session: &mut Session,
    ctx: &mut RequestCtx,
    answer: decide::Answer,
) -> Result<bool> {
    // A refused request's body would be read after the answer and taken for the next
    // request's head; modgate serves no request with a body, so such a connection ends.
    let request = session.req_header();
    if request.headers.contains_key(http::header::CONTENT_LENGTH)
        || request
            .headers
            .contains_key(http::header::TRANSFER_ENCODING)
    {
        session.set_keepalive(None);
    }
    respond::answer(session, &answer).await?;
    ctx.answered = Some(answer);
    Ok(true)
}

/// Pingora counts HTTP/1 keep-alive in whole seconds and takes 0 for forever. The
/// configuration refuses 0; a fraction rounds up, so no connection is cut shorter than
/// configured.
fn keepalive_seconds(timeout: Duration) -> u64 {
    timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0)
}

/// Exponential backoff with full jitter: 25 ms, 50 ms, 100 ms… capped at 1 s.
fn backoff(retry: u32) -> Duration {
    let ceiling = 25u64.saturating_mul(1 << retry.min(6)).min(1000);
    Duration::from_millis(rand::random::<u64>() % (ceiling + 1))
}

#[cfg(test)]
mod tests {
    use super::keepalive_seconds;
    use std::time::Duration;

    #[test]
    fn keepalive_rounds_up_to_whole_seconds() {
        assert_eq!(keepalive_seconds(Duration::from_secs(60)), 60);
        assert_eq!(keepalive_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(keepalive_seconds(Duration::from_millis(1)), 1);
    }
}
