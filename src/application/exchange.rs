//! Bulk import (批量导入): a file read against the catalog, checked as a whole and
//! reported row by row, then carried out as the regions' rules allow: over HTTP, the
//! importing region's own sides at once and every shared change as one proposal for
//! joint approval ([`UseCases::import`]); from the command line, only into a catalog
//! that is still empty ([`load_into_empty`]).

use chrono::Utc;
use diesel::Connection;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::proposals::record_proposal_up_to;
use super::{BodyProblem, ReadPart, ReplacePart, UseCaseError, UseCases, WriteRequest, action};
use crate::domain::audit::{AuditEntry, Outcome};
use crate::domain::bulk_import::{
    ImportPlan, ImportRefusal, LocalPartImport, MAX_IMPORT_CHANGES, plan_import, split_local_parts,
};
use crate::domain::catalog::{CatalogContent, validate_catalog};
use crate::domain::change::{ChangeKind, ChangedEntryKind, NewChange};
use crate::domain::exchange::{
    Assembled, EntryIndex, EntryRows, FileFormat, ImportProblem, Owner, Sheet, assemble_json,
    assemble_tables,
};
use crate::domain::governance::{InvalidEdit, Principal, Role, require_role};
use crate::domain::proposal::{ProposalDraft, plan_up_to};
use crate::domain::read_model::in_region_order;
use crate::domain::region::RegionCode;
use crate::formats::{read_csv, read_xlsx};
use crate::storage::catalog::{
    insert_catalog, load_catalog, lock_catalog_for_write, recognition_local_part,
    replace_recognition_local_part, replace_standard_local_part, standard_local_part,
};
use crate::storage::{DbConnection, StorageError, audit, changes};

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Every entry the file creates or changes, in the order of the export.
    pub entries: Vec<ImportedEntry>,
    /// How many entries the file gives as the catalog has them.
    pub unchanged: usize,
    /// Every problem found; the file can be imported only when there is none.
    pub problems: Vec<ImportProblem>,
    /// Whether the problems are of the file as a whole (not a file of the layout),
    /// which even a dry run refuses rather than reports.
    pub unreadable: bool,
}

impl ImportReport {
    fn refused(problems: Vec<ImportProblem>) -> Self {
        Self {
            entries: Vec::new(),
            unchanged: 0,
            problems,
            unreadable: false,
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
        Err((problems, unreadable)) => {
            let mut report = ImportReport::refused(problems);
            report.unreadable = unreadable;
            return (report, None);
        }
    };
    let (Assembled { mut next, named }, rows) = assembled;
    in_region_order(&mut next);
    if let Err(problems) = validate_catalog(&next) {
        let problems = problems.iter().map(|p| rows.place(p)).collect();
        return (ImportReport::refused(problems), None);
    }
    let (in_base, in_next) = (EntryIndex::of(base), EntryIndex::of(&next));
    let (entries, unchanged): (Vec<ImportedEntry>, Vec<ImportedEntry>) = named
        .iter()
        .map(|(owner, code)| {
            let before = in_base.entry(base, *owner, code).map(|(entry, _)| entry);
            let after = in_next.entry(&next, *owner, code).map(|(entry, _)| entry);
            imported_entry(before, after.unwrap_or_default(), *owner, code)
        })
        .partition(|entry| entry.outcome != ImportOutcome::Unchanged);
    (
        ImportReport {
            entries,
            unchanged: unchanged.len(),
            problems: Vec::new(),
            unreadable: false,
        },
        Some(next),
    )
}

/// Reads `file` against `base`. A problem is the file's as a whole (`true`: it is not a
/// file of the layout at all: not CSV, XLSX or JSON, a wrong header, an unknown sheet)
/// or its content's (a cell, a row, an entry).
fn read_file(
    base: &CatalogContent,
    file: &ImportFile,
) -> Result<(Assembled, EntryRows), (Vec<ImportProblem>, bool)> {
    let unreadable = |problems| (problems, true);
    let assembled = match file.format {
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
            });
            let table = sheet
                .and_then(|sheet| read_csv(sheet, &file.bytes))
                .map_err(unreadable)?;
            assemble_tables(base, &[table])
        }
        FileFormat::Xlsx => {
            assemble_tables(base, &read_xlsx(file.bytes.clone()).map_err(unreadable)?)
        }
        FileFormat::Json => {
            let document: Value = serde_json::from_slice(&file.bytes)
                .map_err(|e| {
                    vec![ImportProblem {
                        sheet: String::new(),
                        row: Some(e.line()),
                        column: None,
                        value: None,
                        problem: format!("not valid JSON: {e}"),
                    }]
                })
                .map_err(unreadable)?;
            return assemble_json(base, &document).map_err(|problems| {
                // Problems of no one entry are the document's shape.
                let whole = problems.iter().any(|p| p.row.is_none());
                (problems, whole)
            });
        }
    };
    // The header is row 1; problems of no row are of a sheet.
    assembled.map_err(|problems| {
        let whole = problems.iter().any(|p| p.row.is_none_or(|row| row < 2));
        (problems, whole)
    })
}

/// What importing entry `code` does: `before` as the catalog has it (if it does),
/// `after` as the file makes it, both as they travel.
fn imported_entry(before: Option<Value>, after: Value, owner: Owner, code: &str) -> ImportedEntry {
    let (shared_after, parts_after) = split_local_parts(after);
    let (outcome, shared_changed, local_parts_changed) = match before {
        None => (
            ImportOutcome::Created,
            true,
            parts_after
                .iter()
                .map(|(region, _)| region.clone())
                .collect(),
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

/// The catalog as stored, its lists of regions in the order every answer (and so
/// every export) shows them, so that a file differing only in that order changes
/// nothing.
fn canonical_catalog(conn: &mut DbConnection) -> Result<CatalogContent, StorageError> {
    let mut content = load_catalog(conn)?;
    in_region_order(&mut content);
    Ok(content)
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
        let base = canonical_catalog(conn)?;
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

/// A bulk import as received over HTTP.
#[derive(Debug)]
pub struct ImportRequest {
    /// The request id, for the audit log.
    pub request_id: String,
    /// Every `Authorization` header value sent.
    pub authorization: Vec<Vec<u8>>,
    /// Whether to write (`false`: only check and report), or why the path or query
    /// cannot be taken; refused (and audited) like any other bad request.
    pub dry_run: Result<bool, UseCaseError>,
    /// The file, or why its body could not be read.
    pub file: Result<ImportFile, (BodyProblem, String)>,
}

/// The proposal an import makes of its shared changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportProposal {
    /// The proposal's number; `null` in a dry run.
    #[schema(example = 12)]
    pub id: Option<i64>,
    /// How many shared changes it carries.
    #[schema(example = 3)]
    pub changes: usize,
    /// The regions whose approval it needs.
    #[schema(value_type = Vec<String>, example = json!(["BJ", "TJ"]))]
    pub participants: Vec<RegionCode>,
}

/// What an import did or, in a dry run, would do; or, with problems, why it cannot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "dry_run": true,
    "entries": [{"kind": "recognition_items", "code": "RI-CON-001", "outcome": "changed",
        "shared_changed": false, "local_parts_changed": ["TJ"]}],
    "unchanged": 75,
    "local_parts": [{"kind": "recognition_items", "code": "RI-CON-001", "region": "TJ"}],
    "proposal": null,
    "problems": []
}))]
pub struct ImportResult {
    /// Whether this was only a check.
    pub dry_run: bool,
    /// Every entry the file creates or changes, and how.
    pub entries: Vec<ImportedEntry>,
    /// How many entries the file gives as the catalog has them.
    #[schema(example = 75)]
    pub unchanged: usize,
    /// The importing region's own sides changed directly (at once, or in a dry run
    /// when imported).
    pub local_parts: Vec<LocalPartImport>,
    /// The one proposal of the shared changes, which applies when every
    /// participating region approves; `null` when nothing shared changes.
    pub proposal: Option<ImportProposal>,
    /// Every problem found (a dry run reports them; a real import is refused with them).
    pub problems: Vec<ImportProblem>,
}

/// Why an import is refused, in the words of its problems.
fn refusal(problems: &[ImportProblem], forbidden: bool) -> UseCaseError {
    let listed: Vec<(String, String)> = problems
        .iter()
        .map(|p| (p.place(), p.description()))
        .collect();
    if forbidden {
        UseCaseError::NotAllowed(
            listed
                .iter()
                .map(|(place, problem)| format!("{place}: {problem}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    } else {
        UseCaseError::InvalidChange(InvalidEdit { problems: listed })
    }
}

/// Reads and plans an import against the catalog as it is in `conn`: the report,
/// the plan when the file is valid, and whether a refusal is one of region.
fn plan_file(
    conn: &mut DbConnection,
    file: &ImportFile,
    region: &RegionCode,
) -> Result<(ImportReport, Result<ImportPlan, ImportRefusal>), UseCaseError> {
    let base = canonical_catalog(conn)?;
    let (report, next) = check_import(&base, file);
    if report.unreadable {
        // Not a file of the layout: refused even in a dry run, whose report is about
        // what a file of the layout would do.
        return Err(refusal(&report.problems, false));
    }
    let Some(next) = next else {
        let problems = report.problems.clone();
        let refusal = ImportRefusal {
            problems,
            forbidden: false,
        };
        return Ok((report, Err(refusal)));
    };
    let named: Vec<(Owner, String)> = report
        .entries
        .iter()
        .filter_map(|e| {
            Owner::ALL
                .into_iter()
                .find(|o| o.json_key() == e.kind)
                .map(|o| (o, e.code.clone()))
        })
        .collect();
    let plan = plan_import(&base, &next, &named, region);
    Ok((report, plan))
}

impl UseCases {
    /// Imports a file: an editor's token; the file read against the current catalog
    /// and checked whole; the token's region's own sides changed at once and every
    /// shared change gathered into one proposal for joint approval, all in one
    /// transaction, or nothing. A dry run reports the same without writing.
    pub async fn import(&self, request: ImportRequest) -> Result<ImportResult, UseCaseError> {
        self.fresh_keys(&request.authorization).await;
        let write = WriteRequest {
            request_id: request.request_id.clone(),
            authorization: request.authorization.clone(),
            if_match: None,
            query: String::new(),
            body: Ok(Value::Null),
        };
        let audit = self.audit_entry(&write, action::IMPORT, None, None);
        let ImportRequest { dry_run, file, .. } = request;
        let authorization = write.authorization.clone();
        let check = move || -> Result<(Principal, ImportFile, bool), UseCaseError> {
            let principal = self.authenticate(&authorization)?;
            let dry_run = dry_run?;
            require_role(&principal, Role::Editor)?;
            let file = file.map_err(|(problem, message)| UseCaseError::Body(problem, message))?;
            Ok((principal, file, dry_run))
        };
        let checked = match check() {
            Ok(checked) => checked,
            Err(error) => return Err(self.refused(audit, error).await),
        };
        if checked.2 {
            let (principal, file, _) = checked;
            // A dry run writes nothing; its refusals are audited like any other.
            return match self
                .registry
                .database()
                .run(move |conn| dry_run_import(conn, &principal, &file))
                .await
            {
                Ok(result) => Ok(result),
                Err(error) => Err(self.refused(audit, error).await),
            };
        }
        self.carry_out(
            audit,
            || Ok(checked),
            move |conn, (principal, file, _), accepted| {
                import_file(conn, &principal, &file, accepted)
            },
        )
        .await
    }
}

fn dry_run_import(
    conn: &mut DbConnection,
    principal: &Principal,
    file: &ImportFile,
) -> Result<ImportResult, UseCaseError> {
    let (report, plan) = plan_file(conn, file, &principal.region)?;
    let mut result = ImportResult {
        dry_run: true,
        entries: report.entries,
        unchanged: report.unchanged,
        local_parts: Vec::new(),
        proposal: None,
        problems: Vec::new(),
    };
    match plan {
        Err(refused) => result.problems = refused.problems,
        Ok(plan) => {
            if !plan.changes.is_empty() {
                let content = load_catalog(conn)?;
                let draft = import_draft(principal, file, &plan);
                match plan_up_to(&content, &draft, MAX_IMPORT_CHANGES) {
                    Ok(planned) => {
                        result.proposal = Some(ImportProposal {
                            id: None,
                            changes: planned.changes.len(),
                            participants: planned.participants,
                        });
                    }
                    Err(error) => {
                        result.problems.push(ImportProblem {
                            sheet: String::new(),
                            row: None,
                            column: None,
                            value: None,
                            problem: UseCaseError::from(error).audit_reason(),
                        });
                    }
                }
            }
            result.local_parts = plan.local_parts;
        }
    }
    Ok(result)
}

/// The proposal of an import's shared changes.
fn import_draft(principal: &Principal, file: &ImportFile, plan: &ImportPlan) -> ProposalDraft {
    ProposalDraft {
        title: format!(
            "Bulk import of {} shared change(s) from a {} file",
            plan.changes.len(),
            file.format
        ),
        rationale: Some(format!(
            "Imported by {} of {}{}.",
            principal.subject,
            principal.region,
            file.sheet
                .map(|sheet| format!(" (sheet {sheet})"))
                .unwrap_or_default()
        )),
        batch: plan.batch.clone(),
        changes: plan.changes.clone(),
    }
}

fn import_file(
    conn: &mut DbConnection,
    principal: &Principal,
    file: &ImportFile,
    mut audit: AuditEntry,
) -> Result<(ImportResult, Option<i64>), UseCaseError> {
    lock_catalog_for_write(conn)?;
    let (report, plan) = plan_file(conn, file, &principal.region)?;
    let plan = plan.map_err(|refused| refusal(&refused.problems, refused.forbidden))?;
    if plan.changes.is_empty() && plan.local_parts.is_empty() {
        // Idempotent: the file says what the catalog says.
        return Ok((
            ImportResult {
                dry_run: false,
                entries: report.entries,
                unchanged: report.unchanged,
                local_parts: Vec::new(),
                proposal: None,
                problems: Vec::new(),
            },
            None,
        ));
    }
    // The proposal first: it is planned against the versions the file was read
    // against, and a side edited below does not change the shared content it replays.
    let proposal = if plan.changes.is_empty() {
        None
    } else {
        let mut proposing = audit.clone();
        proposing.action = action::PROPOSE;
        let draft = import_draft(principal, file, &plan);
        let proposal =
            record_proposal_up_to(conn, principal, &draft, proposing, MAX_IMPORT_CHANGES)?;
        Some(ImportProposal {
            id: Some(proposal.id),
            changes: proposal.changes.len(),
            participants: proposal.participants,
        })
    };
    let now = Utc::now();
    let mut feed = Vec::new();
    for side in &plan.local_parts {
        let version = replace_side(conn, side, now)?;
        let kind = if side.kind == Owner::StandardItem.json_key() {
            ChangedEntryKind::StandardItem
        } else {
            ChangedEntryKind::RecognitionItem
        };
        feed.push(
            NewChange::entry(ChangeKind::LocalPartChanged, kind, &side.code, version)
                .in_region(&side.region)
                .by_actor(Some(principal.subject.as_str())),
        );
    }
    let generation = if feed.is_empty() {
        None
    } else {
        Some(changes::record(conn, &feed, now)?)
    };
    let result = ImportResult {
        dry_run: false,
        entries: report.entries,
        unchanged: report.unchanged,
        local_parts: plan.local_parts,
        proposal,
        problems: Vec::new(),
    };
    audit.recorded_at = now;
    // An import acts for its token's region: its own sides, and a proposal by it.
    audit.target_region = Some(principal.region.to_string());
    audit.outcome = Outcome::Accepted;
    audit.status = 200;
    audit.change = Some((
        String::new(),
        serde_json::to_string(&result).map_err(|e| StorageError::Corrupt(e.to_string()))?,
    ));
    audit::append(conn, audit)?;
    Ok((result, generation))
}

/// Replaces the importing region's side with the imported one; its new version.
fn replace_side(
    conn: &mut DbConnection,
    side: &LocalPartImport,
    now: chrono::DateTime<Utc>,
) -> Result<i64, UseCaseError> {
    fn replace<P: serde::de::DeserializeOwned>(
        conn: &mut DbConnection,
        side: &LocalPartImport,
        now: chrono::DateTime<Utc>,
        read: ReadPart<P>,
        write: ReplacePart<P>,
    ) -> Result<i64, UseCaseError> {
        let part: P = serde_json::from_value(side.part.clone())
            .map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let (_, version) = read(conn, &side.code, &side.region)?.ok_or_else(|| {
            UseCaseError::Conflict(format!("{}'s side of {} is gone", side.region, side.code))
        })?;
        write(conn, &side.code, &part, version, now.naive_utc())
            .map_err(|error| {
                if error.is_unique_violation() {
                    UseCaseError::Conflict(format!(
                        "another entry already uses this local code in {}",
                        side.region
                    ))
                } else {
                    UseCaseError::Storage(error)
                }
            })?
            .ok_or_else(|| {
                UseCaseError::Conflict(format!(
                    "{}'s side of {} changed during the import",
                    side.region, side.code
                ))
            })
    }
    if side.kind == Owner::StandardItem.json_key() {
        replace(
            conn,
            side,
            now,
            standard_local_part,
            replace_standard_local_part,
        )
    } else {
        replace(
            conn,
            side,
            now,
            recognition_local_part,
            replace_recognition_local_part,
        )
    }
}
