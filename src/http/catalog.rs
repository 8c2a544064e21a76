//! Public reads of the catalog: recognition items, standard items, scenarios, the
//! 四同一互 deviation report and statistics. All are served from the read model.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::conditional::{etag_of, json_response, respond, to_json};
use super::history::{CatalogView, KnownAtQuery};
use super::pagination::{encode_cursor, fingerprint, page_request};
use super::problem::ApiError;
use super::recognition_status::{not_a_day, parse_day};
use crate::domain::catalog::{
    Batch, Channel, EntryStatus, ItemKind, RecognitionItem, Scenario, StandardItem,
    StandardItemType,
};
use crate::domain::deviation::{Aspect, Direction, RegionConformity};
use crate::domain::read_model::{
    Catalog, DeviationSummary, EntryFilter, FilterError, Page, PageRequest, Rendered,
    ScenarioFilter, ServiceFilter, Stats,
};
use crate::domain::recognition::today_in_china;
use crate::domain::region::RegionCode;
use crate::domain::search::fold_for_search;
use crate::registry::Registry;

/// Longest accepted search text, in characters.
const MAX_QUERY_CHARS: usize = 100;

/// A recognition item with the batch it was published in.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecognitionItemResponse {
    /// The entry.
    #[serde(flatten)]
    pub item: RecognitionItem,
    /// The published batch and official document the entry came from.
    pub provenance: Batch,
}

/// A standard item with the batch it was published in.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandardItemResponse {
    /// The entry.
    #[serde(flatten)]
    pub item: StandardItem,
    /// The published batch and official document the entry came from.
    pub provenance: Batch,
}

/// One page of recognition items.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecognitionItemList {
    /// Entries in code order.
    pub items: Vec<RecognitionItemResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of standard items.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandardItemList {
    /// Entries in code order.
    pub items: Vec<StandardItemResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of scenarios.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScenarioList {
    /// Scenarios in code order.
    pub items: Vec<Scenario>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// For endpoints that take no query parameters: any parameter is a 400, because a
/// client sending one (say `?on=2020-01-01` to an entry) expects it to mean something.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Filters of the recognition-item list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecognitionItemQuery {
    /// Only items in which this region participates.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "TJ")]
    pub region: Option<String>,
    /// Only items of this kind.
    #[param(value_type = Option<ItemKind>, example = "personal_qualification")]
    pub kind: Option<String>,
    /// Only items of this sector (a code from `/api/v1/sectors`; an unknown one is refused).
    #[param(min_length = 1, example = "construction")]
    pub sector: Option<String>,
    /// Only items with this status.
    #[param(value_type = Option<EntryStatus>, example = "active")]
    pub status: Option<String>,
    /// Only items in this scenario (a scenario code; an unknown one is refused).
    #[param(min_length = 1, example = "SC-001")]
    pub scenario: Option<String>,
    /// Text search over code, Chinese and English names and aliases; also matches pinyin
    /// (`erjijianzaoshi`) and pinyin initials (`ejjzs`); case, spaces, punctuation and
    /// full/half width are ignored. 1–100 characters, at least one of them a letter,
    /// digit or Chinese character (punctuation alone is refused).
    #[param(min_length = 1, max_length = 100, example = "建造师")]
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<String>,
    /// Opaque cursor: the `next_cursor` of the previous page, passed unchanged with the
    /// same filters. Leave it out for the first page; any other value is refused.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
    /// Answer from what the registry had recorded at this moment (RFC 3339 with an
    /// offset); default: now. Pass it unchanged with a `cursor`.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

/// Filters of the standard-item list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StandardItemQuery {
    /// Only items this region takes part in (has a local implementation record for,
    /// whatever its implementation status).
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "HE")]
    pub region: Option<String>,
    /// Only items of this type.
    #[param(value_type = Option<StandardItemType>, example = "administrative_licensing")]
    pub item_type: Option<String>,
    /// Only items of this sector (a code from `/api/v1/sectors`; an unknown one is refused).
    #[param(min_length = 1, example = "market_regulation")]
    pub sector: Option<String>,
    /// Only items with this status.
    #[param(value_type = Option<EntryStatus>, example = "active")]
    pub status: Option<String>,
    /// Only items in this scenario (a scenario code; an unknown one is refused).
    #[param(min_length = 1, example = "SC-001")]
    pub scenario: Option<String>,
    /// Only items that belong today to this programme (a code from
    /// `/api/v1/programmes`; an unknown one is refused).
    #[param(min_length = 1, example = "same_standard")]
    pub programme: Option<String>,
    /// Only items a region handles through this channel; with `region`, that region.
    #[param(value_type = Option<Channel>, example = "online_end_to_end")]
    pub channel: Option<String>,
    /// Text search (as for recognition items): 1–100 characters, at least one of them a
    /// letter, digit or Chinese character.
    #[param(min_length = 1, max_length = 100, example = "食品经营")]
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<String>,
    /// Opaque cursor: the `next_cursor` of the previous page, passed unchanged with the
    /// same filters. Leave it out for the first page; any other value is refused.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
    /// Answer from what the registry had recorded at this moment (RFC 3339 with an
    /// offset); default: now. Pass it unchanged with a `cursor`.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

/// Filters of the scenario list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScenarioQuery {
    /// Only scenarios in which this region participates.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "HE")]
    pub region: Option<String>,
    /// Only scenarios with this status.
    #[param(value_type = Option<EntryStatus>, example = "active")]
    pub status: Option<String>,
    /// Only scenarios launched in this calendar year (four digits).
    #[param(value_type = Option<i32>, minimum = 1000, maximum = 9999, example = 2025)]
    pub launched_in: Option<String>,
    /// Text search over code and names (as for recognition items): 1–100 characters, at
    /// least one of them a letter, digit or Chinese character.
    #[param(min_length = 1, max_length = 100, example = "建筑")]
    pub q: Option<String>,
    /// Page size, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<String>,
    /// Opaque cursor: the `next_cursor` of the previous page, passed unchanged with the
    /// same filters. Leave it out for the first page; any other value is refused.
    #[param(min_length = 1)]
    pub cursor: Option<String>,
    /// Answer from what the registry had recorded at this moment (RFC 3339 with an
    /// offset); default: now. Pass it unchanged with a `cursor`.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

/// Filters of the deviation report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeviationQuery {
    /// Only this region's deviations.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "TJ")]
    pub region: Option<String>,
    /// Only deviations in this aspect.
    #[param(value_type = Option<Aspect>, example = "time_limit")]
    pub aspect: Option<String>,
    /// Only deviations leaning this way: `stricter` (to be fixed) or `more_convenient`
    /// also match a `mixed` one.
    #[param(value_type = Option<Direction>, example = "stricter")]
    pub direction: Option<String>,
}

/// Per-region 四同一互 conformity of one standard item.
#[derive(Debug, Serialize, ToSchema)]
pub struct StandardItemDeviations {
    /// Standard item code.
    pub code: String,
    /// Entry version the check ran on.
    pub version: i64,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// One report per implementing region.
    pub regions: Vec<RegionConformity>,
}

/// The catalog-wide deviation report.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeviationReport {
    /// Per-region totals.
    pub summary: Vec<DeviationSummary>,
    /// Items with at least one matching deviation, in code order; only deviating regions are listed.
    pub items: Vec<StandardItemDeviations>,
}

fn filter_error(error: FilterError) -> ApiError {
    let field = match error {
        FilterError::UnknownRegion(_) => "region",
        FilterError::UnknownSector(_) => "sector",
        FilterError::UnknownScenario(_) => "scenario",
        FilterError::UnknownProgramme(_) => "programme",
    };
    ApiError::parameter(field, error.to_string())
}

/// Parses an optional value of a closed vocabulary, naming the parameter on error.
pub fn parse_choice<T>(
    field: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Option<T>,
    expected: fn() -> String,
) -> Result<Option<T>, ApiError> {
    raw.map(|text| {
        parse(text).ok_or_else(|| {
            ApiError::parameter(field, format!("`{text}` is not one of: {}", expected()))
        })
    })
    .transpose()
}

/// An optional code naming reference data (a programme, a sector): taken as sent, only
/// an empty value is refused here; whether it exists is a catalog question.
fn parse_code(field: &str, raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw {
        Some("") => Err(ApiError::parameter(field, "must not be empty")),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Parses an optional region code (existence is checked against the catalog later).
pub fn parse_region(field: &str, raw: Option<&str>) -> Result<Option<RegionCode>, ApiError> {
    raw.map(|text| RegionCode::parse(text).map_err(|message| ApiError::parameter(field, message)))
        .transpose()
}

fn parse_text(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some("") => Err(ApiError::parameter("q", "must not be empty")),
        Some(text) if text.chars().count() > MAX_QUERY_CHARS => Err(ApiError::parameter(
            "q",
            format!("at most {MAX_QUERY_CHARS} characters"),
        )),
        // Punctuation or symbols alone would otherwise match every entry.
        Some(text) if fold_for_search(text).is_empty() => Err(ApiError::parameter(
            "q",
            "must contain at least one letter, digit or Chinese character",
        )),
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// The list parameters recognition items and standard items share.
struct ListParams<'a> {
    region: Option<&'a str>,
    sector: Option<&'a str>,
    status: Option<&'a str>,
    scenario: Option<&'a str>,
    q: Option<&'a str>,
    limit: Option<&'a str>,
    cursor: Option<&'a str>,
    as_known_at: Option<&'a str>,
}

/// Parsed list parameters: the filter, the page, and the fingerprint that ties a
/// cursor to its query.
struct ParsedList {
    filter: EntryFilter,
    page: PageRequest,
    fingerprint: String,
}

impl ListParams<'_> {
    /// Parses the shared parameters; `own_filters` are the list's own filter values,
    /// part of the query's identity for cursors and tags.
    fn parse(self, own_filters: &[Option<&str>]) -> Result<ParsedList, ApiError> {
        let filter = EntryFilter {
            region: parse_region("region", self.region)?,
            sector: self.sector.map(str::to_owned),
            status: parse_choice(
                "status",
                self.status,
                EntryStatus::parse,
                EntryStatus::expected,
            )?,
            scenario: self.scenario.map(str::to_owned),
            text: parse_text(self.q)?,
        };
        let mut parts = vec![
            filter.region.as_ref().map(RegionCode::as_str),
            filter.sector.as_deref(),
            filter.status.map(EntryStatus::as_str),
            filter.scenario.as_deref(),
            filter.text.as_deref(),
        ];
        parts.extend_from_slice(own_filters);
        // A cursor belongs to the moment its pages are read as known at.
        parts.push(self.as_known_at);
        let fingerprint = fingerprint(&parts);
        let page = page_request(self.limit, self.cursor, &fingerprint)?;
        Ok(ParsedList {
            filter,
            page,
            fingerprint,
        })
    }
}

/// Renders one page as a list response with an `ETag` derived from the catalog digest
/// and the query, so a 304 costs no serialisation.
fn list_response<T>(
    req: &HttpRequest,
    catalog: &Catalog,
    query_fingerprint: &str,
    page_request: &PageRequest,
    page: Page<'_, T>,
    code_of: impl Fn(&T) -> &str,
    render: impl FnOnce(Vec<&T>, Option<String>) -> Result<Vec<u8>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let etag = etag_of(&[
        catalog.digest().as_bytes(),
        query_fingerprint.as_bytes(),
        page_request.limit.to_string().as_bytes(),
        page_request.after.as_deref().unwrap_or_default().as_bytes(),
    ]);
    respond(req, &etag, || {
        let next_cursor = if page.has_more {
            page.items
                .last()
                .map(|last| encode_cursor(code_of(last), query_fingerprint))
        } else {
            None
        };
        render(page.items, next_cursor)
    })
}

/// A page of entries, `{"items":[…],"next_cursor":…}`, joined from each entry's answer
/// as rendered once per version (what serialising the page would give, byte for byte).
fn page_of_rendered<'c, T: 'c>(
    items: Vec<&'c T>,
    next_cursor: Option<String>,
    rendered: impl Fn(&'c T) -> Option<Result<&'c Rendered, ApiError>>,
) -> Result<Vec<u8>, ApiError> {
    let mut body = Vec::with_capacity(4096 * items.len() + 64);
    body.extend_from_slice(b"{\"items\":[");
    for (index, item) in items.into_iter().enumerate() {
        if index > 0 {
            body.push(b',');
        }
        let answer = rendered(item).ok_or_else(|| {
            ApiError::Internal(
                "a listed entry is missing from the catalog it was listed from".into(),
            )
        })??;
        body.extend_from_slice(&answer.body);
    }
    body.extend_from_slice(b"],\"next_cursor\":");
    serde_json::to_writer(&mut body, &next_cursor).map_err(|e| ApiError::Internal(Box::new(e)))?;
    body.push(b'}');
    Ok(body)
}

/// Lists recognition items (资质资格互认事项).
///
/// Filtered by region, kind, sector, status, scenario and text, in code order, one page
/// at a time: pass `next_cursor` as `cursor` for the next page.
#[utoipa::path(
    tag = "recognition",
    operation_id = "list_recognition_items",
    params(RecognitionItemQuery),
    responses(
        (status = 200, description = "One page of recognition items.", body = RecognitionItemList, headers(("ETag" = String, description = "Entity tag of this page"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/recognition-items")]
pub async fn list_recognition_items(
    req: HttpRequest,
    query: web::Query<RecognitionItemQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let kind = parse_choice(
        "kind",
        q.kind.as_deref(),
        ItemKind::parse,
        ItemKind::expected,
    )?;
    let list = ListParams {
        region: q.region.as_deref(),
        sector: q.sector.as_deref(),
        status: q.status.as_deref(),
        scenario: q.scenario.as_deref(),
        q: q.q.as_deref(),
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
        as_known_at: q.as_known_at.as_deref(),
    }
    .parse(&[kind.map(ItemKind::as_str)])?;
    let catalog = CatalogView::of(&registry, q.as_known_at.as_deref()).await?;
    let page = catalog
        .list_recognition_items(&list.filter, kind, &list.page)
        .map_err(filter_error)?;
    list_response(
        &req,
        &catalog,
        &list.fingerprint,
        &list.page,
        page,
        |item| item.code.as_str(),
        |items, next_cursor| {
            page_of_rendered(items, next_cursor, |item| {
                catalog.rendered_recognition_item(&item.code, |item| {
                    rendered(&recognition_item_response(&catalog, item)?)
                })
            })
        },
    )
}

fn recognition_item_response(
    catalog: &Catalog,
    item: &RecognitionItem,
) -> Result<RecognitionItemResponse, ApiError> {
    Ok(RecognitionItemResponse {
        provenance: provenance(catalog, &item.code, &item.batch)?,
        item: item.clone(),
    })
}

fn standard_item_response(
    catalog: &Catalog,
    item: &StandardItem,
) -> Result<StandardItemResponse, ApiError> {
    Ok(StandardItemResponse {
        provenance: provenance(catalog, &item.code, &item.batch)?,
        item: item.clone(),
    })
}

/// The batch an entry came from; the catalog is validated so that it always exists,
/// and an entry without one is a bug, not a `null` for clients to handle.
fn provenance(catalog: &Catalog, code: &str, batch: &str) -> Result<Batch, ApiError> {
    catalog.batch(batch).cloned().ok_or_else(|| {
        ApiError::Internal(
            format!("entry {code} names batch {batch}, which is not in the catalog").into(),
        )
    })
}

/// Gets one recognition item.
///
/// The shared part, every arrangement period per ordered region pair, every
/// participating region's local part, and the batch it was published in.
#[utoipa::path(
    tag = "recognition",
    operation_id = "get_recognition_item",
    params(("code" = String, Path, description = "Recognition item code", example = "RI-CON-002"), KnownAtQuery),
    responses(
        (status = 200, description = "The recognition item.", body = RecognitionItemResponse, headers(("ETag" = String, description = "Entity tag of this entry"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/recognition-items/{code}")]
pub async fn get_recognition_item(
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<KnownAtQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = CatalogView::of(&registry, query.as_known_at.as_deref()).await?;
    let rendered = catalog
        .rendered_recognition_item(&code, |item| {
            rendered(&recognition_item_response(&catalog, item)?)
        })
        .ok_or_else(|| {
            ApiError::NotFound(format!("No recognition item has the code `{code}`."))
        })??;
    respond(&req, &rendered.etag, || Ok(rendered.body.clone()))
}

/// An entry's answer rendered once, with its entity tag, for the read model to keep.
fn rendered<T: Serialize>(answer: &T) -> Result<Rendered, ApiError> {
    let body = to_json(answer)?;
    Ok(Rendered {
        etag: etag_of(&[&body]),
        body,
    })
}

/// Lists standard items (同事同标事项).
///
/// Filtered by region, item type, sector, status, scenario and text, in code order, one
/// page at a time: pass `next_cursor` as `cursor` for the next page.
#[utoipa::path(
    tag = "standard-items",
    operation_id = "list_standard_items",
    params(StandardItemQuery),
    responses(
        (status = 200, description = "One page of standard items.", body = StandardItemList, headers(("ETag" = String, description = "Entity tag of this page"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/standard-items")]
pub async fn list_standard_items(
    req: HttpRequest,
    query: web::Query<StandardItemQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let service = ServiceFilter {
        item_type: parse_choice(
            "item_type",
            q.item_type.as_deref(),
            StandardItemType::parse,
            StandardItemType::expected,
        )?,
        programme: parse_code("programme", q.programme.as_deref())?,
        channel: parse_choice(
            "channel",
            q.channel.as_deref(),
            Channel::parse,
            Channel::expected,
        )?,
        today: today_in_china(),
    };
    let list = ListParams {
        region: q.region.as_deref(),
        sector: q.sector.as_deref(),
        status: q.status.as_deref(),
        scenario: q.scenario.as_deref(),
        q: q.q.as_deref(),
        limit: q.limit.as_deref(),
        cursor: q.cursor.as_deref(),
        as_known_at: q.as_known_at.as_deref(),
    }
    .parse(&[
        service.item_type.map(StandardItemType::as_str),
        service.programme.as_deref(),
        service.channel.map(Channel::as_str),
    ])?;
    let catalog = CatalogView::of(&registry, q.as_known_at.as_deref()).await?;
    let page = catalog
        .list_standard_items(&list.filter, &service, &list.page)
        .map_err(filter_error)?;
    list_response(
        &req,
        &catalog,
        &list.fingerprint,
        &list.page,
        page,
        |item| item.code.as_str(),
        |items, next_cursor| {
            page_of_rendered(items, next_cursor, |item| {
                catalog.rendered_standard_item(&item.code, |item| {
                    rendered(&standard_item_response(&catalog, item)?)
                })
            })
        },
    )
}

/// Gets one standard item.
///
/// The shared standard (conditions, materials, time limit, fee, legal basis, steps),
/// every region's implementation, and the batch it was published in.
#[utoipa::path(
    tag = "standard-items",
    operation_id = "get_standard_item",
    params(("code" = String, Path, description = "Standard item code", example = "SS-MR-001"), KnownAtQuery),
    responses(
        (status = 200, description = "The standard item.", body = StandardItemResponse, headers(("ETag" = String, description = "Entity tag of this entry"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/standard-items/{code}")]
pub async fn get_standard_item(
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<KnownAtQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = CatalogView::of(&registry, query.as_known_at.as_deref()).await?;
    let rendered = catalog
        .rendered_standard_item(&code, |item| {
            rendered(&standard_item_response(&catalog, item)?)
        })
        .ok_or_else(|| standard_item_not_found(&code))??;
    respond(&req, &rendered.etag, || Ok(rendered.body.clone()))
}

fn standard_item_not_found(code: &str) -> ApiError {
    ApiError::NotFound(format!("No standard item has the code `{code}`."))
}

fn deviations_of(item: &StandardItem, regions: Vec<RegionConformity>) -> StandardItemDeviations {
    StandardItemDeviations {
        code: item.code.clone(),
        version: item.version,
        name_zh: item.name_zh.clone(),
        name_en: item.name_en.clone(),
        regions,
    }
}

/// Checks one standard item against 四同一互.
///
/// Same name, same acceptance conditions, same materials, same time limit, and results
/// recognised: reports, per implementing region, what differs from the shared standard
/// and how.
#[utoipa::path(
    tag = "standard-items",
    operation_id = "get_standard_item_deviations",
    params(("code" = String, Path, description = "Standard item code", example = "SS-MR-001")),
    responses(
        (status = 200, description = "Per-region conformity.", body = StandardItemDeviations, headers(("ETag" = String, description = "Entity tag"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/standard-items/{code}/deviations")]
pub async fn get_standard_item_deviations(
    req: HttpRequest,
    code: web::Path<String>,
    _no_params: web::Query<NoParams>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = registry.catalog();
    let item = catalog
        .standard_item(&code)
        .ok_or_else(|| standard_item_not_found(&code))?;
    let report = catalog.conformity(&code).unwrap_or_default().to_vec();
    json_response(&req, &deviations_of(item, report))
}

/// The catalog-wide 四同一互 deviation report.
///
/// Per region, how many standard items deviate in which aspect, how many are stricter
/// than the standard (to be fixed) and how many more convenient, and every deviating
/// item with what differs and which way it leans; filter by region, aspect and direction.
#[utoipa::path(
    tag = "standard-items",
    operation_id = "get_deviation_report",
    params(DeviationQuery),
    responses(
        (status = 200, description = "The deviation report.", body = DeviationReport, headers(("ETag" = String, description = "Entity tag"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/deviations")]
pub async fn get_deviation_report(
    req: HttpRequest,
    query: web::Query<DeviationQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let region = parse_region("region", query.region.as_deref())?;
    let aspect = parse_choice(
        "aspect",
        query.aspect.as_deref(),
        Aspect::parse,
        Aspect::expected,
    )?;
    let direction = parse_choice(
        "direction",
        query.direction.as_deref(),
        Direction::parse,
        Direction::expected,
    )?;
    let catalog = registry.catalog();
    let deviating = catalog
        .deviations(region.as_ref(), aspect, direction)
        .map_err(filter_error)?;
    let summary = catalog.deviation_summary(&deviating, region.as_ref(), aspect);
    let items = deviating
        .into_iter()
        .map(|(item, regions)| deviations_of(item, regions.into_iter().cloned().collect()))
        .collect();
    json_response(&req, &DeviationReport { summary, items })
}

fn parse_year(text: &str) -> Result<i32, ApiError> {
    let four_digits =
        text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    four_digits
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::parameter(
                "launched_in",
                format!("`{text}` is not a year of four digits"),
            )
        })
}

/// Lists scenarios (互认场景).
///
/// Filtered by participating region, status, year launched and text, in code order, one page at a time: pass `next_cursor` as
/// `cursor` for the next page.
#[utoipa::path(
    tag = "scenarios",
    operation_id = "list_scenarios",
    params(ScenarioQuery),
    responses(
        (status = 200, description = "One page of scenarios.", body = ScenarioList, headers(("ETag" = String, description = "Entity tag of this page"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/scenarios")]
pub async fn list_scenarios(
    req: HttpRequest,
    query: web::Query<ScenarioQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = ScenarioFilter {
        region: parse_region("region", q.region.as_deref())?,
        status: parse_choice(
            "status",
            q.status.as_deref(),
            EntryStatus::parse,
            EntryStatus::expected,
        )?,
        launched_in: q.launched_in.as_deref().map(parse_year).transpose()?,
        text: parse_text(q.q.as_deref())?,
    };
    let year = filter.launched_in.map(|y| y.to_string());
    let fp = fingerprint(&[
        filter.region.as_ref().map(RegionCode::as_str),
        filter.text.as_deref(),
        filter.status.map(EntryStatus::as_str),
        year.as_deref(),
        q.as_known_at.as_deref(),
    ]);
    let page_request = page_request(q.limit.as_deref(), q.cursor.as_deref(), &fp)?;
    let catalog = CatalogView::of(&registry, q.as_known_at.as_deref()).await?;
    let page = catalog
        .list_scenarios(&filter, &page_request)
        .map_err(filter_error)?;
    list_response(
        &req,
        &catalog,
        &fp,
        &page_request,
        page,
        |scenario| scenario.code.as_str(),
        |items, next_cursor| {
            to_json(&ScenarioList {
                items: items.into_iter().cloned().collect(),
                next_cursor,
            })
        },
    )
}

/// Gets one scenario.
///
/// The scenario with the codes of its entries; list the entries themselves with
/// `?scenario=<code>` on the item lists.
#[utoipa::path(
    tag = "scenarios",
    operation_id = "get_scenario",
    params(("code" = String, Path, description = "Scenario code", example = "SC-001"), KnownAtQuery),
    responses(
        (status = 200, description = "The scenario.", body = Scenario, headers(("ETag" = String, description = "Entity tag of this entry"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/scenarios/{code}")]
pub async fn get_scenario(
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<KnownAtQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = CatalogView::of(&registry, query.as_known_at.as_deref()).await?;
    let scenario = catalog
        .scenario(&code)
        .ok_or_else(|| ApiError::NotFound(format!("No scenario has the code `{code}`.")))?;
    json_response(&req, scenario)
}

/// Parameters of the statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Day counted, `YYYY-MM-DD`: what was in the catalog that day (published by then,
    /// not retired) and recognised between each pair; default: today in China Standard
    /// Time.
    #[param(value_type = Option<String>, format = Date, example = "2025-06-01")]
    pub on: Option<String>,
    /// First day of a window, `YYYY-MM-DD`: with it (or with `to`), `published` counts
    /// what was newly published, launched or joined from this day to `to`; default: the
    /// first publication in the catalog.
    #[param(value_type = Option<String>, format = Date, example = "2025-01-01")]
    pub from: Option<String>,
    /// Last day of the window (inclusive), `YYYY-MM-DD`, not before `from`; default: `on`.
    #[param(value_type = Option<String>, format = Date, example = "2025-12-31")]
    pub to: Option<String>,
    /// Count from what the registry had recorded at this moment (RFC 3339 with an
    /// offset); `on` then defaults to that moment's day in China Standard Time.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

fn parse_optional_day(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|text| parse_day(text).ok_or_else(|| ApiError::parameter(field, not_a_day(text))))
        .transpose()
}

/// Catalog statistics.
///
/// Counts by region, kind, sector and status; items recognised per ordered region pair
/// on a day (default today); standard items with deviations.
#[utoipa::path(
    tag = "reference",
    operation_id = "get_stats",
    params(StatsQuery),
    responses(
        (status = 200, description = "Statistics.", body = Stats, headers(("ETag" = String, description = "Entity tag"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/stats")]
pub async fn get_stats(
    req: HttpRequest,
    query: web::Query<StatsQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let (catalog, today) = CatalogView::and_day(&registry, query.as_known_at.as_deref()).await?;
    let on = parse_optional_day("on", query.on.as_deref())?.unwrap_or(today);
    let from = parse_optional_day("from", query.from.as_deref())?;
    let to = parse_optional_day("to", query.to.as_deref())?;
    let window = match (from, to) {
        (None, None) => None,
        (from, to) => {
            let to = to.unwrap_or(on);
            let from = from.unwrap_or_else(|| catalog.first_publication().unwrap_or(to));
            if to < from {
                return Err(ApiError::parameter(
                    "to",
                    format!("{to} is before `from` ({from})"),
                ));
            }
            Some((from, to))
        }
    };
    json_response(&req, &catalog.stats(on, window))
}
