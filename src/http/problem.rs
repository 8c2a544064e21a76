//! Errors as `application/problem+json` (RFC 9457), including actix's own extractor
//! and routing errors, mapped in one place.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, error, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::storage::StorageError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response body (RFC 9457 problem details).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:jjj-registry:problem:invalid-parameter",
    "title": "Invalid parameter",
    "status": 400,
    "detail": "`used_in`: unknown region `SH`",
    "errors": [{"field": "used_in", "message": "unknown region `SH`"}]
}))]
pub struct ProblemDetails {
    /// A URI naming the problem type; stable, documented in `docs/API.md`.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong in this request, in plain English.
    pub detail: String,
    /// Per-field errors for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The request id (also in the `X-Request-Id` header), for server errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// One invalid field or parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The parameter or JSON field (dotted path for nested fields).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Every error the API answers with; each variant has one status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or path parameter is invalid.
    #[error("{}", describe_fields(.0))]
    InvalidParameter(Vec<FieldError>),
    /// The body is not acceptable JSON or fails validation.
    #[error("{0}")]
    InvalidBody(String, Vec<FieldError>),
    /// Nothing is at this address.
    #[error("{0}")]
    NotFound(String),
    /// The path exists but not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The body is larger than the configured limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// No acceptable bearer token (sent with `WWW-Authenticate`).
    #[error("{0}")]
    Unauthorized(String),
    /// The token may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The change collides with the current state of the catalog.
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` names a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A write came without `If-Match`.
    #[error("{0}")]
    PreconditionRequired(String),
    /// The database cannot be reached.
    #[error("{0}")]
    Unavailable(String),
    /// The body did not arrive within the configured time (408).
    #[error("{0}")]
    RequestTimeout(String),
    /// The caller's rate limit is used up (429); it may ask again after `retry_after` seconds.
    #[error("{detail}")]
    TooManyRequests {
        /// What was exceeded.
        detail: String,
        /// Whole seconds to wait, at least 1.
        retry_after: u64,
    },
    /// A bug or an unexpected failure; the cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn describe_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("`{}`: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ApiError {
    /// One invalid parameter.
    pub fn parameter(field: &str, message: impl Into<String>) -> Self {
        Self::InvalidParameter(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::InvalidParameter(_) => ("invalid-parameter", "Invalid parameter"),
            Self::InvalidBody(..) => ("invalid-body", "Invalid request body"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::Conflict(_) => ("conflict", "Conflict"),
            Self::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            Self::PreconditionRequired(_) => ("precondition-required", "Precondition required"),
            Self::Unavailable(_) => ("service-unavailable", "Service unavailable"),
            Self::RequestTimeout(_) => ("request-timeout", "Request timeout"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            Self::Internal(_) => ("internal-error", "Internal server error"),
        }
    }

    /// The problem body for this error.
    pub fn problem(&self) -> ProblemDetails {
        let (slug, title) = self.slug_and_title();
        let errors = match self {
            Self::InvalidParameter(errors) | Self::InvalidBody(_, errors) => errors.clone(),
            _ => Vec::new(),
        };
        let detail = match self {
            Self::Internal(_) => {
                "The server could not complete the request. Quote the request id when reporting it."
                    .to_owned()
            }
            other => other.to_string(),
        };
        ProblemDetails {
            problem_type: problem_type(slug),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors,
            request_id: None,
        }
    }
}

/// A problem body for a status produced outside our handlers (actix's own 404s,
/// anything that failed with 5xx): it says only what the status says, plus the request
/// id, so nothing internal can leak.
pub fn generic_problem(status: StatusCode, request_id: &str) -> ProblemDetails {
    let (slug, title, detail) = match status {
        StatusCode::SERVICE_UNAVAILABLE => (
            "service-unavailable".to_owned(),
            "Service unavailable",
            "The registry cannot serve this request right now; try again shortly.",
        ),
        s if s.is_server_error() => (
            "internal-error".to_owned(),
            "Internal server error",
            "The server could not complete the request. Quote the request id when reporting it.",
        ),
        s => {
            let reason = s.canonical_reason().unwrap_or("Client error");
            (
                reason.to_ascii_lowercase().replace(' ', "-"),
                reason,
                reason,
            )
        }
    };
    ProblemDetails {
        problem_type: problem_type(&slug),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: detail.to_owned(),
        errors: Vec::new(),
        request_id: Some(request_id.to_owned()),
    }
}

/// The `type` URI of a problem slug.
pub fn problem_type(slug: &str) -> String {
    format!("urn:jjj-registry:problem:{slug}")
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidParameter(_) | Self::InvalidBody(..) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Internal(cause) => {
                tracing::error!(error = %error_chain(cause.as_ref()), "request failed")
            }
            Self::Unavailable(detail) => tracing::warn!(detail, "database unavailable"),
            _ => {}
        }
        let mut response = problem_response(&self.problem());
        if let Self::TooManyRequests { retry_after, .. } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        if let Self::Unauthorized(detail) = self {
            // RFC 6750 §3: the challenge names the problem; quotes in the description
            // would end the quoted string, so they are dropped.
            // Only printable ASCII is safe in a header: anything else becomes `?`.
            let description: String = detail
                .chars()
                .filter(|c| *c != '"' && *c != '\\')
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            let challenge = format!(
                "Bearer realm=\"jjj-registry\", error=\"invalid_token\", error_description=\"{description}\""
            );
            let value = HeaderValue::from_str(&challenge).unwrap_or_else(|_| {
                HeaderValue::from_static("Bearer realm=\"jjj-registry\", error=\"invalid_token\"")
            });
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Renders a problem body with its status and media type.
pub fn problem_response(problem: &ProblemDetails) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    response.json(problem)
}

/// The error and its sources on one line, for logs.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<StorageError> for ApiError {
    fn from(error: StorageError) -> Self {
        if error.is_unavailable() {
            Self::Unavailable("The database is not reachable right now; try again shortly.".into())
        } else {
            Self::Internal(Box::new(error))
        }
    }
}

/// Maps actix's JSON body errors (bad syntax, wrong type, unknown field, too large,
/// wrong content type) to problems.
/// The answer to a body that did not arrive in time.
pub fn late_body() -> ApiError {
    ApiError::RequestTimeout(
        "The request body did not arrive within the time allowed (REGISTRY_BODY_TIMEOUT_MS)."
            .into(),
    )
}

pub fn json_error(err: error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use error::JsonPayloadError as E;
    let api_error = match &err {
        E::OverflowKnownLength { length, limit } => ApiError::PayloadTooLarge(format!(
            "The body is {length} bytes; the limit is {limit} bytes."
        )),
        E::Overflow { limit } => ApiError::PayloadTooLarge(format!(
            "The body is larger than the limit of {limit} bytes."
        )),
        E::ContentType => ApiError::UnsupportedMediaType(
            "The body must be sent as `Content-Type: application/json`.".into(),
        ),
        E::Deserialize(inner) => {
            let field = serde_field_hint(&inner.to_string());
            let message = format!("The JSON body is invalid: {inner}");
            ApiError::InvalidBody(
                message.clone(),
                field
                    .map(|field| FieldError {
                        field,
                        message: inner.to_string(),
                    })
                    .into_iter()
                    .collect(),
            )
        }
        E::Payload(late) if super::body_deadline::is_late(late) => late_body(),
        E::Payload(error::PayloadError::Overflow) => {
            ApiError::PayloadTooLarge("The body is larger than the limit.".into())
        }
        other => ApiError::InvalidBody(format!("The body could not be read: {other}"), Vec::new()),
    };
    api_error.into()
}

/// Maps query-string errors (unknown parameter, wrong type) to 400 problems.
pub fn query_error(err: error::QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    match err {
        error::QueryPayloadError::Deserialize(inner) => query_error_detail(inner).into(),
        other => ApiError::parameter("query", other.to_string()).into(),
    }
}

/// A query string that does not deserialise, as a 400 naming the parameter.
pub fn query_error_detail(err: serde::de::value::Error) -> ApiError {
    let message = err.to_string();
    let field = serde_field_hint(&message).unwrap_or_else(|| "query".to_owned());
    ApiError::parameter(&field, message)
}

/// Maps path-segment errors to 400 problems.
pub fn path_error(err: error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::parameter("path", err.to_string()).into()
}

/// serde names the offending field in back-quotes ("unknown field `x`", "missing field
/// `y`"); that is the best field name available from its messages.
fn serde_field_hint(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}

/// Extractor configuration that routes every extractor error through [`ApiError`].
pub fn extractor_config(
    max_body_bytes: usize,
) -> (
    web::JsonConfig,
    web::QueryConfig,
    web::PathConfig,
    web::PayloadConfig,
) {
    (
        web::JsonConfig::default()
            .limit(max_body_bytes)
            .error_handler(json_error),
        web::QueryConfig::default().error_handler(query_error),
        web::PathConfig::default().error_handler(path_error),
        web::PayloadConfig::default().limit(max_body_bytes),
    )
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;

    use super::*;

    async fn body_of(error: ApiError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = error.error_response();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (
            status,
            content_type,
            serde_json::from_slice(&bytes).unwrap(),
        )
    }

    #[actix_web::test]
    async fn invalid_parameters_are_400_problems_naming_the_field() {
        let (status, content_type, body) = body_of(ApiError::parameter(
            "on",
            "expected a date such as 2025-01-31",
        ))
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(content_type.as_deref(), Some(PROBLEM_JSON));
        assert_eq!(body["type"], "urn:jjj-registry:problem:invalid-parameter");
        assert_eq!(body["status"], 400);
        assert_eq!(body["errors"][0]["field"], "on");
        assert!(body["detail"].as_str().unwrap().contains("`on`"));
    }

    #[actix_web::test]
    async fn internal_errors_never_reveal_their_cause() {
        let cause = std::io::Error::other("connection to 10.0.0.5 refused; password=hunter2");
        let (status, _, body) = body_of(ApiError::Internal(Box::new(cause))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = body.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains("10.0.0.5"),
            "{text}"
        );
    }

    #[actix_web::test]
    async fn unavailable_storage_maps_to_503_and_bugs_to_500() {
        let unavailable = StorageError::Connect {
            url: "postgres://x".into(),
            source: diesel::ConnectionError::BadConnection("refused".into()),
        };
        assert_eq!(
            ApiError::from(unavailable).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let bug = StorageError::Query(diesel::result::Error::NotFound);
        assert_eq!(
            ApiError::from(bug).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn generic_problems_say_only_what_the_status_says() {
        let problem = generic_problem(StatusCode::INTERNAL_SERVER_ERROR, "req-1");
        assert_eq!(
            problem.problem_type,
            "urn:jjj-registry:problem:internal-error"
        );
        assert_eq!(problem.request_id.as_deref(), Some("req-1"));
        let problem = generic_problem(StatusCode::NOT_FOUND, "req-2");
        assert_eq!(
            (problem.problem_type.as_str(), problem.title.as_str()),
            ("urn:jjj-registry:problem:not-found", "Not Found")
        );
        let problem = generic_problem(StatusCode::SERVICE_UNAVAILABLE, "req-3");
        assert_eq!(problem.status, 503);
        assert_eq!(
            problem.problem_type,
            "urn:jjj-registry:problem:service-unavailable"
        );
    }

    #[test]
    fn serde_messages_yield_the_field_name() {
        assert_eq!(
            serde_field_hint("unknown field `isued_in`, expected one of `item`").as_deref(),
            Some("isued_in")
        );
        assert_eq!(serde_field_hint("expected value at line 1 column 2"), None);
    }
}
