//! The programme as it publishes and reports itself: service programmes, published
//! batches (批次) with what each published, and targets (工作台账) with progress counted
//! live from the catalog.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::NoParams;
use super::conditional::json_response;
use super::history::CatalogView;
use super::problem::ApiError;
use super::recognition_status::{not_a_day, parse_day};
use crate::domain::catalog::{Batch, EntryStatus, Programme, Target};
use crate::domain::read_model::{Catalog, TargetProgress};
use crate::registry::Registry;

/// All service programmes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProgrammeList {
    /// Programmes in display order.
    pub items: Vec<Programme>,
}

/// How many entries a batch published, per kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCounts {
    /// Recognition items.
    pub recognition_items: usize,
    /// Standard items.
    pub standard_items: usize,
    /// Scenarios.
    pub scenarios: usize,
    /// Programme memberships announced.
    pub programme_memberships: usize,
}

/// A batch with the number of entries it published.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchSummary {
    /// The batch.
    #[serde(flatten)]
    pub batch: Batch,
    /// What it published.
    pub counts: BatchCounts,
}

/// All published batches.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchList {
    /// Batches in publication order.
    pub items: Vec<BatchSummary>,
}

/// An entry as a batch lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryReference {
    /// Entry code.
    pub code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// Current status.
    pub status: EntryStatus,
}

/// A programme membership a batch announced.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipReference {
    /// Standard item code.
    pub item: String,
    /// Chinese name of the item.
    pub name_zh: String,
    /// Programme code.
    pub programme: String,
    /// First day of membership.
    pub joined_on: NaiveDate,
}

/// A batch with everything it published.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchDetail {
    /// The batch.
    #[serde(flatten)]
    pub batch: Batch,
    /// Recognition items it published, in code order.
    pub recognition_items: Vec<EntryReference>,
    /// Standard items it published, in code order.
    pub standard_items: Vec<EntryReference>,
    /// Scenarios it launched, in code order.
    pub scenarios: Vec<EntryReference>,
    /// Programme memberships it announced, in item order.
    pub programme_memberships: Vec<MembershipReference>,
}

/// A target with its progress on the day asked.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetWithProgress {
    /// The target.
    #[serde(flatten)]
    pub target: Target,
    /// Progress counted from the catalog.
    pub progress: TargetProgress,
}

/// Every target with its progress.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetList {
    /// The day progress is counted for.
    pub on: NaiveDate,
    /// Targets in code order.
    pub items: Vec<TargetWithProgress>,
}

/// The day progress is counted for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProgressQuery {
    /// Day to count for, `YYYY-MM-DD`: entries published after it are not counted;
    /// default: today in China Standard Time.
    #[param(value_type = Option<String>, format = Date, example = "2025-12-31")]
    pub on: Option<String>,
    /// Count from what the registry had recorded at this moment (RFC 3339 with an
    /// offset); `on` then defaults to that moment's day in China Standard Time.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

impl ProgressQuery {
    /// The catalog to count from and the day to count for.
    async fn catalog_and_day(
        &self,
        registry: &Registry,
    ) -> Result<(CatalogView, NaiveDate), ApiError> {
        let (catalog, today) = CatalogView::and_day(registry, self.as_known_at.as_deref()).await?;
        let on = match self.on.as_deref() {
            None => today,
            Some(text) => {
                parse_day(text).ok_or_else(|| ApiError::parameter("on", not_a_day(text)))?
            }
        };
        Ok((catalog, on))
    }
}

fn reference(code: &str, name_zh: &str, name_en: &str, status: EntryStatus) -> EntryReference {
    EntryReference {
        code: code.to_owned(),
        name_zh: name_zh.to_owned(),
        name_en: name_en.to_owned(),
        status,
    }
}

fn with_progress(catalog: &Catalog, target: &Target, on: NaiveDate) -> TargetWithProgress {
    TargetWithProgress {
        target: target.clone(),
        progress: catalog.progress(target, on),
    }
}

/// Lists the service programmes (同事同标, 跨省通办, 区域通办, 异地自助办理).
///
/// Each programme with its code and names. Programme codes are what the `programme`
/// filter of the standard-item list and the `programme` of a target's metric take; each
/// standard item lists its memberships with the batch that announced them.
#[utoipa::path(
    tag = "programme",
    operation_id = "list_programmes",
    responses(
        (status = 200, description = "The programmes.", body = ProgrammeList, headers(("ETag" = String, description = "Entity tag for conditional requests"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/programmes")]
pub async fn list_programmes(
    _no_params: web::Query<NoParams>,
    req: HttpRequest,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = registry.catalog();
    json_response(
        &req,
        &ProgrammeList {
            items: catalog.programmes().to_vec(),
        },
    )
}

/// Lists the published batches (批次).
///
/// Every batch with its official document number (文号), what kinds of entry it
/// publishes and how many it published, in publication order.
#[utoipa::path(
    tag = "programme",
    operation_id = "list_batches",
    responses(
        (status = 200, description = "The batches.", body = BatchList, headers(("ETag" = String, description = "Entity tag for conditional requests"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/batches")]
pub async fn list_batches(
    _no_params: web::Query<NoParams>,
    req: HttpRequest,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = registry.catalog();
    let items = catalog
        .batches()
        .iter()
        .map(|batch| {
            let contents = catalog.batch_contents(&batch.code);
            BatchSummary {
                batch: batch.clone(),
                counts: BatchCounts {
                    recognition_items: contents.recognition_items.len(),
                    standard_items: contents.standard_items.len(),
                    scenarios: contents.scenarios.len(),
                    programme_memberships: contents.memberships.len(),
                },
            }
        })
        .collect();
    json_response(&req, &BatchList { items })
}

/// Gets one batch with what it published.
///
/// The batch, its document, and every entry it published or programme membership it
/// announced, by code and name.
#[utoipa::path(
    tag = "programme",
    operation_id = "get_batch",
    params(("code" = String, Path, description = "Batch code", example = "JJJ-2024-02")),
    responses(
        (status = 200, description = "The batch.", body = BatchDetail, headers(("ETag" = String, description = "Entity tag of this batch"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/batches/{code}")]
pub async fn get_batch(
    req: HttpRequest,
    code: web::Path<String>,
    _no_params: web::Query<NoParams>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = registry.catalog();
    let batch = catalog
        .batch(&code)
        .ok_or_else(|| ApiError::NotFound(format!("No batch has the code `{code}`.")))?;
    let contents = catalog.batch_contents(&batch.code);
    let detail = BatchDetail {
        batch: batch.clone(),
        recognition_items: contents
            .recognition_items
            .iter()
            .map(|i| reference(&i.code, &i.name_zh, &i.name_en, i.status))
            .collect(),
        standard_items: contents
            .standard_items
            .iter()
            .map(|i| reference(&i.code, &i.name_zh, &i.name_en, i.status))
            .collect(),
        scenarios: contents
            .scenarios
            .iter()
            .map(|s| reference(&s.code, &s.name_zh, &s.name_en, s.status))
            .collect(),
        programme_memberships: contents
            .memberships
            .iter()
            .filter_map(|(item, programme)| {
                let membership = item.programmes.iter().find(|m| m.programme == *programme)?;
                Some(MembershipReference {
                    item: item.code.clone(),
                    name_zh: item.name_zh.clone(),
                    programme: (*programme).to_owned(),
                    joined_on: membership.joined_on,
                })
            })
            .collect(),
    };
    json_response(&req, &detail)
}

/// Lists the targets (工作台账) with their progress.
///
/// Every target of the annual work plans, with the count it is measured by and its
/// progress on a day (default today), counted live from the catalog.
#[utoipa::path(
    tag = "programme",
    operation_id = "list_targets",
    params(ProgressQuery),
    responses(
        (status = 200, description = "The targets with their progress.", body = TargetList, headers(("ETag" = String, description = "Entity tag for conditional requests"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/targets")]
pub async fn list_targets(
    req: HttpRequest,
    query: web::Query<ProgressQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let (catalog, on) = query.catalog_and_day(&registry).await?;
    let items = catalog
        .targets()
        .iter()
        .map(|target| with_progress(&catalog, target, on))
        .collect();
    json_response(&req, &TargetList { on, items })
}

/// Gets one target with its progress.
///
/// The target, its source document and clause, lead and cooperating units, and its
/// progress on a day (default today).
#[utoipa::path(
    tag = "programme",
    operation_id = "get_target",
    params(
        ("code" = String, Path, description = "Target code", example = "TG-2025-01"),
        ProgressQuery,
    ),
    responses(
        (status = 200, description = "The target with its progress.", body = TargetWithProgress, headers(("ETag" = String, description = "Entity tag for conditional requests"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/targets/{code}")]
pub async fn get_target(
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<ProgressQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let (catalog, on) = query.catalog_and_day(&registry).await?;
    let target = catalog
        .target(&code)
        .ok_or_else(|| ApiError::NotFound(format!("No target has the code `{code}`.")))?;
    json_response(&req, &with_progress(&catalog, target, on))
}
