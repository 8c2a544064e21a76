//! Rows of the accepting regions' own suspensions of acceptance. Call the writes inside
//! a transaction that took [`lock_catalog_for_write`](super::catalog::lock_catalog_for_write):
//! ids are handed out under that lock.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::acceptance_suspensions;
use super::{DbConnection, StorageError};
use crate::domain::catalog::AcceptanceSuspension;
use crate::domain::region::RegionCode;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = acceptance_suspensions)]
struct SuspensionRow {
    id: i64,
    item_code: String,
    used_in: String,
    issued_in: Option<String>,
    reason: String,
    effective_from: NaiveDate,
    suspended_by: String,
    recorded_at: NaiveDateTime,
    lifted_on: Option<NaiveDate>,
    lift_reason: Option<String>,
    lifted_by: Option<String>,
}

impl SuspensionRow {
    fn into_domain(self) -> Result<(String, AcceptanceSuspension), StorageError> {
        let region = |text: &str| {
            RegionCode::parse(text).map_err(|_| {
                StorageError::Corrupt(format!("suspension {}: invalid region {text}", self.id))
            })
        };
        let suspension = AcceptanceSuspension {
            id: self.id,
            used_in: region(&self.used_in)?,
            issued_in: self.issued_in.as_deref().map(region).transpose()?,
            reason: self.reason,
            effective_from: self.effective_from,
            suspended_by: self.suspended_by,
            recorded_at: self.recorded_at.and_utc(),
            lifted_on: self.lifted_on,
            lift_reason: self.lift_reason,
            lifted_by: self.lifted_by,
        };
        Ok((self.item_code, suspension))
    }
}

/// Every suspension, by item code, each item's in the order recorded.
pub fn by_item(
    conn: &mut DbConnection,
    only: Option<&[String]>,
) -> Result<HashMap<String, Vec<AcceptanceSuspension>>, StorageError> {
    let mut found: HashMap<String, Vec<AcceptanceSuspension>> = HashMap::new();
    let mut query = acceptance_suspensions::table
        .order(acceptance_suspensions::id)
        .select(SuspensionRow::as_select())
        .into_boxed();
    if let Some(codes) = only {
        if codes.is_empty() {
            return Ok(found);
        }
        query = query.filter(acceptance_suspensions::item_code.eq_any(codes));
    }
    for row in query.load(conn)? {
        let (item, suspension) = row.into_domain()?;
        found.entry(item).or_default().push(suspension);
    }
    Ok(found)
}

/// The id the next suspension gets.
pub fn next_id(conn: &mut DbConnection) -> Result<i64, StorageError> {
    let last: Option<i64> = acceptance_suspensions::table
        .select(diesel::dsl::max(acceptance_suspensions::id))
        .first(conn)?;
    Ok(last.unwrap_or(0) + 1)
}

/// Records a suspension of `item_code`.
pub fn insert(
    conn: &mut DbConnection,
    item_code: &str,
    suspension: &AcceptanceSuspension,
) -> Result<(), StorageError> {
    diesel::insert_into(acceptance_suspensions::table)
        .values(SuspensionRow {
            id: suspension.id,
            item_code: item_code.to_owned(),
            used_in: suspension.used_in.to_string(),
            issued_in: suspension.issued_in.as_ref().map(ToString::to_string),
            reason: suspension.reason.clone(),
            effective_from: suspension.effective_from,
            suspended_by: suspension.suspended_by.clone(),
            recorded_at: suspension.recorded_at.naive_utc(),
            lifted_on: None,
            lift_reason: None,
            lifted_by: None,
        })
        .execute(conn)?;
    Ok(())
}

/// Lifts a suspension that is still in place; `false` when it was lifted already.
pub fn lift(
    conn: &mut DbConnection,
    id: i64,
    lifted_on: NaiveDate,
    reason: &str,
    lifted_by: &str,
) -> Result<bool, StorageError> {
    let updated = diesel::update(
        acceptance_suspensions::table
            .find(id)
            .filter(acceptance_suspensions::lifted_on.is_null()),
    )
    .set((
        acceptance_suspensions::lifted_on.eq(lifted_on),
        acceptance_suspensions::lift_reason.eq(reason),
        acceptance_suspensions::lifted_by.eq(lifted_by),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}
