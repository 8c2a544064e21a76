//! Bulk exchange over HTTP: `GET /api/v1/export` (the catalog, or a filtered part, as
//! CSV, XLSX or JSON, streamed from one snapshot) and `GET /api/v1/export/template`
//! (the empty layout to fill in).

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
use crate::application::UseCases;
use crate::application::exchange::{ImportFile, ImportRequest, ImportResult};
use crate::domain::exchange::{
    ExportDocument, ExportFilter, FileFormat, Sheet, Table, export_tables,
};
use crate::domain::read_model::Catalog;
use crate::formats::{
    CSV_MEDIA_TYPE, ExportChunks, JSON_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_header, write_xlsx,
};
use crate::registry::Registry;

/// What to export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (one sheet, named by `sheet`), `xlsx` (every sheet) or `json` (whole
    /// entries); default `json`.
    #[param(value_type = Option<FileFormat>, example = "csv")]
    pub format: Option<String>,
    /// The sheet of a CSV export (required with `csv`, refused with the others).
    #[param(value_type = Option<Sheet>, example = "recognition_items")]
    pub sheet: Option<String>,
    /// Only items of this sector (batches, scenarios and targets are not narrowed).
    #[param(example = "construction")]
    pub sector: Option<String>,
    /// Only items and scenarios in which this region takes part.
    #[param(example = "TJ")]
    pub region: Option<String>,
    /// The catalog as the registry recorded it at this moment (RFC 3339 with an
    /// offset): an export of the past, consistent with that one moment.
    #[param(value_type = Option<String>, format = DateTime, example = "2099-12-31T23:59:59+08:00")]
    pub as_known_at: Option<String>,
}

/// Which template.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TemplateQuery {
    /// `csv` (one sheet, named by `sheet`) or `xlsx` (every sheet); default `xlsx`.
    #[param(value_type = Option<FileFormat>, example = "csv")]
    pub format: Option<String>,
    /// The sheet of a CSV template (required with `csv`, refused with `xlsx`).
    #[param(value_type = Option<Sheet>, example = "recognition_local_parts")]
    pub sheet: Option<String>,
}

fn parse_format(raw: Option<&str>, default: FileFormat) -> Result<FileFormat, ApiError> {
    Ok(parse_choice("format", raw, FileFormat::parse, FileFormat::expected)?.unwrap_or(default))
}

/// The sheet, required with CSV and refused otherwise (the other formats hold every
/// sheet).
fn parse_sheet(format: FileFormat, raw: Option<&str>) -> Result<Option<Sheet>, ApiError> {
    let sheet = parse_choice("sheet", raw, Sheet::parse, Sheet::expected)?;
    match (format, sheet) {
        (FileFormat::Csv, None) => Err(ApiError::parameter(
            "sheet",
            format!("a CSV file holds one sheet; name it: {}", Sheet::expected()),
        )),
        (FileFormat::Csv, sheet) => Ok(sheet),
        (_, Some(_)) => Err(ApiError::parameter(
            "sheet",
            "only a CSV file holds one sheet; XLSX and JSON hold every sheet",
        )),
        (_, None) => Ok(None),
    }
}

fn media_type(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Csv => CSV_MEDIA_TYPE,
        FileFormat::Xlsx => XLSX_MEDIA_TYPE,
        FileFormat::Json => JSON_MEDIA_TYPE,
    }
}

/// `attachment; filename="jjj-registry-<name>.<format>"`.
fn attachment(name: &str, format: FileFormat) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "attachment; filename=\"jjj-registry-{name}.{}\"",
        format.as_str()
    ))
    .expect("sheet and format names are header-safe")
}

/// Exports the catalog.
///
/// The whole catalog, or the part the filters leave, in the exchange layout that
/// imports read back: `json` gives whole entries (an array per kind, one entry per
/// line), `xlsx` a workbook with a worksheet per sheet, `csv` one sheet (UTF-8 with a
/// byte order mark, so that spreadsheet programs keep the Chinese). Every sheet's
/// header names each column in Chinese and by key (`中文名称（name_zh）`); lists sit in
/// one cell, one value per line. Server-owned fields (`version`, `updated_at`) and
/// suspensions do not travel, so an export imported into an empty registry exports
/// again byte for byte. CSV and JSON are streamed; all of it comes from one snapshot
/// of the catalog (or the one moment of `as_known_at`).
#[utoipa::path(
    tag = "exchange",
    operation_id = "export_catalog",
    params(ExportQuery),
    responses(
        (status = 200, description = "The export, as an attachment.",
            content(
                (ExportDocument = "application/json", example = json!({"batches": [], "recognition_items": [], "standard_items": [], "scenarios": [], "targets": []})),
                (String = "text/csv", example = "\u{feff}事项编码（item_code）,地区（region）\r\nRI-CON-001,BJ\r\n"),
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
    let format = parse_format(query.format.as_deref(), FileFormat::Json)?;
    let sheet = parse_sheet(format, query.sheet.as_deref())?;
    let sector = match query.sector.as_deref() {
        Some("") => return Err(ApiError::parameter("sector", "must not be empty")),
        other => other.map(str::to_owned),
    };
    let region = parse_region("region", query.region.as_deref())?;
    let view = CatalogView::of(&registry, query.as_known_at.as_deref()).await?;
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
        format.as_str().as_bytes(),
        sheet.map_or("", Sheet::as_str).as_bytes(),
        sector.as_deref().unwrap_or_default().as_bytes(),
        region.as_ref().map_or("", |r| r.as_str()).as_bytes(),
    ]);
    if not_modified(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
            .finish());
    }
    let filter = ExportFilter {
        owners: Vec::new(),
        sector,
        region,
    };
    let catalog: Arc<Catalog> = view.into_arc();
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
        .insert_header((header::CONTENT_TYPE, media_type(format)))
        .insert_header((
            header::CONTENT_DISPOSITION,
            attachment(sheet.map_or("catalog", Sheet::as_str), format),
        ));
    if format == FileFormat::Xlsx {
        // A workbook is a zip archive written whole: made off the async workers.
        let bytes = web::block(move || write_xlsx(&export_tables(&catalog, &filter)))
            .await
            .map_err(|e| ApiError::Internal(Box::new(e)))?
            .map_err(|e| ApiError::Internal(e.into()))?;
        return Ok(response.body(bytes));
    }
    Ok(response.body(StreamedExport(ExportChunks::new(
        catalog, format, sheet, filter,
    ))))
}

/// Gets the empty import template.
///
/// The exchange layout with no rows: an XLSX workbook with every sheet, or one sheet
/// as CSV; fill it in and import it. The header row names each column in Chinese and
/// by key; the import reads either.
#[utoipa::path(
    tag = "exchange",
    operation_id = "get_import_template",
    params(TemplateQuery),
    responses(
        (status = 200, description = "The template, as an attachment.",
            content(
                (String = "text/csv", example = "\u{feff}事项编码（item_code）,地区（region）\r\n"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
    )
)]
#[get("/export/template")]
pub async fn get_import_template(
    query: web::Query<TemplateQuery>,
) -> Result<HttpResponse, ApiError> {
    let format = parse_format(query.format.as_deref(), FileFormat::Xlsx)?;
    if format == FileFormat::Json {
        return Err(ApiError::parameter(
            "format",
            "the JSON layout is the JSON export itself; templates are csv or xlsx",
        ));
    }
    let sheet = parse_sheet(format, query.sheet.as_deref())?;
    let body = match sheet {
        Some(sheet) => csv_header(sheet),
        None => {
            let empty: Vec<Table> = Sheet::ALL
                .iter()
                .map(|&sheet| Table {
                    sheet,
                    header: sheet.headers(),
                    rows: Vec::new(),
                })
                .collect();
            web::block(move || write_xlsx(&empty))
                .await
                .map_err(|e| ApiError::Internal(Box::new(e)))?
                .map_err(|e| ApiError::Internal(e.into()))?
        }
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, PUBLIC_CACHE))
        .insert_header((header::CONTENT_TYPE, media_type(format)))
        .insert_header((
            header::CONTENT_DISPOSITION,
            attachment(
                &format!("template-{}", sheet.map_or("catalog", Sheet::as_str)),
                format,
            ),
        ))
        .body(body))
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

/// How to import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The sheet a CSV body holds (required with `text/csv`, refused otherwise).
    #[param(value_type = Option<Sheet>, example = "recognition_local_parts")]
    pub sheet: Option<String>,
    /// `true`: check the file and report what importing it would do, writing nothing.
    #[param(value_type = Option<bool>, example = true)]
    pub dry_run: Option<String>,
}

/// Imports a file.
///
/// A file in the layout of the export: `text/csv` (one sheet, named by `sheet`), an
/// XLSX workbook, or the JSON document. It is read against the current catalog and
/// checked whole; every problem is named by sheet, row and column. The token's region's
/// own sides (local parts) change at once; every shared change (new entries, shared
/// fields, regions joining, a new batch) goes into **one proposal** that applies when
/// every participating region approves. All of it happens in one transaction, or none
/// of it. Entries are matched by code, so importing the same file twice changes nothing
/// the second time. A side of another region is refused (403). `dry_run=true` answers
/// the same report without writing anything, problems included.
#[utoipa::path(
    tag = "exchange",
    operation_id = "import_file",
    params(ImportQuery),
    request_body(
        description = "The file, as exported.",
        content(
            (String = "text/csv", example = "\u{feff}事项编码（item_code）,地区（region）,本地编码（local_code）,发证部门（issuing_department）,受理部门（accepting_department）,咨询电话（contact）,网上办理地址（online_url）,备注（notes）,核验方式（verification.method）,核验地址（verification.lookup_url）,互认平台（verification.platforms）\r\nRI-CON-001,BJ,110000-ZJ-0181,北京市住房和城乡建设委员会,北京市住房和城乡建设委员会,010-55551203,https://example.gov.cn/bj/construction/ri/ri-con-001,外省市二级建造师进京执业信息登记可通过北京市住房和城乡建设委员会网上办事平台办理。,e_licence_sharing,,\r\n"),
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
    query: web::Query<ImportQuery>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<ImportLimit>,
) -> Result<HttpResponse, ApiError> {
    let dry_run = match query.dry_run.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::parameter(
                "dry_run",
                format!("`{other}` is not true or false"),
            ));
        }
    };
    let sheet = parse_choice(
        "sheet",
        query.sheet.as_deref(),
        Sheet::parse,
        Sheet::expected,
    )?;
    let file = read_body(
        &req,
        payload,
        limit.0,
        &[
            CSV_MEDIA_TYPE.split(';').next().unwrap_or_default(),
            XLSX_MEDIA_TYPE,
            JSON_MEDIA_TYPE,
        ],
    )
    .await
    .map(|(media_type, bytes)| {
        let format = match media_type.as_str() {
            XLSX_MEDIA_TYPE => FileFormat::Xlsx,
            JSON_MEDIA_TYPE => FileFormat::Json,
            _ => FileFormat::Csv,
        };
        (format, bytes)
    });
    match (&file, sheet) {
        (Ok((FileFormat::Csv, _)), None) => {
            return Err(ApiError::parameter(
                "sheet",
                format!("a CSV file holds one sheet; name it: {}", Sheet::expected()),
            ));
        }
        (Ok((FileFormat::Xlsx | FileFormat::Json, _)), Some(_)) => {
            return Err(ApiError::parameter(
                "sheet",
                "only a CSV file holds one sheet; XLSX and JSON hold every sheet",
            ));
        }
        _ => {}
    }
    let request = ImportRequest {
        request_id: request_id(&req),
        authorization: authorization(&req),
        file: file.map(|(format, bytes)| ImportFile {
            format,
            sheet,
            bytes: bytes.to_vec(),
        }),
        dry_run,
    };
    let result = use_cases.import(request).await?;
    let body = serde_json::to_vec(&result).map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("application/json")
        .body(body))
}
