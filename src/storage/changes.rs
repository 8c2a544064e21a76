//! The change feed's rows. Numbers are handed out from `catalog_state.generation`, the
//! row every catalog-writing transaction locks first, so they follow commit order and a
//! rolled-back transaction leaves no gap. Call [`record`] inside such a transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{catalog_state, changes};
use super::{DbConnection, StorageError};
use crate::domain::change::{Change, ChangeKind, ChangedEntryKind, NewChange};
use crate::domain::proposal::ProposalState;
use crate::domain::region::RegionCode;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = changes)]
struct ChangeRow {
    seq: i64,
    recorded_at: NaiveDateTime,
    change_kind: String,
    entry_kind: String,
    entry_code: String,
    region_code: Option<String>,
    version: i64,
    proposal_id: Option<i64>,
    state: Option<String>,
}

impl ChangeRow {
    fn into_domain(self) -> Result<Change, StorageError> {
        let seq = self.seq;
        let corrupt = |what: &str| StorageError::Corrupt(format!("change {seq}: invalid {what}"));
        Ok(Change {
            seq,
            recorded_at: self.recorded_at.and_utc(),
            kind: ChangeKind::parse(&self.change_kind).ok_or_else(|| corrupt("kind"))?,
            entry_kind: ChangedEntryKind::parse(&self.entry_kind)
                .ok_or_else(|| corrupt("entry kind"))?,
            entry_code: self.entry_code,
            region: self
                .region_code
                .map(|code| RegionCode::parse(&code).map_err(|_| corrupt("region")))
                .transpose()?,
            version: self.version,
            proposal: self.proposal_id,
            state: self
                .state
                .map(|state| ProposalState::parse(&state).ok_or_else(|| corrupt("state")))
                .transpose()?,
        })
    }
}

/// Appends `new` to the feed as committed at `now`, numbered after the current head;
/// returns the new head. Nothing to record leaves the head where it is.
pub fn record(
    conn: &mut DbConnection,
    new: &[NewChange],
    now: DateTime<Utc>,
) -> Result<i64, StorageError> {
    let count = i64::try_from(new.len()).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    if count == 0 {
        return head(conn);
    }
    // Both backends keep microseconds: the time read back is the time recorded.
    let now = crate::domain::audit::truncate_to_micros(now).naive_utc();
    let last: i64 = diesel::update(catalog_state::table.find(1))
        .set((
            catalog_state::generation.eq(catalog_state::generation + count),
            catalog_state::updated_at.eq(now),
        ))
        .returning(catalog_state::generation)
        .get_result(conn)?;
    let rows: Vec<ChangeRow> = new
        .iter()
        .zip(last - count + 1..)
        .map(|(change, seq)| ChangeRow {
            seq,
            recorded_at: now,
            change_kind: change.kind.as_str().to_owned(),
            entry_kind: change.entry_kind.as_str().to_owned(),
            entry_code: change.entry_code.clone(),
            region_code: change.region.as_ref().map(ToString::to_string),
            version: change.version,
            proposal_id: change.proposal,
            state: change.state.map(|state| state.as_str().to_owned()),
        })
        .collect();
    // One statement per row: SQLite limits the variables of a statement, and a proposal
    // changes at most a few hundred entries.
    for row in &rows {
        diesel::insert_into(changes::table)
            .values(row)
            .execute(conn)?;
    }
    let recorded: Vec<(i64, &NewChange)> = (last - count + 1..).zip(new).collect();
    super::history::record(conn, &recorded, now)?;
    Ok(last)
}

/// The feed's head: the sequence number of the last change committed (0 when none).
pub fn head(conn: &mut DbConnection) -> Result<i64, StorageError> {
    Ok(catalog_state::table
        .find(1)
        .select(catalog_state::generation)
        .first(conn)?)
}

/// Up to `limit` changes after `after`, in order.
pub fn after(conn: &mut DbConnection, after: i64, limit: i64) -> Result<Vec<Change>, StorageError> {
    changes::table
        .filter(changes::seq.gt(after))
        .order(changes::seq)
        .limit(limit)
        .select(ChangeRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ChangeRow::into_domain)
        .collect()
}
