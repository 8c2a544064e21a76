//! Entry history rows: each entry's version as it was when a change made it, written in
//! that change's transaction by [`record`] (called by the feed's `record`), and read
//! back by version or as the registry knew it at a moment.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use super::catalog::{EntrySelection, load_entries, load_reference_data, to_json};
use super::schema::entry_versions;
use super::{DbConnection, StorageError};
use crate::domain::catalog::CatalogContent;
use crate::domain::change::{ChangeKind, ChangedEntryKind, NewChange};
use crate::domain::history::{EntryVersion, VersionInfo};
use crate::domain::region::RegionCode;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = entry_versions)]
struct VersionRow {
    entry_kind: String,
    entry_code: String,
    version: i64,
    seq: i64,
    recorded_at: NaiveDateTime,
    change_kind: String,
    region_code: Option<String>,
    proposal_id: Option<i64>,
    actor: Option<String>,
    content: String,
}

impl VersionRow {
    fn into_domain(self) -> Result<EntryVersion, StorageError> {
        let corrupt = |what: &str| {
            StorageError::Corrupt(format!(
                "version {} of {} {}: invalid {what}",
                self.version, self.entry_kind, self.entry_code
            ))
        };
        let entry_kind =
            ChangedEntryKind::parse(&self.entry_kind).ok_or_else(|| corrupt("entry kind"))?;
        let info = VersionInfo {
            version: self.version,
            seq: self.seq,
            recorded_at: self.recorded_at.and_utc(),
            change: ChangeKind::parse(&self.change_kind).ok_or_else(|| corrupt("change kind"))?,
            region: self
                .region_code
                .as_deref()
                .map(|code| RegionCode::parse(code).map_err(|_| corrupt("region")))
                .transpose()?,
            proposal: self.proposal_id,
            actor: self.actor.clone(),
            batch: None,
        };
        let entry: Value = serde_json::from_str(&self.content).map_err(|_| corrupt("content"))?;
        Ok(EntryVersion::new(info, entry_kind, entry))
    }
}

/// How a version came to be: the change of the feed that made it.
struct Cause {
    seq: i64,
    recorded_at: NaiveDateTime,
    kind: ChangeKind,
    region: Option<String>,
    proposal: Option<i64>,
    actor: Option<String>,
}

/// Records the version that each entry named by `recorded` (feed numbers with their
/// changes, in order) has now; the entry's last change there made it. Proposals have no
/// entry history (their own record keeps their votes).
pub(super) fn record(
    conn: &mut DbConnection,
    recorded: &[(i64, &NewChange)],
    recorded_at: NaiveDateTime,
) -> Result<(), StorageError> {
    let mut causes: HashMap<(ChangedEntryKind, &str), Cause> = HashMap::new();
    let mut selection = EntrySelection::default();
    for &(seq, change) in recorded {
        if change.entry_kind == ChangedEntryKind::Proposal {
            continue;
        }
        let cause = Cause {
            seq,
            recorded_at,
            kind: change.kind,
            region: change.region.as_ref().map(ToString::to_string),
            proposal: change.proposal,
            actor: change.actor.clone(),
        };
        if causes
            .insert((change.entry_kind, change.entry_code.as_str()), cause)
            .is_none()
        {
            selection.add(change.entry_kind, &change.entry_code);
        }
    }
    if causes.is_empty() {
        return Ok(());
    }
    let content = load_entries(conn, &selection)?;
    let rows = snapshots(&content)?
        .into_iter()
        .map(|(kind, code, version, content)| {
            let cause = causes.get(&(kind, code)).ok_or_else(|| {
                StorageError::Corrupt(format!("{kind} {code} was loaded but not asked for"))
            })?;
            Ok(row(kind, code, version, content, cause))
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    insert(conn, &rows)
}

/// Gives the entries of a database that held them before it kept history their
/// current version, caused by the last change the feed has for each. Does nothing once
/// any version is recorded. Returns how many versions it recorded.
pub fn backfill(conn: &mut DbConnection) -> Result<usize, StorageError> {
    let recorded = |conn: &mut DbConnection| -> Result<bool, StorageError> {
        let any: Option<i64> = entry_versions::table
            .select(entry_versions::seq)
            .first(conn)
            .optional()?;
        Ok(any.is_some())
    };
    // Every start asks; only a database without history takes the write lock.
    if recorded(conn)? {
        return Ok(0);
    }
    conn.transaction(|conn| {
        super::catalog::lock_catalog_for_write(conn)?;
        if recorded(conn)? {
            return Ok(0);
        }
        let content = super::catalog::load_catalog(conn)?;
        let feed = super::changes::after(conn, 0, i64::MAX)?;
        let causes: HashMap<(ChangedEntryKind, &str), Cause> = feed
            .iter()
            .map(|change| {
                let cause = Cause {
                    seq: change.seq,
                    recorded_at: change.recorded_at.naive_utc(),
                    kind: change.kind,
                    region: change.region.as_ref().map(ToString::to_string),
                    proposal: change.proposal,
                    actor: None,
                };
                ((change.entry_kind, change.entry_code.as_str()), cause)
            })
            .collect();
        let mut rows = Vec::new();
        for (kind, code, version, content) in snapshots(&content)? {
            // The 0008 migration gave every entry a change; one without is not history.
            if let Some(cause) = causes.get(&(kind, code)) {
                rows.push(row(kind, code, version, content, cause));
            }
        }
        insert(conn, &rows)?;
        Ok(rows.len())
    })
}

fn row(
    kind: ChangedEntryKind,
    code: &str,
    version: i64,
    content: String,
    cause: &Cause,
) -> VersionRow {
    VersionRow {
        entry_kind: kind.as_str().to_owned(),
        entry_code: code.to_owned(),
        version,
        seq: cause.seq,
        recorded_at: cause.recorded_at,
        change_kind: cause.kind.as_str().to_owned(),
        region_code: cause.region.clone(),
        proposal_id: cause.proposal,
        actor: cause.actor.clone(),
        content,
    }
}

/// Every entry of `content` with its kind, code, version and JSON (a batch is version 1).
fn snapshots(
    content: &CatalogContent,
) -> Result<Vec<(ChangedEntryKind, &str, i64, String)>, StorageError> {
    let mut all = Vec::new();
    for batch in &content.batches {
        all.push((
            ChangedEntryKind::Batch,
            batch.code.as_str(),
            1,
            to_json(batch)?,
        ));
    }
    for item in &content.recognition_items {
        all.push((
            ChangedEntryKind::RecognitionItem,
            item.code.as_str(),
            item.version,
            to_json(item)?,
        ));
    }
    for item in &content.standard_items {
        all.push((
            ChangedEntryKind::StandardItem,
            item.code.as_str(),
            item.version,
            to_json(item)?,
        ));
    }
    for scenario in &content.scenarios {
        all.push((
            ChangedEntryKind::Scenario,
            scenario.code.as_str(),
            scenario.version,
            to_json(scenario)?,
        ));
    }
    for target in &content.targets {
        all.push((
            ChangedEntryKind::Target,
            target.code.as_str(),
            target.version,
            to_json(target)?,
        ));
    }
    Ok(all)
}

/// Inserts one row per statement (diesel's multi-backend connection has no multi-row
/// insert). A version recorded twice is a write that changed an entry without making a
/// new version: the primary key refuses it, and the write fails rather than rewrite
/// history.
fn insert(conn: &mut DbConnection, rows: &[VersionRow]) -> Result<(), StorageError> {
    for row in rows {
        diesel::insert_into(entry_versions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Every version of an entry, oldest first (empty when there is no such entry).
pub fn versions(
    conn: &mut DbConnection,
    kind: ChangedEntryKind,
    code: &str,
) -> Result<Vec<EntryVersion>, StorageError> {
    entry_versions::table
        .filter(entry_versions::entry_kind.eq(kind.as_str()))
        .filter(entry_versions::entry_code.eq(code))
        .order(entry_versions::version)
        .select(VersionRow::as_select())
        .load(conn)?
        .into_iter()
        .map(VersionRow::into_domain)
        .collect()
}

/// One version of an entry, if it exists.
pub fn version(
    conn: &mut DbConnection,
    kind: ChangedEntryKind,
    code: &str,
    version: i64,
) -> Result<Option<EntryVersion>, StorageError> {
    entry_versions::table
        .find((kind.as_str(), code, version))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()?
        .map(VersionRow::into_domain)
        .transpose()
}

/// The last change of the feed recorded at or before `at` (0 when none): what the
/// registry knew at that moment is everything up to it.
pub fn seq_known_at(conn: &mut DbConnection, at: DateTime<Utc>) -> Result<i64, StorageError> {
    let seq: Option<i64> = entry_versions::table
        .filter(entry_versions::recorded_at.le(at.naive_utc()))
        .select(diesel::dsl::max(entry_versions::seq))
        .first(conn)?;
    Ok(seq.unwrap_or(0))
}

/// The catalog as it stood after change `seq`: each entry at its last version recorded
/// up to then, with today's reference data (which migrations own and never take back).
pub fn content_at(conn: &mut DbConnection, seq: i64) -> Result<CatalogContent, StorageError> {
    let rows: Vec<VersionRow> = entry_versions::table
        .filter(entry_versions::seq.le(seq))
        .order((
            entry_versions::entry_kind,
            entry_versions::entry_code,
            entry_versions::version,
        ))
        .select(VersionRow::as_select())
        .load(conn)?;
    let (regions, sectors, programmes) = load_reference_data(conn)?;
    let mut content = CatalogContent {
        regions,
        sectors,
        programmes,
        ..CatalogContent::default()
    };
    let mut rows = rows.into_iter().peekable();
    while let Some(row) = rows.next() {
        let superseded = rows.peek().is_some_and(|next| {
            next.entry_kind == row.entry_kind && next.entry_code == row.entry_code
        });
        if superseded {
            continue;
        }
        let corrupt = |e: serde_json::Error| {
            StorageError::Corrupt(format!(
                "version {} of {} {} does not parse: {e}",
                row.version, row.entry_kind, row.entry_code
            ))
        };
        let text = &row.content;
        match ChangedEntryKind::parse(&row.entry_kind) {
            Some(ChangedEntryKind::Batch) => content
                .batches
                .push(serde_json::from_str(text).map_err(corrupt)?),
            Some(ChangedEntryKind::RecognitionItem) => content
                .recognition_items
                .push(serde_json::from_str(text).map_err(corrupt)?),
            Some(ChangedEntryKind::StandardItem) => content
                .standard_items
                .push(serde_json::from_str(text).map_err(corrupt)?),
            Some(ChangedEntryKind::Scenario) => content
                .scenarios
                .push(serde_json::from_str(text).map_err(corrupt)?),
            Some(ChangedEntryKind::Target) => content
                .targets
                .push(serde_json::from_str(text).map_err(corrupt)?),
            Some(ChangedEntryKind::Proposal) | None => {
                return Err(StorageError::Corrupt(format!(
                    "entry history holds an entry of kind `{}`",
                    row.entry_kind
                )));
            }
        }
    }
    Ok(content)
}
