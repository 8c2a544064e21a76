//! Region rows.

use diesel::prelude::*;

use super::schema::regions;
use super::{DbConnection, StorageError};
use crate::domain::region::{Region, RegionCode};

/// A stored region.
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = regions)]
pub struct RegionRow {
    /// Short code.
    pub code: String,
    /// GB/T 2260 code.
    pub gb_code: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
    /// One-character abbreviation.
    pub short_name_zh: String,
    /// Display order.
    pub sort_order: i32,
}

/// All regions in display order.
pub fn list_regions(conn: &mut DbConnection) -> Result<Vec<Region>, StorageError> {
    let rows: Vec<RegionRow> = regions::table
        .order((regions::sort_order, regions::code))
        .select(RegionRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            Ok(Region {
                code: RegionCode::parse(&row.code).map_err(StorageError::Corrupt)?,
                gb_code: row.gb_code,
                name_zh: row.name_zh,
                name_en: row.name_en,
                short_name_zh: row.short_name_zh,
            })
        })
        .collect()
}
