//! The files of the bulk exchange (批量导入导出): sheets as CSV (one sheet per file,
//! UTF-8 with a byte order mark so that spreadsheet programs keep the Chinese) and as
//! XLSX (a worksheet per sheet), and the JSON document of whole entries. Only bytes
//! and [`Table`]s here; the layout is [`crate::domain::exchange`]'s.

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

use crate::domain::exchange::{
    CellType, ExportFilter, FileFormat, ImportProblem, Owner, Sheet, Table, entry_count,
    export_tables, exported_entry, exported_rows,
};
use crate::domain::read_model::Catalog;

/// Media type of a CSV sheet.
pub const CSV_MEDIA_TYPE: &str = "text/csv; charset=utf-8";
/// Media type of an XLSX workbook.
pub const XLSX_MEDIA_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
/// Media type of the JSON document.
pub const JSON_MEDIA_TYPE: &str = "application/json";

/// UTF-8's byte order mark: without it, spreadsheet programs on Chinese Windows read a
/// CSV file as GBK.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn problem(sheet: &str, row: Option<usize>, text: impl Into<String>) -> ImportProblem {
    ImportProblem {
        sheet: sheet.to_owned(),
        row,
        column: None,
        value: None,
        problem: text.into(),
    }
}

/// The start of a CSV sheet: the byte order mark and the header row.
pub fn csv_header(sheet: Sheet) -> Vec<u8> {
    let mut bytes = BOM.to_vec();
    bytes.extend(csv_rows(&[sheet.headers()]));
    bytes
}

/// Rows as CSV lines (fields quoted where needed, CRLF line ends as RFC 4180 has them).
pub fn csv_rows(rows: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).expect("writing to memory");
    }
    writer.into_inner().expect("writing to memory")
}

/// Reads one sheet from CSV bytes (UTF-8, with or without a byte order mark).
pub fn read_csv(sheet: Sheet, bytes: &[u8]) -> Result<Table, Vec<ImportProblem>> {
    let name = sheet.as_str();
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(vec![problem(
            name,
            None,
            format!(
                "the file is not UTF-8 (byte {}); save it as \"CSV UTF-8\"",
                error.valid_up_to()
            ),
        )]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => records.push(record.iter().map(str::to_owned).collect::<Vec<_>>()),
            Err(error) => {
                let row = error.position().map(|p| p.line() as usize);
                return Err(vec![problem(name, row, format!("not valid CSV: {error}"))]);
            }
        }
    }
    let mut records = records.into_iter();
    let Some(header) = records.next() else {
        return Err(vec![problem(
            name,
            None,
            "the file is empty; the header row is missing",
        )]);
    };
    Ok(Table {
        sheet,
        header,
        rows: records.collect(),
    })
}

/// Writes tables as one XLSX workbook, a worksheet per sheet named by its key: counts
/// as numbers, flags as booleans, everything else (dates included) as text, so that
/// no spreadsheet program turns a code or a date into something else.
pub fn write_xlsx(tables: &[Table]) -> Result<Vec<u8>, String> {
    let mut workbook = Workbook::new();
    // A fixed creation time (the zip format's epoch, as reproducible builds use): the
    // same catalog gives the same bytes, whenever and wherever it is exported.
    let epoch = ExcelDateTime::from_ymd(1980, 1, 1).map_err(|e| e.to_string())?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&epoch));
    for table in tables {
        let sheet = workbook.add_worksheet();
        sheet
            .set_name(table.sheet.as_str())
            .map_err(|e| e.to_string())?;
        sheet.set_freeze_panes(1, 0).map_err(|e| e.to_string())?;
        let columns = table.sheet.columns();
        for (col, header) in table.header.iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| e.to_string())?;
            sheet
                .write_string(0, col, header)
                .map_err(|e| e.to_string())?;
            sheet.set_column_width(col, 18).map_err(|e| e.to_string())?;
        }
        for (index, row) in table.rows.iter().enumerate() {
            let row_at = u32::try_from(index + 1).map_err(|e| e.to_string())?;
            for (col, (text, column)) in row.iter().zip(columns).enumerate() {
                if text.is_empty() {
                    continue;
                }
                let col = u16::try_from(col).map_err(|e| e.to_string())?;
                let written = match (column.cell, text.parse::<u32>(), text.as_str()) {
                    (CellType::Count | CellType::OptionalCount, Ok(number), _) => {
                        sheet.write_number(row_at, col, f64::from(number))
                    }
                    (CellType::Flag, _, "true") => sheet.write_boolean(row_at, col, true),
                    (CellType::Flag, _, "false") => sheet.write_boolean(row_at, col, false),
                    _ => sheet.write_string(row_at, col, text),
                };
                written.map_err(|e| e.to_string())?;
            }
        }
    }
    workbook.save_to_buffer().map_err(|e| e.to_string())
}

/// Reads every worksheet of an XLSX workbook as the sheet its name gives.
pub fn read_xlsx(bytes: Vec<u8>) -> Result<Vec<Table>, Vec<ImportProblem>> {
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e| vec![problem("", None, format!("not an XLSX workbook: {e}"))])?;
    let mut tables = Vec::new();
    let mut problems = Vec::new();
    for name in workbook.sheet_names() {
        let Some(sheet) = Sheet::parse(&name) else {
            problems.push(problem(
                &name,
                None,
                format!("no such sheet; the sheets are {}", Sheet::expected()),
            ));
            continue;
        };
        let range = match workbook.worksheet_range(&name) {
            Ok(range) => range,
            Err(e) => {
                problems.push(problem(&name, None, format!("cannot be read: {e}")));
                continue;
            }
        };
        if range.is_empty() {
            problems.push(problem(
                &name,
                None,
                "the sheet is empty; the header row is missing",
            ));
            continue;
        }
        if range.start() != Some((0, 0)) {
            problems.push(problem(&name, Some(1), "the header must start in cell A1"));
            continue;
        }
        let mut rows = range
            .rows()
            .map(|cells| cells.iter().map(cell_text).collect::<Vec<_>>());
        let header = rows.next().unwrap_or_default();
        let rows: Vec<Vec<String>> = rows.collect();
        tables.push(Table {
            sheet,
            header: header.into_iter().take_while(|h| !h.is_empty()).collect(),
            rows,
        });
    }
    if problems.is_empty() {
        Ok(tables)
    } else {
        Err(problems)
    }
}

/// A cell as the text the layout reads: whole numbers without a fraction, a date a
/// spreadsheet program made of a typed date as `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => text.clone(),
        Data::Int(number) => number.to_string(),
        Data::Float(number) if number.fract() == 0.0 && number.abs() < 1e15 => {
            format!("{number:.0}")
        }
        Data::Float(number) => number.to_string(),
        Data::Bool(flag) => flag.to_string(),
        Data::DateTime(moment) => match moment.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.date().to_string(),
            Some(at) => at.to_string(),
            None => moment.to_string(),
        },
        Data::Error(error) => format!("#{error}"),
    }
}

/// The bytes of an export, produced a few hundred entries at a time as the reader
/// takes them, so that memory stays flat however large the catalog; every chunk comes
/// from the one catalog snapshot it was made with. An XLSX workbook is one chunk (the
/// format is a zip archive written whole).
pub struct ExportChunks {
    catalog: Arc<Catalog>,
    filter: ExportFilter,
    plan: ExportPlan,
    /// Entries looked at so far (exported or left out by the filter), for progress.
    done: usize,
}

enum ExportPlan {
    Csv {
        sheet: Sheet,
        next: Option<usize>,
    },
    Json {
        /// The kinds still to write, the first one under way.
        owners: std::collections::VecDeque<Owner>,
        /// The next entry of the first kind; `None` before its array is opened.
        next: Option<usize>,
        opened_any: bool,
        written_in_array: bool,
        done: bool,
    },
    Xlsx {
        done: bool,
    },
}

/// Entries per chunk of a streamed export.
const ENTRIES_PER_CHUNK: usize = 256;

impl ExportChunks {
    /// The export of `catalog` in `format`; a CSV export is of `sheet` alone.
    pub fn new(
        catalog: Arc<Catalog>,
        format: FileFormat,
        sheet: Option<Sheet>,
        filter: ExportFilter,
    ) -> Self {
        let plan = match (format, sheet) {
            (FileFormat::Csv, sheet) => ExportPlan::Csv {
                sheet: sheet.unwrap_or(Sheet::RecognitionItems),
                next: None,
            },
            (FileFormat::Json, _) => ExportPlan::Json {
                owners: Owner::ALL
                    .into_iter()
                    .filter(|o| filter.exports(*o))
                    .collect(),
                next: None,
                opened_any: false,
                written_in_array: false,
                done: false,
            },
            (FileFormat::Xlsx, _) => ExportPlan::Xlsx { done: false },
        };
        Self {
            catalog,
            filter,
            plan,
            done: 0,
        }
    }

    /// How many entries the export looks at in all, and how many it has so far.
    pub fn progress(&self) -> (usize, usize) {
        let owners: Vec<Owner> = match &self.plan {
            ExportPlan::Csv { sheet, .. } => vec![sheet.owner()],
            _ => Owner::ALL
                .into_iter()
                .filter(|o| self.filter.exports(*o))
                .collect(),
        };
        let total = owners.iter().map(|o| entry_count(&self.catalog, *o)).sum();
        (total, self.done.min(total))
    }
}

impl Iterator for ExportChunks {
    type Item = Result<Vec<u8>, String>;

    /// The next chunk, never an empty one: a transfer encoding may take an empty chunk
    /// for the end of the body (a stretch of entries the filter leaves out makes none).
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.step() {
                Some(Ok(bytes)) if bytes.is_empty() => continue,
                other => return other,
            }
        }
    }
}

impl ExportChunks {
    /// The next piece of the export, possibly empty.
    fn step(&mut self) -> Option<Result<Vec<u8>, String>> {
        let catalog = &*self.catalog;
        let filter = &self.filter;
        match &mut self.plan {
            ExportPlan::Csv { sheet, next } => {
                let Some(start) = *next else {
                    *next = Some(0);
                    return Some(Ok(csv_header(*sheet)));
                };
                let count = entry_count(catalog, sheet.owner());
                if start >= count {
                    return None;
                }
                let end = (start + ENTRIES_PER_CHUNK).min(count);
                *next = Some(end);
                self.done += end - start;
                let rows: Vec<Vec<String>> = (start..end)
                    .flat_map(|index| exported_rows(catalog, *sheet, index, filter))
                    .collect();
                Some(Ok(csv_rows(&rows)))
            }
            ExportPlan::Json {
                owners,
                next,
                opened_any,
                written_in_array,
                done,
            } => {
                if *done {
                    return None;
                }
                let Some(&owner) = owners.front() else {
                    *done = true;
                    return Some(Ok(json_end(*opened_any).as_bytes().to_vec()));
                };
                let Some(start) = *next else {
                    let text = json_array_start(owner, !*opened_any);
                    *opened_any = true;
                    *written_in_array = false;
                    *next = Some(0);
                    return Some(Ok(text.into_bytes()));
                };
                let count = entry_count(catalog, owner);
                let end = (start + ENTRIES_PER_CHUNK).min(count);
                self.done += end - start;
                let mut bytes = Vec::new();
                for index in start..end {
                    if let Some(entry) = exported_entry(catalog, owner, index, filter) {
                        bytes.extend_from_slice(if *written_in_array { b",\n" } else { b"\n" });
                        serde_json::to_writer(&mut bytes, &entry).expect("writing to memory");
                        *written_in_array = true;
                    }
                }
                if end >= count {
                    owners.pop_front();
                    *next = None;
                } else {
                    *next = Some(end);
                }
                Some(Ok(bytes))
            }
            ExportPlan::Xlsx { done } => {
                if *done {
                    return None;
                }
                *done = true;
                self.done = usize::MAX;
                Some(write_xlsx(&export_tables(catalog, filter)))
            }
        }
    }
}

/// The JSON document's text before the entries of `owner`: the opening of the
/// document or the end of the previous array, then the array's name.
fn json_array_start(owner: Owner, first: bool) -> String {
    let before = if first { "{" } else { "\n],\n" };
    format!("{before}\"{}\": [", owner.json_key())
}

/// The end of the JSON document, after the last array (or `{}` when it has none).
fn json_end(any_array: bool) -> &'static str {
    if any_array { "\n]\n}\n" } else { "{}\n" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::CatalogContent;
    use crate::domain::test_support::sample;

    /// The sample catalog with `copies` more recognition items (new codes and local
    /// codes), so that an export spans many chunks.
    fn large_catalog(copies: usize) -> Arc<Catalog> {
        let mut content = sample();
        let originals = content.recognition_items.clone();
        for i in 0..copies {
            let mut item = originals[i % originals.len()].clone();
            item.code = format!("RI-GEN-{i:05}");
            item.superseded_by = None;
            for part in &mut item.local_parts {
                if let Some(code) = &mut part.local_code {
                    code.push_str(&format!("-G{i:05}"));
                }
            }
            content.recognition_items.push(item);
        }
        Arc::new(Catalog::build(content).unwrap())
    }

    fn chunks_of(
        catalog: &Arc<Catalog>,
        format: FileFormat,
        sheet: Option<Sheet>,
        filter: ExportFilter,
    ) -> Vec<Vec<u8>> {
        ExportChunks::new(Arc::clone(catalog), format, sheet, filter)
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_filtered_export_spanning_many_chunks_is_whole_and_has_no_empty_chunk() {
        let catalog = large_catalog(1000);
        let sector = catalog.recognition_items()[0].sector.clone();
        let filter = ExportFilter {
            sector: Some(sector.clone()),
            ..ExportFilter::default()
        };
        let expected: Vec<&str> = catalog
            .recognition_items()
            .iter()
            .filter(|i| i.sector == sector)
            .map(|i| i.code.as_str())
            .collect();
        assert!(expected.len() < catalog.recognition_items().len() / 2);

        let json = chunks_of(&catalog, FileFormat::Json, None, filter.clone());
        assert!(json.iter().all(|chunk| !chunk.is_empty()));
        let document: serde_json::Value = serde_json::from_slice(&json.concat()).unwrap();
        let codes: Vec<&str> = document["recognition_items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, expected);
        assert_eq!(
            document["batches"].as_array().unwrap().len(),
            catalog.batches().len()
        );

        let csv = chunks_of(
            &catalog,
            FileFormat::Csv,
            Some(Sheet::RecognitionItems),
            filter,
        );
        assert!(csv.len() > 2 && csv.iter().all(|chunk| !chunk.is_empty()));
        let table = read_csv(Sheet::RecognitionItems, &csv.concat()).unwrap();
        assert_eq!(
            table.rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn an_empty_catalog_exports_a_document_of_empty_arrays_and_a_header() {
        let content = CatalogContent {
            regions: sample().regions,
            sectors: sample().sectors,
            programmes: sample().programmes,
            ..CatalogContent::default()
        };
        let catalog = Arc::new(Catalog::build(content).unwrap());
        let json = chunks_of(&catalog, FileFormat::Json, None, ExportFilter::default());
        assert!(json.iter().all(|chunk| !chunk.is_empty()));
        let document: serde_json::Value = serde_json::from_slice(&json.concat()).unwrap();
        assert_eq!(
            document,
            serde_json::json!({"batches": [], "recognition_items": [], "standard_items": [], "scenarios": [], "targets": []})
        );
        let csv = chunks_of(
            &catalog,
            FileFormat::Csv,
            Some(Sheet::Targets),
            ExportFilter::default(),
        );
        assert_eq!(csv, vec![csv_header(Sheet::Targets)]);
    }
}
