//! The admin listener: `/metrics` (Prometheus text), `/healthz` (the process answers)
//! and `/readyz` (a configuration is loaded and every pool has a healthy backend).

use crate::admin::{report, Endpoint};
use crate::live::Live;
use crate::TEXT_PLAIN;
use async_trait::async_trait;
use http::Response;
use pingora::apps::http_app::ServeHttp;
use pingora::protocols::http::ServerSession;
use std::sync::Arc;

pub struct AdminApp {
    live: Arc<Live>,
}

impl AdminApp {
    pub fn new(live: Arc<Live>) -> AdminApp {
        AdminApp { live }
    }
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
        match Endpoint::from_path(session.req_header().uri.path()) {
            Some(endpoint) => {
                let report = report(endpoint, &self.live.snapshot());
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
