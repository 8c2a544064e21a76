//! The audit log's rows: appending a record to the chain under a lock on its head, and
//! reading records back in order.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{audit_head, audit_log};
use super::{DbConnection, StorageError};
use crate::domain::audit::{AuditEntry, AuditRecord, Outcome};

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    seq: i64,
    recorded_at: NaiveDateTime,
    request_id: String,
    issuer: Option<String>,
    subject: Option<String>,
    region_code: Option<String>,
    roles: String,
    action: String,
    entry_kind: Option<String>,
    entry_code: Option<String>,
    target_region: Option<String>,
    outcome: String,
    status: i32,
    reason: String,
    before_state: Option<String>,
    after_state: Option<String>,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    fn new(record: &AuditRecord) -> Result<Self, StorageError> {
        Ok(Self {
            seq: record.seq,
            recorded_at: record.recorded_at.naive_utc(),
            request_id: record.request_id.clone(),
            issuer: record.issuer.clone(),
            subject: record.subject.clone(),
            region_code: record.region.clone(),
            roles: serde_json::to_string(&record.roles)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?,
            action: record.action.clone(),
            entry_kind: record.entry_kind.clone(),
            entry_code: record.entry_code.clone(),
            target_region: record.target_region.clone(),
            outcome: record.outcome.as_str().to_owned(),
            status: i32::from(record.status),
            reason: record.reason.clone(),
            before_state: record.before.clone(),
            after_state: record.after.clone(),
            prev_hash: record.prev_hash.clone(),
            hash: record.hash.clone(),
        })
    }

    fn into_record(self) -> Result<AuditRecord, StorageError> {
        let corrupt = |what: &str| {
            StorageError::Corrupt(format!("audit record {}: invalid {what}", self.seq))
        };
        Ok(AuditRecord {
            seq: self.seq,
            recorded_at: self.recorded_at.and_utc(),
            roles: serde_json::from_str(&self.roles).map_err(|_| corrupt("roles"))?,
            outcome: Outcome::parse(&self.outcome).ok_or_else(|| corrupt("outcome"))?,
            status: u16::try_from(self.status).map_err(|_| corrupt("status"))?,
            request_id: self.request_id,
            issuer: self.issuer,
            subject: self.subject,
            region: self.region_code,
            action: self.action,
            entry_kind: self.entry_kind,
            entry_code: self.entry_code,
            target_region: self.target_region,
            reason: self.reason,
            before: self.before_state,
            after: self.after_state,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Appends `entry` to the chain. Call it inside the transaction of the change it
/// records: the head row is locked until that transaction ends, so records are chained
/// in commit order, one writer at a time.
pub fn append(conn: &mut DbConnection, entry: AuditEntry) -> Result<AuditRecord, StorageError> {
    // Locks the head and reads it in one statement.
    let (seq, hash): (i64, String) = diesel::update(audit_head::table.find(1))
        .set(audit_head::seq.eq(audit_head::seq))
        .returning((audit_head::seq, audit_head::hash))
        .get_result(conn)?;
    let record = entry.chain(seq + 1, &hash);
    diesel::insert_into(audit_log::table)
        .values(AuditRow::new(&record)?)
        .execute(conn)?;
    diesel::update(audit_head::table.find(1))
        .set((
            audit_head::seq.eq(record.seq),
            audit_head::hash.eq(&record.hash),
        ))
        .execute(conn)?;
    Ok(record)
}

/// Appends a record in a transaction of its own (refused attempts change nothing else).
pub fn append_alone(
    conn: &mut DbConnection,
    entry: AuditEntry,
) -> Result<AuditRecord, StorageError> {
    conn.transaction(|conn| append(conn, entry))
}

/// The head: the last record's sequence number and hash.
pub fn head(conn: &mut DbConnection) -> Result<(i64, String), StorageError> {
    Ok(audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?)
}

/// Up to `limit` records after `after`, in order; only those of `region` and those
/// acting on it when a region is given.
pub fn records(
    conn: &mut DbConnection,
    after: i64,
    limit: i64,
    region: Option<&str>,
) -> Result<Vec<AuditRecord>, StorageError> {
    let mut query = audit_log::table
        .filter(audit_log::seq.gt(after))
        .order(audit_log::seq)
        .limit(limit)
        .select(AuditRow::as_select())
        .into_boxed();
    if let Some(region) = region {
        query = query.filter(
            audit_log::region_code
                .eq(region)
                .or(audit_log::target_region.eq(region))
                // Shared actions (proposals and votes) concern every region.
                .or(audit_log::target_region.is_null()),
        );
    }
    query
        .load(conn)?
        .into_iter()
        .map(AuditRow::into_record)
        .collect()
}
