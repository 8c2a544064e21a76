//! Cross-origin calls from browser pages (CORS): public reads from the configured read
//! origins (any, by default), writes only from origins named for writing. Bearer tokens
//! travel in a header, never in cookies, so credentials are never allowed.
//!
//! `actix-cors` answers preflights and adds the response headers; a write that arrives
//! from a page of another origin anyway (a browser sends simple requests without a
//! preflight) is refused here with 403, before anything is changed.

use actix_cors::Cors;
use actix_web::dev::RequestHead;
use actix_web::http::{Method, header};

use super::problem::ApiError;
use crate::settings::{AccessSettings, Origins};

/// Response headers a page may read besides the CORS-safelisted ones.
const EXPOSED_HEADERS: [&str; 4] = ["etag", "location", "retry-after", "x-request-id"];

/// Request headers a page may send besides the CORS-safelisted ones.
const ALLOWED_HEADERS: [&str; 6] = [
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "x-request-id",
    "accept",
];

/// How long a browser may cache a preflight answer (seconds).
const PREFLIGHT_MAX_AGE: usize = 600;

/// Which pages may read and which may write.
#[derive(Debug, Clone)]
pub struct OriginPolicy {
    read: Origins,
    write: Origins,
}

impl OriginPolicy {
    /// The policy of these settings.
    pub fn new(access: &AccessSettings) -> Self {
        Self {
            read: access.read_origins.clone(),
            write: access.write_origins.clone(),
        }
    }

    /// Whether a page of `origin` may make a request with `method` that arrived as `head`.
    fn allows(&self, origin: &str, method: &Method, head: &RequestHead) -> bool {
        if is_same_origin(origin, head) {
            return true;
        }
        if is_read(method) {
            self.read.allows(origin) || self.write.allows(origin)
        } else {
            self.write.allows(origin)
        }
    }

    /// The CORS middleware (built per worker).
    pub fn middleware(&self) -> Cors {
        let policy = self.clone();
        Cors::default()
            .allowed_origin_fn(move |origin, head| {
                origin
                    .to_str()
                    .is_ok_and(|origin| policy.allows(origin, &intended_method(head), head))
            })
            .allowed_methods([
                Method::GET,
                Method::HEAD,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allowed_headers(ALLOWED_HEADERS)
            .expose_headers(EXPOSED_HEADERS)
            .max_age(PREFLIGHT_MAX_AGE)
    }

    /// 403 for a write from a page of an origin not allowed to write. Requests without
    /// `Origin` (other servers, command-line clients) are not concerned.
    pub fn refusal(&self, head: &RequestHead) -> Option<ApiError> {
        if head.method == Method::OPTIONS || is_read(&head.method) {
            return None;
        }
        let origin = head.headers().get(header::ORIGIN)?;
        let allowed = origin
            .to_str()
            .is_ok_and(|o| self.allows(o, &head.method, head));
        (!allowed).then(|| {
            ApiError::Forbidden(format!(
                "Pages of {} may not write to the registry; the origins allowed to are set by REGISTRY_CORS_WRITE_ORIGINS.",
                String::from_utf8_lossy(origin.as_bytes())
            ))
        })
    }
}

/// The method a request uses, or for a preflight the one it asks about.
fn intended_method(head: &RequestHead) -> Method {
    if head.method == Method::OPTIONS
        && let Some(asked) = head
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .and_then(|v| Method::from_bytes(v.as_bytes()).ok())
    {
        return asked;
    }
    head.method.clone()
}

fn is_read(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

/// Whether `origin` is the registry's own (the documentation page trying a write): not
/// a cross-origin call, so no CORS rule applies.
fn is_same_origin(origin: &str, head: &RequestHead) -> bool {
    let host = head
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((host, origin_host), (Some(host), Some(origin_host)) if host.eq_ignore_ascii_case(origin_host))
}
