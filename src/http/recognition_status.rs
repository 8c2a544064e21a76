//! The recognition-status query, singly and in batches: "is a credential of item X
//! issued in region A recognised in region B on day D?"

use std::borrow::Cow;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, get, post, web};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::parse_region;
use super::conditional::respond;
use super::history::CatalogView;
use super::problem::{ApiError, FieldError, ProblemDetails, query_error_detail};
use crate::domain::catalog::{
    AcceptanceSuspension, ArrangementStatus, RecognitionItem, RecognitionMode, Verification,
};
use crate::domain::read_model::Catalog;
use crate::domain::recognition::{Decision, QuestionError, decide};
use crate::domain::region::RegionCode;
use crate::registry::Registry;

/// Most questions accepted in one batch request.
pub const MAX_BATCH_QUESTIONS: usize = 500;

/// One question. Name the item by `item` (registry code) or by `local_code` (the
/// issuing region's own code for the credential type): exactly one of the two.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[schema(example = json!({"item": "RI-CON-001", "issued_in": "HE", "used_in": "TJ", "on": "2025-06-01"}))]
pub struct StatusQuestion<'a> {
    /// Registry code of the recognition item. Give `item` or `local_code`, not both.
    #[serde(borrow)]
    #[param(value_type = Option<String>, min_length = 1, example = "RI-CON-001")]
    #[schema(value_type = Option<String>, min_length = 1)]
    pub item: Option<Cow<'a, str>>,
    /// The issuing region's own code for the credential type, e.g. `冀建-RY-056` for
    /// Hebei; matched ignoring case and full/half width. Give `item` or `local_code`,
    /// not both.
    #[serde(borrow)]
    #[param(value_type = Option<String>, min_length = 1)]
    #[schema(value_type = Option<String>, min_length = 1)]
    pub local_code: Option<Cow<'a, str>>,
    /// Region that issued the credential: a member region code (`GET /api/v1/regions`),
    /// any letter case.
    #[serde(borrow)]
    #[param(value_type = String, required = true, pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "HE")]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$")]
    pub issued_in: Option<Cow<'a, str>>,
    /// Region where the credential is to be used: a member region code other than
    /// `issued_in`, any letter case.
    #[serde(borrow)]
    #[param(value_type = String, required = true, pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "TJ")]
    #[schema(value_type = String, required = true, pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$")]
    pub used_in: Option<Cow<'a, str>>,
    /// Day to decide for, `YYYY-MM-DD`; default: today in China Standard Time.
    #[serde(borrow)]
    #[param(value_type = Option<String>, format = Date, example = "2025-06-01")]
    #[schema(value_type = Option<String>, format = Date)]
    pub on: Option<Cow<'a, str>>,
    /// Answer as the registry would have at this moment (RFC 3339 with an offset,
    /// e.g. `2026-03-01T10:00:00+08:00`): from what it had recorded by then. `on`
    /// then defaults to that moment's day in China Standard Time. A moment still to
    /// come reads what is recorded now. In a batch, give it once beside `questions`.
    #[serde(borrow)]
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub as_known_at: Option<Cow<'a, str>>,
}

/// The answer to one question.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "decision": "recognised", "recognised": true,
    "item": "RI-CON-001", "item_version": 1, "item_name_zh": "二级建造师注册证书", "item_name_en": "Grade II Registered Constructor Certificate",
    "issued_in": "HE", "used_in": "TJ", "on": "2025-06-01", "local_code": "冀建-RY-056",
    "mode": "direct", "conditions_zh": null, "conditions_en": null,
    "effective_from": "2024-03-01", "effective_to": null, "arrangement_status": "active",
    "legal_basis": "《注册建造师管理规定》（建设部令第153号）；《注册建造师执业管理办法（试行）》（建市〔2008〕48号）",
    "accepting_department": "天津市住房和城乡建设委员会",
    "verification": {"method": "e_licence_sharing", "lookup_url": null, "platforms": []},
    "explanation": "An arrangement is in force on this date.",
    "suspension": null
}))]
pub struct RecognitionStatus<'a> {
    /// The decision.
    pub decision: Decision,
    /// Shorthand: `decision == "recognised"`.
    pub recognised: bool,
    /// Registry code of the item decided on.
    pub item: &'a str,
    /// Version of the item entry the decision was taken from.
    pub item_version: i64,
    /// Item name, Chinese.
    pub item_name_zh: &'a str,
    /// Item name, English.
    pub item_name_en: &'a str,
    /// Issuing region.
    pub issued_in: &'a RegionCode,
    /// Accepting region.
    pub used_in: &'a RegionCode,
    /// The day decided for.
    pub on: NaiveDate,
    /// The issuing region's own code for the credential type.
    pub local_code: Option<&'a str>,
    /// Recognition mode of the deciding arrangement.
    pub mode: Option<RecognitionMode>,
    /// Conditions, Chinese.
    pub conditions_zh: Option<&'a str>,
    /// Conditions, English.
    pub conditions_en: Option<&'a str>,
    /// First day of the deciding arrangement.
    pub effective_from: Option<NaiveDate>,
    /// Last day of the deciding arrangement (`null`: open-ended).
    pub effective_to: Option<NaiveDate>,
    /// Status of the deciding arrangement.
    pub arrangement_status: Option<ArrangementStatus>,
    /// Legal basis of the item.
    pub legal_basis: &'a str,
    /// Department in the accepting region that handles the credential.
    pub accepting_department: Option<&'a str>,
    /// How the accepting region checks the credential (`null` when it has not said).
    pub verification: Option<&'a Verification>,
    /// Why, in one English sentence.
    pub explanation: &'static str,
    /// The accepting region's own suspension that decided the answer (`suspended`);
    /// `null` otherwise.
    pub suspension: Option<&'a AcceptanceSuspension>,
}

/// Many questions at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchStatusRequest {
    /// Up to 500 questions; each is answered on its own.
    #[schema(value_type = Vec<BatchQuestion>, max_items = 500)]
    pub questions: Vec<Box<serde_json::value::RawValue>>,
    /// Answer every question as the registry would have at this moment (RFC 3339 with
    /// an offset); questions without `on` then ask about that moment's day in China
    /// Standard Time. Default: now. Given here once for the whole batch, not per
    /// question.
    #[schema(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

/// One batch question: normally a [`StatusQuestion`]. Questions are checked one at a
/// time, so any JSON value is accepted here; one that is not a valid question (not an
/// object, or a field missing, unknown or invalid) gets its own result with status 400
/// and a problem, and the other questions are still answered.
pub struct BatchQuestion;

impl utoipa::PartialSchema for BatchQuestion {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, SchemaType};
        AnyOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("StatusQuestion"))
            .item(
                ObjectBuilder::new().schema_type(SchemaType::AnyValue).description(Some(
                    "Any other value: answered in `results` with status 400 and a problem.",
                )),
            )
            .description(Some(
                "A recognition-status question. Questions are validated one by one: an invalid one is answered in-band with status 400.",
            ))
            .into()
    }
}

impl ToSchema for BatchQuestion {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            StatusQuestion::name().into_owned(),
            <StatusQuestion as utoipa::PartialSchema>::schema(),
        ));
    }
}

/// The result of one batch question: an answer (`status` 200) or a problem (`status`
/// 400 or 404); `status` tells which.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchStatusResult<'a> {
    /// The question was answered.
    Answered(AnsweredQuestion<'a>),
    /// The question could not be answered.
    Failed(FailedQuestion),
}

/// A batch question that was answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnsweredQuestion<'a> {
    /// Position of the question in the request, from 0.
    pub index: usize,
    /// Always 200.
    #[schema(schema_with = answered_status)]
    pub status: u16,
    /// The answer.
    pub answer: RecognitionStatus<'a>,
}

/// A batch question that could not be answered.
#[derive(Debug, Serialize, ToSchema)]
pub struct FailedQuestion {
    /// Position of the question in the request, from 0.
    pub index: usize,
    /// 400 for an invalid question, 404 when no item has the code or local code.
    #[schema(schema_with = failed_status)]
    pub status: u16,
    /// Why the question could not be answered.
    pub problem: ProblemDetails,
}

fn status_schema(values: &[u16], description: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

fn answered_status() -> utoipa::openapi::schema::Object {
    status_schema(&[200], "Always 200: the question was answered.")
}

fn failed_status() -> utoipa::openapi::schema::Object {
    status_schema(
        &[400, 404],
        "400: the question is invalid; 404: no item has this code or local code.",
    )
}

/// Results in the order of the questions.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchStatusResponse<'a> {
    /// One result per question.
    pub results: Vec<BatchStatusResult<'a>>,
}

/// Answers one question against the read model.
pub fn answer<'a>(
    catalog: &'a Catalog,
    question: &StatusQuestion<'_>,
    today: NaiveDate,
) -> Result<RecognitionStatus<'a>, ApiError> {
    let mut errors = Vec::new();
    let mut require_region = |field: &str, raw: Option<&str>| -> Option<&'a RegionCode> {
        let Some(raw) = raw else {
            errors.push(field_error(field, "is required"));
            return None;
        };
        if let Some(region) = catalog.region_by_code(raw) {
            return Some(&region.code);
        }
        match parse_region(field, Some(raw)) {
            Ok(_) => {
                let known: Vec<&str> = catalog.regions().iter().map(|r| r.code.as_str()).collect();
                errors.push(field_error(
                    field,
                    &format!("unknown region `{raw}` (known: {})", known.join(", ")),
                ));
                None
            }
            Err(ApiError::InvalidParameter(mut field_errors)) => {
                errors.append(&mut field_errors);
                None
            }
            Err(_) => None,
        }
    };
    let issued_in = require_region("issued_in", question.issued_in.as_deref());
    let used_in = require_region("used_in", question.used_in.as_deref());
    let on = match question.on.as_deref() {
        None => Some(today),
        Some(text) => match parse_day(text) {
            Some(day) => Some(day),
            None => {
                errors.push(field_error("on", &not_a_day(text)));
                None
            }
        },
    };
    let blank = |value: &Option<Cow<'_, str>>| value.as_deref().is_some_and(str::is_empty);
    if blank(&question.item) {
        errors.push(field_error("item", "must not be empty"));
    }
    if blank(&question.local_code) {
        errors.push(field_error("local_code", "must not be empty"));
    }
    let named = match (question.item.as_deref(), question.local_code.as_deref()) {
        (Some(code), None) => Some(ItemName::Code(code)),
        (None, Some(local_code)) => Some(ItemName::LocalCode(local_code)),
        (Some(_), Some(_)) => {
            errors.push(field_error(
                "local_code",
                "give either `item` or `local_code`, not both",
            ));
            None
        }
        (None, None) => {
            errors.push(field_error("item", "is required (or give `local_code`)"));
            None
        }
    };
    let (Some(issued_in), Some(used_in), Some(on), Some(named), true) =
        (issued_in, used_in, on, named, errors.is_empty())
    else {
        return Err(ApiError::InvalidParameter(errors));
    };

    let item = find_item(catalog, named, issued_in)?;
    let outcome = decide(item, issued_in, used_in, on).map_err(|QuestionError::SameRegion| {
        ApiError::parameter("used_in", "must differ from `issued_in`")
    })?;
    let local_part = |region: &RegionCode| item.local_parts.iter().find(|p| &p.region == region);
    let arrangement = outcome.arrangement;
    Ok(RecognitionStatus {
        decision: outcome.decision,
        recognised: outcome.decision == Decision::Recognised,
        item: &item.code,
        item_version: item.version,
        item_name_zh: &item.name_zh,
        item_name_en: &item.name_en,
        local_code: local_part(issued_in).and_then(|p| p.local_code.as_deref()),
        accepting_department: local_part(used_in).and_then(|p| p.accepting_department.as_deref()),
        verification: local_part(used_in).and_then(|p| p.verification.as_ref()),
        issued_in,
        used_in,
        on,
        mode: arrangement.map(|a| a.mode),
        conditions_zh: arrangement.and_then(|a| a.conditions_zh.as_deref()),
        conditions_en: arrangement.and_then(|a| a.conditions_en.as_deref()),
        effective_from: arrangement.map(|a| a.effective_from),
        effective_to: arrangement.and_then(|a| a.effective_to),
        arrangement_status: arrangement.map(|a| a.status),
        legal_basis: &item.legal_basis,
        explanation: outcome.explanation,
        suspension: outcome.suspension,
    })
}

/// How a question names the item: by registry code or by the issuing region's code.
#[derive(Clone, Copy)]
enum ItemName<'q> {
    Code(&'q str),
    LocalCode(&'q str),
}

fn find_item<'a>(
    catalog: &'a Catalog,
    named: ItemName<'_>,
    issued_in: &RegionCode,
) -> Result<&'a RecognitionItem, ApiError> {
    match named {
        ItemName::Code(code) => catalog.recognition_item(code).ok_or_else(|| {
            ApiError::NotFound(format!("No recognition item has the code `{code}`."))
        }),
        ItemName::LocalCode(local_code) => catalog
            .recognition_item_by_local_code(issued_in, local_code)
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "No recognition item has the local code `{local_code}` in {issued_in}."
                ))
            }),
    }
}

fn field_error(field: &str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// The message for a `YYYY-MM-DD` parameter that is not one.
pub fn not_a_day(text: &str) -> String {
    format!("`{text}` is not a date of the form YYYY-MM-DD")
}

/// Strict `YYYY-MM-DD` (parsed by hand: chrono's format-driven parser costs more than
/// the rest of a status lookup).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        bytes[range].iter().try_fold(0u32, |n, &b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

/// Is a credential from one region recognised in another on a given day?
///
/// Give the item by registry code (`item`) or by the issuing region's own code
/// (`local_code`) — exactly one of the two — the issuing and accepting regions, and
/// optionally the day (default: today, China Standard Time). The answer names the
/// decision (`recognised`, `not_recognised`, `not_yet_in_force`, `expired`,
/// `suspended`, `no_arrangement`), the mode, conditions, legal basis, effective dates,
/// the accepting department and the entry version it was decided from. Effective dates
/// are inclusive.
#[utoipa::path(
    tag = "recognition",
    operation_id = "get_recognition_status",
    params(StatusQuestion),
    responses(
        (status = 200, description = "The decision.", body = RecognitionStatus, headers(("ETag" = String, description = "Entity tag of this answer"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
        (status = 404, description = "No item has this code or local code.", body = ProblemDetails, content_type = "application/problem+json",
            example = json!({"type": "urn:jjj-registry:problem:not-found", "title": "Not found", "status": 404, "detail": "No recognition item has the code `RI-XXX-999`."})),
    )
)]
#[get("/recognition-status")]
pub async fn get_recognition_status(
    req: HttpRequest,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    // Parsed here rather than by `web::Query` so that plain values borrow from the
    // request instead of being copied: this is the hottest path of the API.
    let question: StatusQuestion<'_> =
        serde_urlencoded::from_str(req.query_string()).map_err(query_error_detail)?;
    let (catalog, today) = CatalogView::and_day(&registry, question.as_known_at.as_deref()).await?;
    let status = answer(&catalog, &question, today)?;
    // The answer is a function of the catalog content and the resolved question, all
    // ASCII: the tag is those values themselves, which is exact and costs no hashing on
    // the hottest path.
    let etag = format!(
        "\"{}.{}.{}.{}.{:04}{:02}{:02}\"",
        catalog.digest(),
        status.item,
        status.issued_in,
        status.used_in,
        status.on.year(),
        status.on.month(),
        status.on.day()
    );
    respond(&req, &etag, || {
        let mut body = Vec::with_capacity(1024);
        serde_json::to_writer(&mut body, &status).map_err(|e| ApiError::Internal(Box::new(e)))?;
        Ok(body)
    })
}

/// Answers up to 500 recognition-status questions in one request.
///
/// Each question is answered on its own: a question with a missing, unknown or invalid
/// field gets its own result with status 400, an unknown item one with status 404, each
/// with a problem, and the other questions are still answered. Tell the two kinds of
/// result apart by `status`. The request itself fails (400) only when the body is not
/// JSON, has fields other than `questions`, or holds more than 500 questions.
#[utoipa::path(
    tag = "recognition",
    operation_id = "post_recognition_status_batch",
    request_body(content = BatchStatusRequest, example = json!({"questions": [
        {"item": "RI-CON-002", "issued_in": "HE", "used_in": "TJ"},
        {"local_code": "冀建-RY-056", "issued_in": "HE", "used_in": "BJ", "on": "2025-06-01"},
        {"item": "RI-XXX-999", "issued_in": "HE", "used_in": "TJ"}
    ]})),
    responses((status = 200, description = "One result per question, in order.", body = BatchStatusResponse))
)]
#[post("/recognition-status/batch")]
pub async fn post_recognition_status_batch(
    _query: web::Query<super::catalog::NoParams>,
    body: web::Json<BatchStatusRequest>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let BatchStatusRequest {
        questions,
        as_known_at,
    } = body.into_inner();
    if questions.len() > MAX_BATCH_QUESTIONS {
        return Err(ApiError::InvalidBody(
            format!(
                "The batch has {} questions; at most {MAX_BATCH_QUESTIONS} are accepted per request.",
                questions.len()
            ),
            vec![field_error(
                "questions",
                &format!("at most {MAX_BATCH_QUESTIONS} items"),
            )],
        ));
    }
    let (catalog, today) = CatalogView::and_day(&registry, as_known_at.as_deref()).await?;
    let results = questions
        .iter()
        .enumerate()
        .map(|(index, raw)| {
            // Each question is read from its own JSON text, so that a field named twice
            // is refused (a parsed map would keep the last) and strings are borrowed.
            let outcome = serde_json::from_str::<StatusQuestion>(raw.get())
                .map_err(|e| {
                    ApiError::InvalidBody(format!("question {index} is malformed: {e}"), Vec::new())
                })
                .and_then(|question| {
                    if question.as_known_at.is_some() {
                        return Err(ApiError::parameter(
                            "as_known_at",
                            "give `as_known_at` once for the whole batch, beside `questions`",
                        ));
                    }
                    answer(&catalog, &question, today)
                });
            match outcome {
                Ok(answer) => BatchStatusResult::Answered(AnsweredQuestion {
                    index,
                    status: 200,
                    answer,
                }),
                Err(error) => BatchStatusResult::Failed(FailedQuestion {
                    index,
                    status: error.status_code().as_u16(),
                    problem: error.problem(),
                }),
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(BatchStatusResponse { results }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_must_be_strict_iso_dates() {
        assert_eq!(
            parse_day("2025-02-28"),
            NaiveDate::from_ymd_opt(2025, 2, 28)
        );
        for bad in [
            "2025-2-28",
            "2025-02-29",
            "20250228",
            "2025/02/28",
            "2025-02/28",
            "2025/02-28",
            " 2025-02-28",
            "2025-02-28 ",
            "tomorrow",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }
}
