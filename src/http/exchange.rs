//! Bulk exchange over HTTP. Every path names what it carries, so no parameter depends
//! on another:
//!
//! - `GET /api/v1/export` (`format=json|xlsx`): the whole catalog or a filtered part;
//!   `GET /api/v1/export/sheets/{sheet}`: one sheet as CSV. Streamed (JSON, CSV) from one
//!   snapshot of the catalog.
//! - `GET /api/v1/export/template`: the empty workbook; `…/template/{sheet}`: one sheet's
//!   header as CSV.
//! - `POST /api/v1/import` (a JSON document or an XLSX workbook) and
//!   `POST /api/v1/import/sheets/{sheet}` (one sheet as CSV), with `dry_run`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::catalog::{parse_choice, parse_region};
use super::conditional::{PUBLIC_CACHE, etag_of, not_modified};
use super::editing::{ImportLimit, authorization, read_body, request_id};
use super::history::CatalogView;
use super::problem::ApiError;
use crate::application::exchange::{ImportFile, ImportRequest, ImportResult};
use crate::application::{UseCaseError, UseCases};
use crate::domain::exchange::{
    ExportDocument, ExportFilter, FileFormat, Sheet, Table, export_tables,
};
use crate::domain::read_model::Catalog;
use crate::formats::{
    CSV_MEDIA_TYPE, ExportChunks, JSON_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_header, write_xlsx,
};
use crate::registry::Registry;

crate::domain::text_enum! {
    /// The format of a whole-catalog export.
    pub enum DocumentFormat {
        /// Whole entries in one JSON document.
        Json = "json",
        /// Every sheet in one XLSX workbook.
        Xlsx = "xlsx",
    }
}

/// What part of the catalog to export, and as known when.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportFilterQuery {
    /// Only items of this sector (a code from `/api/v1/sectors`; an unknown one is
    /// refused). Batches, scenarios and targets are not narrowed.
    #[param(min_length = 1, example = "construction")]
    pub sector: Option<String>,
    /// Only items and scenarios in which this region takes part.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "TJ")]
    pub region: Option<String>,
    /// The catalog as the registry recorded it at this moment (RFC 3339 with an
    /// offset): an export of the past, consistent with that one moment.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

/// A whole-catalog export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (whole entries, the default) or `xlsx` (every sheet).
    #[param(value_type = Option<DocumentFormat>, example = "xlsx")]
    pub format: Option<String>,
    /// Only items of this sector (a code from `/api/v1/sectors`; an unknown one is
    /// refused). Batches, scenarios and targets are not narrowed.
    #[param(min_length = 1, example = "construction")]
    pub sector: Option<String>,
    /// Only items and scenarios in which this region takes part.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "TJ")]
    pub region: Option<String>,
    /// The catalog as the registry recorded it at this moment (RFC 3339 with an
    /// offset): an export of the past, consistent with that one moment.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

/// No query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

/// Whether an import only checks.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true`: check the file and report what importing it would do, writing nothing.
    #[param(value_type = Option<bool>, example = true)]
    pub dry_run: Option<String>,
}

/// The sheet a path names; another name is no sheet (404). A use-case error, so that
/// an import's refusal is audited; the reads convert it like any other.
fn sheet_of(name: &str) -> Result<Sheet, UseCaseError> {
    Sheet::parse(name).ok_or_else(|| {
        UseCaseError::NotFound(format!(
            "No sheet `{name}`; the sheets are {}.",
            Sheet::expected()
        ))
    })
}

/// `attachment; filename="jjj-registry-<name>.<format>"`.
fn attachment(name: &str, format: FileFormat) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "attachment; filename=\"jjj-registry-{name}.{}\"",
        format.as_str()
    ))
    .expect("sheet and format names are header-safe")
}

/// The catalog to export from, the filter, and the export's entity tag (of the
/// catalog's content and everything that shapes the file).
async fn export_source(
    registry: &Registry,
    what: &str,
    sector: Option<&str>,
    region: Option<&str>,
    as_known_at: Option<&str>,
) -> Result<(Arc<Catalog>, ExportFilter, String), ApiError> {
    let sector = match sector {
        Some("") => return Err(ApiError::parameter("sector", "must not be empty")),
        other => other.map(str::to_owned),
    };
    let region = parse_region("region", region)?;
    let view = CatalogView::of(registry, as_known_at).await?;
    if let Some(sector) = &sector
        && !view.sectors().iter().any(|s| &s.code == sector)
    {
        return Err(ApiError::parameter(
            "sector",
            format!("unknown sector {sector}"),
        ));
    }
    if let Some(region) = &region
        && !view.has_region(region)
    {
        return Err(ApiError::parameter(
            "region",
            format!("unknown region {region}"),
        ));
    }
    let etag = etag_of(&[
        view.digest().as_bytes(),
        what.as_bytes(),
        sector.as_deref().unwrap_or_default().as_bytes(),
        region.as_ref().map_or("", |r| r.as_str()).as_bytes(),
    ]);
    let filter = ExportFilter {
        owners: Vec::new(),
        sector,
        region,
    };
    Ok((view.into_arc(), filter, etag))
}

fn not_modified_response(etag: &str) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
        .finish()
}

fn file_response(
    etag: Option<&str>,
    media_type: &str,
    filename: HeaderValue,
) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    if let Some(etag) = etag {
        response.insert_header((header::ETAG, etag.to_owned()));
    }
    response
        .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
        .insert_header((header::CONTENT_TYPE, media_type.to_owned()))
        .insert_header((header::CONTENT_DISPOSITION, filename));
    response
}

/// A workbook of `tables`, made off the async workers (a zip archive is written whole).
async fn workbook(
    tables: impl FnOnce() -> Vec<Table> + Send + 'static,
) -> Result<Vec<u8>, ApiError> {
    web::block(move || write_xlsx(&tables()))
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Exports the catalog.
///
/// The whole catalog, or the part the filters leave, in the exchange layout that
/// imports read back: `json` gives whole entries (an array per kind, one entry per
/// line), `xlsx` a workbook with a worksheet per sheet. Every sheet's header names each
/// column in Chinese and by key (`中文名称（name_zh）`); lists sit in one cell, one value
/// per line. Server-owned fields (`version`, `updated_at`) and suspensions do not
/// travel, so an export imported into an empty registry exports again byte for byte.
/// JSON is streamed; all of it comes from one snapshot of the catalog (or the one
/// moment of `as_known_at`). One sheet as CSV: `GET /api/v1/export/sheets/{sheet}`.
#[utoipa::path(
    tag = "exchange",
    operation_id = "export_catalog",
    params(ExportQuery),
    responses(
        (status = 200, description = "The export, as an attachment.",
            content(
                (ExportDocument = "application/json", example = json!({"batches": [], "recognition_items": [], "standard_items": [], "scenarios": [], "targets": []})),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ),
            headers(("ETag" = String, description = "Entity tag of this export of this catalog"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/export")]
pub async fn export_catalog(
    req: HttpRequest,
    query: web::Query<ExportQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let format = parse_choice(
        "format",
        query.format.as_deref(),
        DocumentFormat::parse,
        DocumentFormat::expected,
    )?
    .unwrap_or(DocumentFormat::Json);
    let (catalog, filter, etag) = export_source(
        &registry,
        format.as_str(),
        query.sector.as_deref(),
        query.region.as_deref(),
        query.as_known_at.as_deref(),
    )
    .await?;
    if not_modified(&req, &etag) {
        return Ok(not_modified_response(&etag));
    }
    Ok(match format {
        DocumentFormat::Xlsx => {
            let bytes = workbook(move || export_tables(&catalog, &filter)).await?;
            file_response(
                Some(&etag),
                XLSX_MEDIA_TYPE,
                attachment("catalog", FileFormat::Xlsx),
            )
            .body(bytes)
        }
        DocumentFormat::Json => file_response(
            Some(&etag),
            JSON_MEDIA_TYPE,
            attachment("catalog", FileFormat::Json),
        )
        .body(StreamedExport(ExportChunks::new(
            catalog,
            FileFormat::Json,
            None,
            filter,
        ))),
    })
}

/// Exports one sheet as CSV.
///
/// One sheet of the exchange layout (e.g. `recognition_local_parts`: each region's side
/// of every recognition item), UTF-8 with a byte order mark so that spreadsheet
/// programs keep the Chinese, streamed from one snapshot of the catalog. The header
/// names each column in Chinese and by key; lists sit in one cell, one value per line.
#[utoipa::path(
    tag = "exchange",
    operation_id = "export_sheet",
    params(("sheet" = Sheet, Path, description = "The sheet", example = "recognition_local_parts"), ExportFilterQuery),
    responses(
        (status = 200, description = "The sheet, as an attachment.",
            content((String = "text/csv", example = "\u{feff}事项编码（item_code）,地区（region）\r\nRI-CON-001,BJ\r\n")),
            headers(("ETag" = String, description = "Entity tag of this export of this catalog"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/export/sheets/{sheet}")]
pub async fn export_sheet(
    req: HttpRequest,
    sheet: web::Path<String>,
    query: web::Query<ExportFilterQuery>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let sheet = sheet_of(&sheet)?;
    let (catalog, filter, etag) = export_source(
        &registry,
        sheet.as_str(),
        query.sector.as_deref(),
        query.region.as_deref(),
        query.as_known_at.as_deref(),
    )
    .await?;
    if not_modified(&req, &etag) {
        return Ok(not_modified_response(&etag));
    }
    Ok(file_response(
        Some(&etag),
        CSV_MEDIA_TYPE,
        attachment(sheet.as_str(), FileFormat::Csv),
    )
    .body(StreamedExport(ExportChunks::new(
        catalog,
        FileFormat::Csv,
        Some(sheet),
        filter,
    ))))
}

/// Gets the empty import workbook.
///
/// The exchange layout with no rows, a worksheet per sheet: fill it in and import it.
/// The header row names each column in Chinese and by key; the import reads either.
#[utoipa::path(
    tag = "exchange",
    operation_id = "get_import_template",
    params(NoQuery),
    responses(
        (status = 200, description = "The template, as an attachment.",
            content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    )
)]
#[get("/export/template")]
pub async fn get_import_template(_query: web::Query<NoQuery>) -> Result<HttpResponse, ApiError> {
    let bytes = workbook(|| {
        Sheet::ALL
            .iter()
            .map(|&sheet| Table {
                sheet,
                header: sheet.headers(),
                rows: Vec::new(),
            })
            .collect()
    })
    .await?;
    Ok(file_response(
        None,
        XLSX_MEDIA_TYPE,
        attachment("template", FileFormat::Xlsx),
    )
    .body(bytes))
}

/// Gets one sheet's empty CSV template.
///
/// The sheet's header row (UTF-8 with a byte order mark): fill in the rows below and
/// import it with `POST /api/v1/import/sheets/{sheet}`.
#[utoipa::path(
    tag = "exchange",
    operation_id = "get_sheet_template",
    params(("sheet" = Sheet, Path, description = "The sheet", example = "recognition_local_parts"), NoQuery),
    responses(
        (status = 200, description = "The template, as an attachment.",
            content((String = "text/csv", example = "\u{feff}事项编码（item_code）,地区（region）\r\n"))),
    )
)]
#[get("/export/template/{sheet}")]
pub async fn get_sheet_template(
    sheet: web::Path<String>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let sheet = sheet_of(&sheet)?;
    Ok(file_response(
        None,
        CSV_MEDIA_TYPE,
        attachment(&format!("template-{}", sheet.as_str()), FileFormat::Csv),
    )
    .body(csv_header(sheet)))
}

/// An export as a response body: each chunk made when the connection can take it.
struct StreamedExport(ExportChunks);

impl MessageBody for StreamedExport {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(
            self.get_mut()
                .0
                .next()
                .map(|chunk| chunk.map(Bytes::from).map_err(Into::into)),
        )
    }
}

/// Whether an import only checks, from its query string (taken whole, so that a bad
/// query is refused by the use case and audited like any refused write).
fn dry_run_of(query: &str) -> Result<bool, UseCaseError> {
    let query: ImportQuery = serde_urlencoded::from_str(query)
        .map_err(|e| UseCaseError::InvalidParameter("query", e.to_string()))?;
    match query.dry_run.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(UseCaseError::InvalidParameter(
            "dry_run",
            format!("`{other}` is not true or false"),
        )),
    }
}

/// Reads the body of one of `accepted` media types and hands the import to the use
/// case, with the sheet its path names (`Err`: a path naming no sheet).
async fn import(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    accepted: &[(&str, FileFormat)],
    sheet: Result<Option<Sheet>, UseCaseError>,
    use_cases: &UseCases,
) -> Result<HttpResponse, ApiError> {
    let media_types: Vec<&str> = accepted.iter().map(|(media, _)| *media).collect();
    let (sheet, dry_run) = match sheet {
        Ok(sheet) => (sheet, dry_run_of(req.query_string())),
        Err(error) => (None, Err(error)),
    };
    let file = read_body(req, payload, limit, &media_types)
        .await
        .map(|(media_type, bytes)| ImportFile {
            format: accepted
                .iter()
                .find(|(media, _)| *media == media_type)
                .map_or(FileFormat::Json, |(_, format)| *format),
            sheet,
            bytes: bytes.to_vec(),
        });
    let request = ImportRequest {
        request_id: request_id(req),
        authorization: authorization(req),
        dry_run,
        file,
    };
    let result = use_cases.import(request).await?;
    let body = serde_json::to_vec(&result).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type(JSON_MEDIA_TYPE)
        .body(body))
}

/// Imports a JSON document or an XLSX workbook.
///
/// A file in the layout of the export (`GET /api/v1/export`), read against the current
/// catalog and checked whole; every problem is named by sheet, row and column. The
/// token's region's own sides (local parts) change at once; every shared change (new
/// entries, shared fields, regions joining, a new batch) goes into **one proposal**
/// that applies when every participating region approves. All of it happens in one
/// transaction, or none of it. Entries are matched by code, so importing the same file
/// twice changes nothing the second time. A side of another region is refused (403).
/// `dry_run=true` answers the same report without writing anything, problems included.
/// One sheet as CSV: `POST /api/v1/import/sheets/{sheet}`.
#[utoipa::path(
    tag = "exchange",
    operation_id = "import_file",
    params(ImportQuery),
    request_body(
        description = "The file, as exported.",
        content(
            (Object = "application/json", example = json!({"targets": []})),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    ),
    responses(
        (status = 200, description = "What the import did (or, in a dry run, would do).", body = ImportResult),
    ),
    security(("bearer" = []))
)]
#[post("/import")]
pub async fn import_file(
    req: HttpRequest,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<ImportLimit>,
) -> Result<HttpResponse, ApiError> {
    let accepted = [
        (JSON_MEDIA_TYPE, FileFormat::Json),
        (XLSX_MEDIA_TYPE, FileFormat::Xlsx),
    ];
    import(&req, payload, limit.0, &accepted, Ok(None), &use_cases).await
}

/// Imports one sheet as CSV.
///
/// One sheet in the layout of `GET /api/v1/export/sheets/{sheet}` (UTF-8, with or
/// without a byte order mark), imported as `POST /api/v1/import` imports a workbook:
/// checked whole, the token's region's sides directly, shared changes as one proposal,
/// all or nothing. A region keeping its own sides in a spreadsheet imports its rows of
/// `recognition_local_parts` or `standard_local_parts` alone.
#[utoipa::path(
    tag = "exchange",
    operation_id = "import_sheet",
    params(("sheet" = Sheet, Path, description = "The sheet", example = "recognition_local_parts"), ImportQuery),
    request_body(
        description = "The sheet, as exported.",
        content(
            (String = "text/csv", example = "\u{feff}事项编码（item_code）,地区（region）,本地编码（local_code）,发证部门（issuing_department）,受理部门（accepting_department）,咨询电话（contact）,网上办理地址（online_url）,备注（notes）,核验方式（verification.method）,核验地址（verification.lookup_url）,互认平台（verification.platforms）\r\nRI-CON-001,BJ,110000-ZJ-0181,北京市住房和城乡建设委员会,北京市住房和城乡建设委员会,010-55551203,https://example.gov.cn/bj/construction/ri/ri-con-001,外省市二级建造师进京执业信息登记可通过北京市住房和城乡建设委员会网上办事平台办理。,e_licence_sharing,,\r\n")
        )
    ),
    responses(
        (status = 200, description = "What the import did (or, in a dry run, would do).", body = ImportResult),
    ),
    security(("bearer" = []))
)]
#[post("/import/sheets/{sheet}")]
pub async fn import_sheet(
    req: HttpRequest,
    sheet: web::Path<String>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<ImportLimit>,
) -> Result<HttpResponse, ApiError> {
    let sheet = sheet_of(&sheet).map(Some);
    let csv = CSV_MEDIA_TYPE.split(';').next().unwrap_or_default();
    import(
        &req,
        payload,
        limit.0,
        &[(csv, FileFormat::Csv)],
        sheet,
        &use_cases,
    )
    .await
}
