//! Entry history over HTTP: `…/{code}/versions`, `…/{code}/versions/{version}` and
//! `…/{code}/diff?from=&to=` for every kind of entry with versions. Public, like every
//! catalog read; a version once recorded never changes.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use super::conditional::json_response;
use super::problem::ApiError;
use crate::application::UseCases;
use crate::domain::change::ChangedEntryKind;
use crate::domain::history::{EntryVersion, VersionDiff, VersionList};
use crate::domain::read_model::Catalog;
use crate::domain::recognition::{day_in_china, today_in_china};
use crate::registry::{Registry, RegistryError};

/// The two versions to compare.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The version to compare from (required).
    #[param(value_type = i64, required = true, minimum = 1, example = 1)]
    pub from: Option<String>,
    /// The version to compare to; default: the latest.
    #[param(value_type = Option<i64>, minimum = 1, example = 1)]
    pub to: Option<String>,
}

/// No query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// Defines the three history reads of one kind of entry.
macro_rules! history_reads {
    (
        kind: $kind:expr,
        tag: $tag:literal,
        example: $example:literal,
        list: ($list:ident, $list_id:literal, $list_path:literal, $list_summary:literal),
        one: ($one:ident, $one_id:literal, $one_path:literal, $one_summary:literal),
        diff: ($diff:ident, $diff_id:literal, $diff_path:literal, $diff_summary:literal) $(,)?
    ) => {
        #[doc = $list_summary]
        ///
        /// Oldest first: each version with the change of the feed that made it (`seq`),
        /// when it was recorded, what made it (a proposal applied, a region's own edit,
        /// a unilateral act), the region and token subject or the proposal behind it,
        /// and the batch the entry was published in. Retired entries keep their history.
        #[utoipa::path(
            tag = $tag,
            operation_id = $list_id,
            params(("code" = String, Path, description = "Entry code", example = $example), NoQuery),
            responses(
                (status = 200, description = "Every version, oldest first.", body = VersionList),
                (status = 304, description = "Not modified since the `If-None-Match` tag."),
            )
        )]
        #[get($list_path)]
        pub async fn $list(
            req: HttpRequest,
            code: web::Path<String>,
            _no_query: web::Query<NoQuery>,
            use_cases: web::Data<UseCases>,
        ) -> Result<HttpResponse, ApiError> {
            json_response(&req, &use_cases.entry_versions($kind, &code).await?)
        }

        #[doc = $one_summary]
        ///
        /// The entry exactly as the registry recorded it at that version, with how the
        /// version came to be. A version never changes once recorded.
        #[utoipa::path(
            tag = $tag,
            operation_id = $one_id,
            params(
                ("code" = String, Path, description = "Entry code", example = $example),
                ("version" = i64, Path, description = "Version number, from 1", minimum = 1, example = 1),
                NoQuery,
            ),
            responses(
                (status = 200, description = "The entry at that version.", body = EntryVersion),
                (status = 304, description = "Not modified since the `If-None-Match` tag."),
            )
        )]
        #[get($one_path)]
        pub async fn $one(
            req: HttpRequest,
            path: web::Path<(String, String)>,
            _no_query: web::Query<NoQuery>,
            use_cases: web::Data<UseCases>,
        ) -> Result<HttpResponse, ApiError> {
            let (code, version) = path.into_inner();
            json_response(&req, &use_cases.entry_version($kind, &code, &version).await?)
        }

        #[doc = $diff_summary]
        ///
        /// Every field that differs between version `from` and version `to` (default:
        /// the latest), by path (`local_parts[1].department_zh`), with its value
        /// before and after, and how each of the two versions came to be.
        #[utoipa::path(
            tag = $tag,
            operation_id = $diff_id,
            params(("code" = String, Path, description = "Entry code", example = $example), DiffQuery),
            responses(
                (status = 200, description = "What changed between the two versions.", body = VersionDiff),
                (status = 304, description = "Not modified since the `If-None-Match` tag."),
            )
        )]
        #[get($diff_path)]
        pub async fn $diff(
            req: HttpRequest,
            code: web::Path<String>,
            query: web::Query<DiffQuery>,
            use_cases: web::Data<UseCases>,
        ) -> Result<HttpResponse, ApiError> {
            let compared = use_cases
                .version_diff($kind, &code, query.from.as_deref(), query.to.as_deref())
                .await?;
            json_response(&req, &compared)
        }
    };
}

history_reads! {
    kind: ChangedEntryKind::RecognitionItem,
    tag: "recognition",
    example: "RI-CON-002",
    list: (list_recognition_item_versions, "list_recognition_item_versions",
        "/recognition-items/{code}/versions", "Lists every version of a recognition item."),
    one: (get_recognition_item_version, "get_recognition_item_version",
        "/recognition-items/{code}/versions/{version}", "Gets one version of a recognition item."),
    diff: (diff_recognition_item_versions, "diff_recognition_item_versions",
        "/recognition-items/{code}/diff", "Compares two versions of a recognition item."),
}

history_reads! {
    kind: ChangedEntryKind::StandardItem,
    tag: "standard-items",
    example: "SS-MR-001",
    list: (list_standard_item_versions, "list_standard_item_versions",
        "/standard-items/{code}/versions", "Lists every version of a service item."),
    one: (get_standard_item_version, "get_standard_item_version",
        "/standard-items/{code}/versions/{version}", "Gets one version of a service item."),
    diff: (diff_standard_item_versions, "diff_standard_item_versions",
        "/standard-items/{code}/diff", "Compares two versions of a service item."),
}

history_reads! {
    kind: ChangedEntryKind::Scenario,
    tag: "scenarios",
    example: "SC-001",
    list: (list_scenario_versions, "list_scenario_versions",
        "/scenarios/{code}/versions", "Lists every version of a scenario."),
    one: (get_scenario_version, "get_scenario_version",
        "/scenarios/{code}/versions/{version}", "Gets one version of a scenario."),
    diff: (diff_scenario_versions, "diff_scenario_versions",
        "/scenarios/{code}/diff", "Compares two versions of a scenario."),
}

history_reads! {
    kind: ChangedEntryKind::Target,
    tag: "programme",
    example: "TG-2025-01",
    list: (list_target_versions, "list_target_versions",
        "/targets/{code}/versions", "Lists every version of a target."),
    one: (get_target_version, "get_target_version",
        "/targets/{code}/versions/{version}", "Gets one version of a target."),
    diff: (diff_target_versions, "diff_target_versions",
        "/targets/{code}/diff", "Compares two versions of a target."),
}

/// The catalog a read answers from: the current read model, or the catalog as known at
/// a past moment (`as_known_at`).
pub enum CatalogView {
    /// The current read model.
    Current(arc_swap::Guard<std::sync::Arc<Catalog>>),
    /// The catalog as the registry knew it at a moment.
    Past(std::sync::Arc<Catalog>),
}

impl CatalogView {
    /// The current read model (lock-free, as every plain read uses).
    pub fn current(registry: &Registry) -> Self {
        Self::Current(registry.catalog())
    }

    /// The catalog as known at `at`.
    pub async fn known_at(registry: &Registry, at: DateTime<Utc>) -> Result<Self, ApiError> {
        let catalog = registry
            .catalog_known_at(at)
            .await
            .map_err(|error| match error {
                RegistryError::Storage(storage) => ApiError::from(storage),
                other => ApiError::Internal(Box::new(other)),
            })?;
        Ok(Self::Past(catalog))
    }

    /// The current read model, or the catalog as known at `as_known_at` when given.
    pub async fn of(registry: &Registry, as_known_at: Option<&str>) -> Result<Self, ApiError> {
        match as_known_at {
            None => Ok(Self::current(registry)),
            Some(text) => Self::known_at(registry, parse_known_at(text)?).await,
        }
    }
}

impl CatalogView {
    /// The catalog to answer from and the day questions default to: the current read
    /// model and today, or the catalog as known at `as_known_at` and that moment's day
    /// (China Standard Time).
    pub async fn and_day(
        registry: &Registry,
        as_known_at: Option<&str>,
    ) -> Result<(Self, NaiveDate), ApiError> {
        match as_known_at {
            None => Ok((Self::current(registry), today_in_china())),
            Some(text) => {
                let at = parse_known_at(text)?;
                Ok((Self::known_at(registry, at).await?, day_in_china(at)))
            }
        }
    }
}

impl CatalogView {
    /// The catalog itself, to keep beyond the request (a streamed export).
    pub fn into_arc(self) -> std::sync::Arc<Catalog> {
        match self {
            Self::Current(guard) => arc_swap::Guard::into_inner(guard),
            Self::Past(catalog) => catalog,
        }
    }
}

impl std::ops::Deref for CatalogView {
    type Target = Catalog;

    fn deref(&self) -> &Catalog {
        match self {
            Self::Current(guard) => guard,
            Self::Past(catalog) => catalog,
        }
    }
}

/// An `as_known_at` moment: RFC 3339 with an explicit offset (`Z` or `+08:00`).
pub fn parse_known_at(text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::parameter(
                "as_known_at",
                format!(
                    "expected an RFC 3339 time with an offset, e.g. 2026-03-01T10:00:00+08:00, got `{text}`"
                ),
            )
        })
}

/// Only `as_known_at`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KnownAtQuery {
    /// Read the entry as the registry had recorded it at this moment (RFC 3339 with an
    /// offset); default: now. A moment still to come reads what is recorded now.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}
