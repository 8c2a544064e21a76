//! Bulk import (批量导入): a file read against the catalog, checked as a whole and
//! reported row by row; loaded into a registry whose catalog is still empty.
//!
//! Importing into a catalog that already has entries changes shared content, which
//! only a jointly approved proposal may do; that path (one proposal per import, the
//! importing region's own sides edited directly) builds on [`check_import`]'s report.

use chrono::Utc;
use diesel::Connection;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::catalog::{CatalogContent, validate_catalog};
use crate::domain::exchange::{
    Assembled, EntryRows, FileFormat, ImportProblem, Owner, Sheet, assemble_json,
    assemble_tables, exchanged_entry,
};
use crate::formats::{read_csv, read_xlsx};
use crate::storage::catalog::{insert_catalog, load_catalog, lock_catalog_for_write};
use crate::storage::{DbConnection, StorageError};

/// An import file as received.
#[derive(Debug, Clone)]
pub struct ImportFile {
    /// Its format.
    pub format: FileFormat,
    /// The sheet a CSV file holds (CSV holds one).
    pub sheet: Option<Sheet>,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What an import does to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    /// The entry is new.
    Created,
    /// The entry changes.
    Changed,
    /// The file gives the entry as the catalog has it.
    Unchanged,
}

/// One entry the file names, and what importing it would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportedEntry {
    /// Its kind, as the JSON export's array names it (`recognition_items`, …).
    #[schema(example = "recognition_items")]
    pub kind: &'static str,
    /// Its code.
    #[schema(example = "RI-CON-002")]
    pub code: String,
    /// What the import does to it.
    pub outcome: ImportOutcome,
    /// Whether its shared fields (everything but the local parts) change: such a
    /// change needs the joint approval of the regions taking part.
    pub shared_changed: bool,
    /// The regions whose own side (local part) is added or changes.
    #[schema(value_type = Vec<String>, example = json!(["TJ"]))]
    pub local_parts_changed: Vec<String>,
}

/// What an import file would do, or why it cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Every entry the file names, in the order of the export.
    pub entries: Vec<ImportedEntry>,
    /// Every problem found; the file can be imported only when there is none.
    pub problems: Vec<ImportProblem>,
}

impl ImportReport {
    /// Whether the file can be imported.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }

    fn refused(problems: Vec<ImportProblem>) -> Self {
        Self {
            entries: Vec::new(),
            problems,
        }
    }
}

/// Reads `file` against `base` and checks the catalog it would make against every
/// catalog rule: the report of a dry run. Returns the catalog it would make when the
/// file is valid.
pub fn check_import(
    base: &CatalogContent,
    file: &ImportFile,
) -> (ImportReport, Option<CatalogContent>) {
    let assembled = match read_file(base, file) {
        Ok(assembled) => assembled,
        Err(problems) => return (ImportReport::refused(problems), None),
    };
    let (Assembled { next, named }, rows) = assembled;
    if let Err(problems) = validate_catalog(&next) {
        let problems = problems.iter().map(|p| rows.place(p)).collect();
        return (ImportReport::refused(problems), None);
    }
    let entries = named
        .iter()
        .map(|(owner, code)| imported_entry(base, &next, *owner, code))
        .collect();
    (
        ImportReport {
            entries,
            problems: Vec::new(),
        },
        Some(next),
    )
}

fn read_file(
    base: &CatalogContent,
    file: &ImportFile,
) -> Result<(Assembled, EntryRows), Vec<ImportProblem>> {
    match file.format {
        FileFormat::Csv => {
            let sheet = file.sheet.ok_or_else(|| {
                vec![ImportProblem {
                    sheet: String::new(),
                    row: None,
                    column: None,
                    value: None,
                    problem: format!(
                        "a CSV file holds one sheet; name it ({})",
                        Sheet::expected()
                    ),
                }]
            })?;
            assemble_tables(base, &[read_csv(sheet, &file.bytes)?])
        }
        FileFormat::Xlsx => assemble_tables(base, &read_xlsx(file.bytes.clone())?),
        FileFormat::Json => {
            let document: Value = serde_json::from_slice(&file.bytes).map_err(|e| {
                vec![ImportProblem {
                    sheet: String::new(),
                    row: Some(e.line()),
                    column: None,
                    value: None,
                    problem: format!("not valid JSON: {e}"),
                }]
            })?;
            assemble_json(base, &document)
        }
    }
}

/// The travelling JSON of entry `code` of kind `owner` in `content`, if it has one.
fn entry_json(content: &CatalogContent, owner: Owner, code: &str) -> Option<Value> {
    match owner {
        Owner::Batch => content.batches.iter().find(|e| e.code == code).map(exchanged_entry),
        Owner::RecognitionItem => (content.recognition_items.iter())
            .find(|e| e.code == code)
            .map(exchanged_entry),
        Owner::StandardItem => (content.standard_items.iter())
            .find(|e| e.code == code)
            .map(exchanged_entry),
        Owner::Scenario => (content.scenarios.iter())
            .find(|e| e.code == code)
            .map(exchanged_entry),
        Owner::Target => content.targets.iter().find(|e| e.code == code).map(exchanged_entry),
    }
}

fn imported_entry(
    base: &CatalogContent,
    next: &CatalogContent,
    owner: Owner,
    code: &str,
) -> ImportedEntry {
    let after = entry_json(next, owner, code).unwrap_or_default();
    let (shared_after, parts_after) = split_local_parts(after);
    let (outcome, shared_changed, local_parts_changed) = match entry_json(base, owner, code) {
        None => (
            ImportOutcome::Created,
            true,
            parts_after.iter().map(|(region, _)| region.clone()).collect(),
        ),
        Some(before) => {
            let (shared_before, parts_before) = split_local_parts(before);
            let changed_regions: Vec<String> = parts_after
                .iter()
                .filter(|part| !parts_before.contains(part))
                .map(|(region, _)| region.clone())
                .collect();
            let shared_changed = shared_before != shared_after;
            let outcome = if shared_changed || !changed_regions.is_empty() {
                ImportOutcome::Changed
            } else {
                ImportOutcome::Unchanged
            };
            (outcome, shared_changed, changed_regions)
        }
    };
    ImportedEntry {
        kind: owner.json_key(),
        code: code.to_owned(),
        outcome,
        shared_changed,
        local_parts_changed,
    }
}

/// An entry's shared fields and its local parts by region.
fn split_local_parts(mut entry: Value) -> (Value, Vec<(String, Value)>) {
    let parts = entry
        .as_object_mut()
        .and_then(|fields| fields.shift_remove("local_parts"))
        .and_then(|parts| match parts {
            Value::Array(parts) => Some(parts),
            _ => None,
        })
        .unwrap_or_default();
    let parts = parts
        .into_iter()
        .map(|part| {
            let region = part
                .get("region")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            (region, part)
        })
        .collect();
    (entry, parts)
}

/// Why a file was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file has problems; nothing was written.
    #[error("the file has {} problem(s); nothing was imported", .0.problems.len())]
    Invalid(ImportReport),
    /// The catalog already has entries: changing them needs joint approval.
    #[error(
        "the catalog already has entries; importing into it changes shared content, which needs the joint approval of the regions (check the file with --dry-run)"
    )]
    NotEmpty,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for LoadError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Storage(error.into())
    }
}

/// Checks `file` against the catalog in the database and, unless `dry_run`, loads it
/// into the catalog in one transaction, which must find the catalog empty: the first
/// import of a new registry, a migration or a restore from an export.
pub fn load_into_empty(
    conn: &mut DbConnection,
    file: &ImportFile,
    dry_run: bool,
) -> Result<ImportReport, LoadError> {
    conn.transaction(|conn| {
        if !dry_run {
            lock_catalog_for_write(conn)?;
        }
        let base = load_catalog(conn)?;
        let (report, next) = check_import(&base, file);
        let Some(next) = next else {
            return Err(LoadError::Invalid(report));
        };
        if dry_run {
            return Ok(report);
        }
        let empty = base.batches.is_empty()
            && base.recognition_items.is_empty()
            && base.standard_items.is_empty()
            && base.scenarios.is_empty()
            && base.targets.is_empty();
        if !empty {
            return Err(LoadError::NotEmpty);
        }
        insert_catalog(conn, &next, Utc::now())?;
        Ok(report)
    })
}
