//! Request ids, structured request logs, and the last line of defence for error
//! bodies: any error response that is not already problem+json (actix's own 404s,
//! handler-less failures) is rewritten as one, and every 5xx body is replaced by a
//! generic problem carrying the request id.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use percent_encoding::percent_decode_str;
use tracing::Instrument;

use super::body_deadline::{BodyDeadline, with_deadline};
use super::cors::OriginPolicy;
use super::metrics::Metrics;
use super::problem::{ApiError, PROBLEM_JSON, generic_problem, problem_response};
use super::rate_limit::{Caller, Limit, RateLimits};
use crate::application::UseCases;
use crate::domain::governance::Principal;
use crate::registry::Registry;

/// Header carrying the request id, accepted from the client or generated.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Present on reads while the database does not answer: since when. The answer comes
/// from the instance's read model, which may miss changes made meanwhile elsewhere.
pub const STALE_SINCE_HEADER: HeaderName = HeaderName::from_static("x-registry-stale-since");

/// The id of the request being served, available from request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An id supplied by a client is kept when it is short and plain, so that a provincial
/// system can correlate its own logs with ours; otherwise a new UUID is used.
fn request_id_for(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Middleware: request id, span, access log, problem+json for every error.
pub async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // HEAD is GET without the body (RFC 9110 §9.3.2): route it as GET; actix-http knows
    // the request on the wire was HEAD and sends the headers only.
    let method = req.method().clone();
    if method == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let request_id = request_id_for(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let span = tracing::info_span!("http.request", request_id = %request_id, method = %method, path = %req.path());
    let started = Instant::now();
    let is_docs = req.path().starts_with("/docs");
    if has_body(&req)
        && let Some(deadline) = req
            .app_data::<actix_web::web::Data<BodyDeadline>>()
            .map(|d| d.0)
    {
        let payload = req.take_payload();
        req.set_payload(with_deadline(payload, deadline));
    }

    let limit = if method == Method::GET || method == Method::HEAD {
        Limit::Read
    } else {
        Limit::Write
    };
    let principal = principal_for(&req, limit);
    let metrics = req.app_data::<actix_web::web::Data<Metrics>>().cloned();
    let stale_since = (limit == Limit::Read && req.path().starts_with("/api/"))
        .then(|| req.app_data::<actix_web::web::Data<Registry>>())
        .flatten()
        .and_then(|registry| registry.unreachable_since());
    let refusal = refusal_before_routing(&req)
        .or_else(|| {
            req.app_data::<actix_web::web::Data<OriginPolicy>>()
                .and_then(|policy| policy.refusal(req.head()))
        })
        .or_else(|| over_rate_limit(&req, limit, principal.as_ref()));
    if let (Some(ApiError::TooManyRequests { .. }), Some(metrics)) = (&refusal, &metrics) {
        metrics.rate_limited(limit);
    }
    let mut response = match refusal {
        Some(refusal) => req.into_response(refusal.error_response()),
        None => next
            .call(req)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body(),
    };
    let route = response.request().match_pattern();
    let status = response.status();
    if status.is_server_error() || (status.is_client_error() && !is_problem(&response)) {
        response = response.map_body(|head, _| {
            let problem = generic_problem(head.status, &request_id);
            head.headers
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
            head.headers
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            problem_response(&problem).into_body()
        });
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    add_protective_headers(response.headers_mut(), status, is_docs);
    if let Some(since) = stale_since
        && (status.is_success() || status == StatusCode::NOT_MODIFIED)
        && let Ok(value) =
            HeaderValue::from_str(&since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    {
        response.headers_mut().insert(STALE_SINCE_HEADER, value);
    }
    let took = started.elapsed();
    if let Some(metrics) = &metrics {
        metrics.observe(route.as_deref(), &method, status.as_u16(), took);
    }
    // Whole microseconds, so the log shows `0.06`, not `0.059942999999999996`.
    let duration_ms = took.as_micros() as f64 / 1000.0;
    // Writes name who asked (a verified token's subject and region), never the token.
    let actor = principal
        .as_ref()
        .filter(|_| limit == Limit::Write)
        .map(|p| format!("{} ({})", p.subject, p.region));
    let route = route.as_deref().unwrap_or("-");
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(
                status = status.as_u16(),
                duration_ms,
                route,
                actor = actor.as_deref(),
                "request served"
            );
        } else {
            tracing::info!(
                status = status.as_u16(),
                duration_ms,
                route,
                actor = actor.as_deref(),
                "request served"
            );
        }
    });
    Ok(response)
}

/// The verified principal of a request's bearer token, when one is needed here: on
/// writes (the log names the actor; the write limit counts per subject) and on reads
/// while the read limit is on. The handler verifies the token again for itself: this
/// one only names and counts.
fn principal_for(req: &ServiceRequest, limit: Limit) -> Option<Principal> {
    if !req.headers().contains_key(header::AUTHORIZATION) {
        return None;
    }
    if limit == Limit::Read
        && !req
            .app_data::<actix_web::web::Data<RateLimits>>()
            .is_some_and(|limits| limits.limits(Limit::Read))
    {
        return None;
    }
    let use_cases = req.app_data::<actix_web::web::Data<UseCases>>()?;
    let authorization: Vec<Vec<u8>> = req
        .headers()
        .get_all(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec())
        .collect();
    use_cases.authenticate(&authorization).ok()
}

/// 429 when the caller has used up its allowance. Only the API is limited: probes,
/// metrics and the documentation are not.
fn over_rate_limit(
    req: &ServiceRequest,
    limit: Limit,
    principal: Option<&Principal>,
) -> Option<ApiError> {
    if !req.path().starts_with("/api/") || req.method() == Method::OPTIONS {
        return None;
    }
    let limits = req
        .app_data::<actix_web::web::Data<RateLimits>>()
        .filter(|limits| limits.limits(limit))?;
    let caller = match principal {
        Some(p) => Caller::Subject {
            issuer: p.issuer.clone(),
            subject: p.subject.clone(),
        },
        None => {
            let peer = req
                .peer_addr()
                .map(|a| a.ip())
                .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into());
            let forwarded: Vec<&str> = req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .collect();
            Caller::Address(limits.client_address(peer, &forwarded))
        }
    };
    let exceeded = limits.check(limit, &caller).err()?;
    let who = match caller {
        Caller::Address(address) => format!("client address {address}"),
        Caller::Subject { subject, .. } => format!("token subject `{subject}`"),
    };
    tracing::info!(limit = exceeded.limit.as_str(), who, "rate limit exceeded");
    Some(ApiError::TooManyRequests {
        detail: format!(
            "More than {} {}s a second from {who}; ask again in {} s.",
            exceeded.per_second,
            exceeded.limit.as_str(),
            exceeded.retry_after_seconds()
        ),
        retry_after: exceeded.retry_after_seconds(),
    })
}

/// Whether the request declares a body (a length above zero, or chunks).
fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|length| length.trim() != "0")
}

/// What no handler should ever see: a query that is not UTF-8 once percent-decoded
/// (silently replacing bytes would answer a question nobody asked), and a body in a
/// `Content-Encoding` the registry does not decode (it would be read as plain JSON).
fn refusal_before_routing(req: &ServiceRequest) -> Option<ApiError> {
    let utf8 = req
        .query_string()
        .split(['&', '='])
        .all(|part| percent_decode_str(part).decode_utf8().is_ok());
    if !utf8 {
        return Some(ApiError::parameter(
            "query",
            "the query string is not UTF-8 once percent-decoded",
        ));
    }
    let encodings: Vec<&str> = req
        .headers()
        .get_all(header::CONTENT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .collect();
    let encoding = encodings.join(", ");
    let identity = encoding
        .split(',')
        .all(|coding| coding.trim().eq_ignore_ascii_case("identity"));
    if !encodings.is_empty() && !identity {
        return Some(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding `{encoding}` is not supported; send the body uncompressed."
        )));
    }
    None
}

/// Headers every answer carries: no content sniffing; on the documentation page a
/// content security policy and no framing (it runs scripts); on 503 when to retry.
fn add_protective_headers(headers: &mut header::HeaderMap, status: StatusCode, is_docs: bool) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if is_docs {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
        );
    }
    if status == StatusCode::SERVICE_UNAVAILABLE && !headers.contains_key(header::RETRY_AFTER) {
        headers.insert(
            header::RETRY_AFTER,
            HeaderValue::from_static(RETRY_AFTER_SECONDS),
        );
    }
}

/// The documentation page loads its own scripts, styles and the spec from this origin
/// only; Swagger UI's start-up script and styles are inline, its icons data URLs.
const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// How long a client should wait after a 503 (the database away) before asking again.
pub const RETRY_AFTER_SECONDS: &str = "2";

fn is_problem(response: &ServiceResponse<BoxBody>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}
