//! Entity tags, `If-None-Match` and caching headers for public reads.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::problem::ApiError;

/// Public catalog data may be cached briefly and must be revalidated after that; the
/// ETag makes revalidation cheap.
pub const PUBLIC_CACHE: &str = "public, max-age=60, must-revalidate";

/// A strong entity tag from arbitrary bytes.
pub fn etag_of(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &hasher.finalize()[..16] {
        tag.push(char::from(HEX[usize::from(byte >> 4)]));
        tag.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    tag.push('"');
    tag
}

/// Whether the request's `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2).
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .any(|value| {
            value.split(',').any(|candidate| {
                let candidate = candidate.trim();
                candidate == "*" || bare(candidate) == bare(etag)
            })
        })
}

/// 304 with the validator, or 200 with the serialised body; the tag is computed from
/// the body.
pub fn json_response<T: Serialize>(req: &HttpRequest, body: &T) -> Result<HttpResponse, ApiError> {
    let bytes = to_json(body)?;
    let etag = etag_of(&[&bytes]);
    respond(req, &etag, || Ok(bytes))
}

/// 304 when the client holds `etag`, otherwise 200 with the body `render` produces (not
/// called on 304).
pub fn respond(
    req: &HttpRequest,
    etag: &str,
    render: impl FnOnce() -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let etag_value = HeaderValue::from_str(etag).map_err(|e| ApiError::Internal(Box::new(e)))?;
    if not_modified(req, etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag_value))
            .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_value))
        .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
        .content_type("application/json")
        .body(render()?))
}

/// Serialises a value for [`respond`].
pub fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError::Internal(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let etag = "\"abc\"";
        for header_value in ["\"abc\"", "\"x\", \"abc\"", "W/\"abc\"", "*"] {
            let req = TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, header_value))
                .to_http_request();
            assert!(not_modified(&req, etag), "{header_value}");
        }
        let req = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"abd\""))
            .to_http_request();
        assert!(!not_modified(&req, etag));
        assert!(!not_modified(
            &TestRequest::default().to_http_request(),
            etag
        ));
    }

    #[test]
    fn etags_differ_when_any_part_differs() {
        assert_ne!(etag_of(&[b"ab", b"c"]), etag_of(&[b"a", b"bc"]));
        assert_eq!(etag_of(&[b"abc"]), etag_of(&[b"abc"]));
    }
}
