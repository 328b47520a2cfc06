//! The admin listener: `/metrics` (Prometheus text), `/healthz` (the process answers)
//! and `/readyz` (a configuration is loaded, every pool has a healthy backend and the
//! cache dir, if any, is writable).
//! Its request heads have the listeners' deadline: whoever can reach the port could
//! otherwise hold connections open by sending nothing.

use super::head_deadline::{Guarded, Limits};
use crate::admin::{report, Endpoint};
use crate::live::Live;
use crate::TEXT_PLAIN;
use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::apps::ServerApp;
use pingora::protocols::http::ServerSession;
use pingora::protocols::Stream;
use pingora::server::ShutdownWatch;
use std::sync::Arc;
use tokio::time::Instant;

pub struct AdminListener {
    app: Arc<AdminApp>,
}

impl AdminListener {
    pub fn new(live: Arc<Live>) -> AdminListener {
        AdminListener {
            app: Arc::new(AdminApp { live }),
        }
    }
}

#[async_trait]
impl ServerApp for AdminListener {
    async fn process_new(
        self: &Arc<Self>,
        stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        let limits = Limits::of(&self.app.live.snapshot().server.limits);
        let stream = Guarded::with_deadline(stream, Instant::now() + limits.header, limits);
        self.app.process_new(Box::new(stream), shutdown).await
    }

    async fn cleanup(&self) {
        self.app.cleanup().await
    }
}

struct AdminApp {
    live: Arc<Live>,
}

fn answer(status: u16, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    let headers = response.headers_mut();
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    headers.insert(http::header::CONTENT_LENGTH, body.len().into());
    *response.body_mut() = body;
    response
}

#[async_trait]
impl ServeHttp for AdminApp {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        let method = &session.req_header().method;
        if method != http::Method::GET && method != http::Method::HEAD {
            let mut refusal = answer(
                405,
                TEXT_PLAIN,
                b"modgate: only GET and HEAD are served\n".to_vec(),
            );
            refusal.headers_mut().insert(
                http::header::ALLOW,
                http::HeaderValue::from_static("GET, HEAD"),
            );
            return refusal;
        }
        match Endpoint::from_path(session.req_header().uri.path()) {
            Some(endpoint) => {
                let store = self.live.store();
                let report = report(endpoint, &self.live.snapshot(), store.as_deref());
                answer(report.status, report.content_type, report.body)
            }
            None => answer(
                404,
                TEXT_PLAIN,
                b"admin endpoints: /metrics /healthz /readyz\n".to_vec(),
            ),
        }
    }
}
