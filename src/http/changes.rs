//! The change feed (变更流) over HTTP: `GET /api/v1/changes?after=&limit=&minimal=`.
//! Public, like every catalog read; pages are cacheable, full ones for good.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::conditional::{not_modified, to_json};
use super::problem::ApiError;
use crate::application::UseCases;
use crate::domain::change::{Change, ChangedEntryKind};

/// Largest page of the feed.
pub const MAX_FEED_PAGE: i64 = 1000;

/// `Cache-Control` of a full page: its changes are committed and numbered for good.
pub const IMMUTABLE_CACHE: &str = "public, max-age=31536000, immutable";

/// Which changes to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// Changes after this sequence number (default 0: from the first). Pass the
    /// `next_after` of the page before.
    #[param(value_type = Option<i64>, minimum = 0, example = 0)]
    pub after: Option<String>,
    /// How many changes at most, 1 to 1000 (default 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, example = 100)]
    pub limit: Option<String>,
    /// `true`: each change as its sequence number, entry and version only.
    #[param(value_type = Option<bool>, example = false)]
    pub minimal: Option<String>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    /// Changes in commit order: sequence numbers `after + 1`, `after + 2`, … without
    /// gaps. Fewer than `limit` (or none) means the page reached the head.
    pub items: Vec<Change>,
    /// Pass as `after` for the next page: the last sequence number here, or `after`
    /// itself when the page is empty.
    #[schema(example = 1042)]
    pub next_after: i64,
}

/// A page as `minimal=true` gives it.
#[derive(Debug, Serialize)]
struct MinimalPage<'a> {
    items: Vec<MinimalChange<'a>>,
    next_after: i64,
}

/// A change as `minimal=true` gives it.
#[derive(Debug, Serialize)]
struct MinimalChange<'a> {
    seq: i64,
    entry_kind: ChangedEntryKind,
    entry_code: &'a str,
    version: i64,
}

/// Reads the change feed.
///
/// Every change to the catalog (an entry created, changed or retired; a region's side
/// changed; acceptance suspended or reinstated) and every proposal opened or decided, in
/// commit order, numbered 1, 2, 3, … without gaps: a change once listed is never
/// renumbered, and none is ever skipped or listed twice, however many writers commit at
/// once. To keep a copy in sync, poll with the `next_after` of the last page; an empty
/// page means nothing new. Pages carry an `ETag`: a poll with `If-None-Match` that finds
/// nothing new is answered 304. A full page never changes and may be cached for good
/// (`Cache-Control: immutable`); a page that reaches the head is revalidated.
/// `minimal=true` leaves out everything but `seq`, `entry_kind`, `entry_code` and
/// `version`. An instance lists the changes its own copy of the catalog includes (it
/// follows the feed within `REGISTRY_REFRESH_MS`), so entries read from the same
/// instance after a change is listed always include it.
#[utoipa::path(
    tag = "changes",
    operation_id = "list_changes",
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of the change feed.", body = ChangePage),
        (status = 304, description = "Nothing new since the page the client holds."),
    )
)]
#[get("/changes")]
pub async fn list_changes(
    req: HttpRequest,
    query: web::Query<ChangesQuery>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let after = whole_number("after", query.after.as_deref(), 0, 0..=i64::MAX)?;
    let limit = whole_number("limit", query.limit.as_deref(), 100, 1..=MAX_FEED_PAGE)?;
    let minimal = match query.minimal.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::parameter(
                "minimal",
                format!("expected `true` or `false`, got `{other}`"),
            ));
        }
    };
    let items = use_cases.changes(after, limit).await?;
    let next_after = items.last().map_or(after, |change| change.seq);
    // The page is (after, next_after] of an append-only, gap-free feed: those two
    // numbers and the form name its content exactly.
    let form = if minimal { "minimal" } else { "full" };
    let etag = format!("\"changes.{after}.{next_after}.{form}\"");
    let cache = if items.len() as i64 == limit {
        IMMUTABLE_CACHE
    } else {
        "no-cache"
    };
    let etag_value = HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(Box::new(e)))?;
    if not_modified(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag_value))
            .insert_header((header::CACHE_CONTROL, cache))
            .finish());
    }
    let body = if minimal {
        to_json(&MinimalPage {
            items: items
                .iter()
                .map(|change| MinimalChange {
                    seq: change.seq,
                    entry_kind: change.entry_kind,
                    entry_code: &change.entry_code,
                    version: change.version,
                })
                .collect(),
            next_after,
        })?
    } else {
        to_json(&ChangePage { items, next_after })?
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, etag_value))
        .insert_header((header::CACHE_CONTROL, cache))
        .content_type("application/json")
        .body(body))
}

/// A whole number in `range` (`default` when left out), naming the parameter otherwise.
fn whole_number(
    field: &str,
    raw: Option<&str>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ApiError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.parse::<i64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ if *range.end() == i64::MAX => Err(ApiError::parameter(
            field,
            format!(
                "expected a whole number of {} or more, got `{raw}`",
                range.start()
            ),
        )),
        _ => Err(ApiError::parameter(
            field,
            format!(
                "expected a whole number from {} to {}, got `{raw}`",
                range.start(),
                range.end()
            ),
        )),
    }
}
