//! Limits on what a client may send, beyond Pingora's own 1 MiB header cap: a GOPROXY
//! request is a short path and a few headers, so anything far larger is refused
//! before it is parsed further.

use super::decide::{Answer, DenyReason};
use crate::snapshot::ClientLimits;
use pingora::http::RequestHeader;

pub fn check(request: &RequestHeader, limits: &ClientLimits) -> Option<Answer> {
    let target = request.uri.path_and_query().map_or(0, |p| p.as_str().len());
    // Method, target, version and the spaces and CRLF between them.
    let line = request.method.as_str().len() + target + " HTTP/1.1\r\n ".len();
    if line > limits.max_request_line {
        return Some(refusal(
            414,
            format!(
                "modgate: the request line is longer than {} bytes\n",
                limits.max_request_line
            ),
        ));
    }
    let headers: usize = request
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if headers > limits.max_header_bytes {
        return Some(refusal(
            431,
            format!(
                "modgate: the request headers are larger than {} bytes\n",
                limits.max_header_bytes
            ),
        ));
    }
    None
}

fn refusal(status: u16, body: String) -> Answer {
    Answer {
        status,
        body,
        reason: Some(DenyReason::BadRequest),
        challenge: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn limits() -> ClientLimits {
        ClientLimits {
            keepalive_timeout: Duration::from_secs(1),
            header_timeout: Duration::from_secs(1),
            send_timeout: Duration::from_secs(1),
            max_header_bytes: 200,
            max_request_line: 100,
        }
    }

    fn request(path: &str, header: usize) -> RequestHeader {
        let mut request = RequestHeader::build("GET", path.as_bytes(), None).expect("request");
        request
            .insert_header("x-big", "a".repeat(header))
            .expect("header");
        request
    }

    #[test]
    fn small_requests_pass() {
        assert_eq!(
            check(&request("/example.com/x/@v/list", 10), &limits()),
            None
        );
    }

    #[test]
    fn long_targets_get_414_and_big_headers_431() {
        let long = format!("/{}", "a".repeat(100));
        assert_eq!(
            check(&request(&long, 10), &limits()).map(|a| a.status),
            Some(414)
        );
        assert_eq!(
            check(&request("/x", 300), &limits()).map(|a| a.status),
            Some(431)
        );
    }
}
