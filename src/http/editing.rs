//! Region-scoped editing: a region reads and changes its own side (local part, 本地部分)
//! of a recognition item or a service item, with a bearer token and `If-Match`; and the
//! audit log of every write attempt. The rules and the audit live in
//! [`crate::application`]; these handlers translate HTTP to use-case requests and back.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, patch, put, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::catalog::NoParams;
use super::middleware::RequestId;
use super::problem::{ApiError, FieldError};
use crate::application::{
    AuditVerification, BodyProblem, LocalPartEdit, UseCaseError, UseCases, VersionedLocalPart,
    WriteRequest,
};
use crate::domain::audit::AuditRecord;
use crate::domain::catalog::{EntryKind, RecognitionLocalPart, StandardLocalPart};
use crate::domain::governance::EditMethod;

/// The largest request body a write accepts (the `REGISTRY_MAX_BODY_BYTES` setting).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The largest file an import accepts (the `REGISTRY_MAX_IMPORT_BYTES` setting).
#[derive(Debug, Clone, Copy)]
pub struct ImportLimit(pub usize);

/// Media type of a JSON merge patch (RFC 7396).
pub const MERGE_PATCH_JSON: &str = "application/merge-patch+json";

/// One region's side of a recognition item, with its version.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecognitionLocalPartResource {
    /// The recognition item's code.
    #[schema(example = "RI-CON-002")]
    pub item_code: String,
    /// Version of this local part; every accepted change adds one. The `ETag` names it.
    #[schema(example = 3)]
    pub version: i64,
    /// The local part.
    #[serde(flatten)]
    pub part: RecognitionLocalPart,
}

/// One region's side of a service item, with its version.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandardLocalPartResource {
    /// The service item's code.
    #[schema(example = "SS-HR-002")]
    pub item_code: String,
    /// Version of this local part; every accepted change adds one. The `ETag` names it.
    #[schema(example = 3)]
    pub version: i64,
    /// The local part.
    #[serde(flatten)]
    pub part: StandardLocalPart,
}

/// The path of a recognition item's local part.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RecognitionLocalPartPath {
    /// Recognition item code.
    #[param(
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,64}$",
        example = "RI-CON-002"
    )]
    pub code: String,
    /// Region code; to change the local part, the token's own region.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "TJ")]
    pub region: String,
}

/// The path of a service item's local part.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StandardLocalPartPath {
    /// Service item code.
    #[param(
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,64}$",
        example = "SS-HR-002"
    )]
    pub code: String,
    /// Region code; to change the local part, the token's own region.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "HE")]
    pub region: String,
}

pub(super) fn request_id(req: &HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default()
}

pub(super) fn authorization(req: &HttpRequest) -> Vec<Vec<u8>> {
    req.headers()
        .get_all(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec())
        .collect()
}

/// Maps a use-case refusal to its problem answer.
impl From<UseCaseError> for ApiError {
    fn from(error: UseCaseError) -> Self {
        match error {
            UseCaseError::Unauthenticated(e) => Self::Unauthorized(e.to_string()),
            UseCaseError::Forbidden(e) => Self::Forbidden(e.to_string()),
            UseCaseError::NotAllowed(message) => Self::Forbidden(message),
            UseCaseError::InvalidParameter(field, message) => Self::parameter(field, message),
            UseCaseError::NotFound(message) => Self::NotFound(message),
            UseCaseError::PreconditionRequired(message) => Self::PreconditionRequired(message),
            UseCaseError::PreconditionFailed { message, .. } => Self::PreconditionFailed(message),
            UseCaseError::Body(BodyProblem::TooLarge, message) => Self::PayloadTooLarge(message),
            UseCaseError::Body(BodyProblem::UnsupportedMediaType, message) => {
                Self::UnsupportedMediaType(message)
            }
            UseCaseError::Body(BodyProblem::Malformed, message) => {
                Self::InvalidBody(message, Vec::new())
            }
            UseCaseError::Body(BodyProblem::TimedOut, message) => Self::RequestTimeout(message),
            UseCaseError::InvalidChange(invalid) => {
                let errors: Vec<FieldError> = invalid
                    .problems
                    .into_iter()
                    .map(|(field, message)| FieldError { field, message })
                    .collect();
                let detail = errors
                    .iter()
                    .map(|e| format!("`{}`: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                Self::InvalidBody(format!("The change is invalid: {detail}"), errors)
            }
            UseCaseError::Conflict(message) => Self::Conflict(message),
            UseCaseError::Storage(e) => e.into(),
        }
    }
}

/// Reads a JSON body of one of the `accepted` media types, at most `limit` bytes.
async fn read_json_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    accepted: &[&str],
) -> Result<Value, (BodyProblem, String)> {
    let (_, body) = read_body(req, payload, limit, accepted).await?;
    serde_json::from_slice(&body).map_err(|e| {
        (
            BodyProblem::Malformed,
            format!("The JSON body is invalid: {e}"),
        )
    })
}

/// A body of one of the `accepted` media types, at most `limit` bytes, with its media
/// type; or why it cannot be read (415, 413, or 400 when the connection breaks).
pub(super) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    accepted: &[&str],
) -> Result<(String, web::Bytes), (BodyProblem, String)> {
    let media_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let Some(media_type) = media_type.filter(|m| accepted.contains(&m.as_str())) else {
        return Err((
            BodyProblem::UnsupportedMediaType,
            format!(
                "The body must be sent as `Content-Type: {}`.",
                accepted.join("` or `")
            ),
        ));
    };
    let too_large = || {
        (
            BodyProblem::TooLarge,
            format!("The body is larger than the limit of {limit} bytes."),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    match payload.to_bytes_limited(limit).await {
        Err(_) => Err(too_large()),
        Ok(Err(late))
            if late
                .as_error::<actix_web::error::PayloadError>()
                .is_some_and(super::body_deadline::is_late) =>
        {
            Err((
                BodyProblem::TimedOut,
                super::problem::late_body().to_string(),
            ))
        }
        Ok(Err(e)) => Err((
            BodyProblem::Malformed,
            format!("The body could not be read: {e}"),
        )),
        Ok(Ok(body)) => Ok((media_type, body)),
    }
}

/// A write request as the use cases take it: token, `If-Match` (several lines form one
/// list, RFC 9110 §5.3), query string and a JSON body of one of the `accepted` media
/// types, at most `limit` bytes (left out, where `empty_allowed`, it reads as `{}`).
pub(super) async fn write_request(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    accepted: &[&str],
    empty_allowed: bool,
) -> WriteRequest {
    // Left out: no media type and no bytes (`Content-Length: 0`, or neither a length nor
    // a chunked body, as `curl -X POST` sends it).
    let headers = req.headers();
    let empty = headers.get(header::CONTENT_TYPE).is_none()
        && headers.get(header::TRANSFER_ENCODING).is_none()
        && headers
            .get(header::CONTENT_LENGTH)
            .is_none_or(|v| v.to_str().is_ok_and(|v| v.trim() == "0"));
    // A body that may be left out reads as an empty object; JSON `null` is a body, and
    // refused as one.
    let body = if empty_allowed && empty {
        Ok(serde_json::Value::Object(serde_json::Map::new()))
    } else {
        read_json_body(req, payload, limit, accepted).await
    };
    WriteRequest {
        request_id: request_id(req),
        authorization: authorization(req),
        if_match: {
            let lines: Vec<String> = req
                .headers()
                .get_all(header::IF_MATCH)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (!lines.is_empty()).then(|| lines.join(", "))
        },
        query: req.query_string().to_owned(),
        body,
    }
}

fn versioned_response<P: Serialize>(
    value: &VersionedLocalPart<P>,
    etag: &str,
) -> Result<HttpResponse, ApiError> {
    written_response(
        serde_json::to_vec(value).map_err(|e| ApiError::Internal(Box::new(e)))?,
        etag,
    )
}

fn written_response(body: Vec<u8>, etag: &str) -> Result<HttpResponse, ApiError> {
    let etag = HeaderValue::from_str(etag).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag))
        // An editor must always see the current version: a cached copy would only
        // lead to a refused write.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("application/json")
        .body(body))
}

#[allow(clippy::too_many_arguments)]
async fn edit(
    req: HttpRequest,
    (code, region): (String, String),
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
    kind: EntryKind,
    method: EditMethod,
) -> Result<HttpResponse, ApiError> {
    let accepted: &[&str] = match method {
        EditMethod::Replace => &["application/json"],
        EditMethod::MergePatch => &[MERGE_PATCH_JSON, "application/json"],
    };
    let edit = LocalPartEdit {
        request: write_request(&req, payload, limit.0, accepted, false).await,
        kind,
        code,
        region,
        method,
    };
    let (body, etag) = use_cases.edit_local_part(edit).await?;
    written_response(
        serde_json::to_vec(&body).map_err(|e| ApiError::Internal(Box::new(e)))?,
        &etag,
    )
}

/// Reads one region's side of a recognition item.
///
/// The local part with its version; the `ETag` is what `If-Match` must name to change
/// it. Public, like every read.
#[utoipa::path(
    tag = "editing",
    operation_id = "get_recognition_local_part",
    params(
        RecognitionLocalPartPath,
    ),
    responses(
        (status = 200, description = "The local part and its version.", body = RecognitionLocalPartResource),
    )
)]
#[get("/recognition-items/{code}/local-parts/{region}")]
pub async fn get_recognition_local_part(
    path: web::Path<RecognitionLocalPartPath>,
    _query: web::Query<NoParams>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let (code, region) = (path.code, path.region);
    let part = use_cases.recognition_local_part(code, region).await?;
    versioned_response(&part, &part.etag(&part.part.region))
}

/// Replaces one region's side of a recognition item.
///
/// Only an `editor` of that region, with `If-Match` naming the version read. The body
/// is the whole new local part (fields left out become empty); the region comes from
/// the path and cannot be set. The change is audited and visible to every read when the
/// answer arrives.
#[utoipa::path(
    tag = "editing",
    operation_id = "put_recognition_local_part",
    params(
        RecognitionLocalPartPath,
        ("If-Match" = String, Header, description = "The `ETag` of the local part as read", example = "\"RI-CON-002.TJ.1\""),
    ),
    responses(
        (status = 200, description = "Changed; the new local part and version.", body = RecognitionLocalPartResource),
    ),
    security(("bearer" = []))
)]
#[put("/recognition-items/{code}/local-parts/{region}")]
pub async fn put_recognition_local_part(
    req: HttpRequest,
    path: web::Path<RecognitionLocalPartPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    edit(
        req,
        (path.code.clone(), path.region.clone()),
        payload,
        use_cases,
        limit,
        EntryKind::RecognitionItem,
        EditMethod::Replace,
    )
    .await
}

/// Changes some fields of one region's side of a recognition item.
///
/// A JSON merge patch (RFC 7396): fields named change, `null` empties a field, others
/// stay. Same rules as the replacement: the region's own `editor`, `If-Match`, audited.
#[utoipa::path(
    tag = "editing",
    operation_id = "patch_recognition_local_part",
    params(
        RecognitionLocalPartPath,
        ("If-Match" = String, Header, description = "The `ETag` of the local part as read", example = "\"RI-CON-002.TJ.1\""),
    ),
    responses(
        (status = 200, description = "Changed; the new local part and version.", body = RecognitionLocalPartResource),
    ),
    security(("bearer" = []))
)]
#[patch("/recognition-items/{code}/local-parts/{region}")]
pub async fn patch_recognition_local_part(
    req: HttpRequest,
    path: web::Path<RecognitionLocalPartPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    edit(
        req,
        (path.code.clone(), path.region.clone()),
        payload,
        use_cases,
        limit,
        EntryKind::RecognitionItem,
        EditMethod::MergePatch,
    )
    .await
}

/// Reads one region's side of a service item.
///
/// The local part with its version; the `ETag` is what `If-Match` must name to change
/// it.
#[utoipa::path(
    tag = "editing",
    operation_id = "get_standard_local_part",
    params(
        StandardLocalPartPath,
    ),
    responses(
        (status = 200, description = "The local part and its version.", body = StandardLocalPartResource),
    )
)]
#[get("/standard-items/{code}/local-parts/{region}")]
pub async fn get_standard_local_part(
    path: web::Path<StandardLocalPartPath>,
    _query: web::Query<NoParams>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let (code, region) = (path.code, path.region);
    let part = use_cases.standard_local_part(code, region).await?;
    versioned_response(&part, &part.etag(&part.part.region))
}

/// Replaces one region's side of a service item.
///
/// Only an `editor` of that region, with `If-Match`; the whole new local part, audited.
#[utoipa::path(
    tag = "editing",
    operation_id = "put_standard_local_part",
    params(
        StandardLocalPartPath,
        ("If-Match" = String, Header, description = "The `ETag` of the local part as read", example = "\"SS-HR-002.HE.1\""),
    ),
    responses(
        (status = 200, description = "Changed; the new local part and version.", body = StandardLocalPartResource),
    ),
    security(("bearer" = []))
)]
#[put("/standard-items/{code}/local-parts/{region}")]
pub async fn put_standard_local_part(
    req: HttpRequest,
    path: web::Path<StandardLocalPartPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    edit(
        req,
        (path.code.clone(), path.region.clone()),
        payload,
        use_cases,
        limit,
        EntryKind::StandardItem,
        EditMethod::Replace,
    )
    .await
}

/// Changes some fields of one region's side of a service item.
///
/// A JSON merge patch (RFC 7396) by the region's own `editor`, with `If-Match`, audited.
#[utoipa::path(
    tag = "editing",
    operation_id = "patch_standard_local_part",
    params(
        StandardLocalPartPath,
        ("If-Match" = String, Header, description = "The `ETag` of the local part as read", example = "\"SS-HR-002.HE.1\""),
    ),
    responses(
        (status = 200, description = "Changed; the new local part and version.", body = StandardLocalPartResource),
    ),
    security(("bearer" = []))
)]
#[patch("/standard-items/{code}/local-parts/{region}")]
pub async fn patch_standard_local_part(
    req: HttpRequest,
    path: web::Path<StandardLocalPartPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    edit(
        req,
        (path.code.clone(), path.region.clone()),
        payload,
        use_cases,
        limit,
        EntryKind::StandardItem,
        EditMethod::MergePatch,
    )
    .await
}

/// Which audit records to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Records after this sequence number (default 0: from the first).
    #[param(minimum = 0, example = 0)]
    pub after: Option<i64>,
    /// How many records at most, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500, example = 100)]
    pub limit: Option<i64>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Records in order of their sequence number.
    pub items: Vec<AuditRecord>,
    /// Pass as `after` for the next page; `null` when this page is the last so far.
    pub next_after: Option<i64>,
}

/// Reads the audit log.
///
/// Every write attempt, accepted or refused, in order. A token of a region sees its own
/// region's actions, the attempts on its region's data, and the shared actions
/// (proposals, votes, applied proposals); an `admin` sees everything.
#[utoipa::path(
    tag = "audit",
    operation_id = "list_audit_records",
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit records.", body = AuditPage),
    ),
    security(("bearer" = []))
)]
#[get("/audit")]
pub async fn list_audit_records(
    req: HttpRequest,
    query: web::Query<AuditQuery>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::parameter(
            "after",
            "expected a sequence number of 0 or more",
        ));
    }
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::parameter(
            "limit",
            format!("expected a whole number from 1 to 500, got `{limit}`"),
        ));
    }
    let items = use_cases
        .audit_records(&authorization(&req), after, limit)
        .await?;
    let next_after = (items.len() as i64 == limit)
        .then(|| items.last().map(|r| r.seq))
        .flatten();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(AuditPage { items, next_after }))
}

/// Verifies the audit chain.
///
/// Recomputes every record's hash and link against the stored head and names the first
/// broken link. `admin` only.
#[utoipa::path(
    tag = "audit",
    operation_id = "verify_audit_log",
    responses(
        (status = 200, description = "The verdict on the whole chain.", body = AuditVerification),
    ),
    security(("bearer" = []))
)]
#[get("/audit/verify")]
pub async fn verify_audit_log(
    req: HttpRequest,
    _query: web::Query<NoParams>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let verdict = use_cases.verify_audit(&authorization(&req)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(verdict))
}
