//! Catalog rows: loading the whole catalog for the read model and inserting a
//! complete catalog (the sample, later bulk imports) in one transaction.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::regions::list_regions;
use super::schema::{
    arrangements, batches, catalog_state, programme_memberships, programmes, recognition_items,
    recognition_local_parts, scenario_recognition_items, scenario_regions, scenario_standard_items,
    scenarios, sectors, standard_items, standard_local_parts, targets,
};
use super::{DbConnection, StorageError};
use crate::domain::catalog::{
    Arrangement, ArrangementStatus, Batch, CatalogContent, EntryKind, EntryStatus,
    ImplementationStatus, ItemKind, Programme, ProgrammeMembership, RecognitionItem,
    RecognitionLocalPart, RecognitionMode, Scenario, Sector, StandardItem, StandardItemType,
    StandardLocalPart, Target, TargetMetric, Verification, VerificationMethod,
};
use crate::domain::change::{ChangeKind, ChangedEntryKind, NewChange};
use crate::domain::proposal::TypedEntry;
use crate::domain::region::Region;
use crate::domain::region::RegionCode;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sectors)]
struct SectorRow {
    code: String,
    name_zh: String,
    name_en: String,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = batches)]
struct BatchRow {
    code: String,
    document_no: String,
    title_zh: String,
    title_en: String,
    published_on: NaiveDate,
    publishes: String,
    programmes: String,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = programmes)]
struct ProgrammeRow {
    code: String,
    name_zh: String,
    name_en: String,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = programme_memberships)]
struct ProgrammeMembershipRow {
    item_code: String,
    programme_code: String,
    batch_code: String,
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = scenario_regions)]
struct ScenarioRegionRow {
    scenario_code: String,
    region_code: String,
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = targets, primary_key(code), treat_none_as_null = true)]
struct TargetRow {
    code: String,
    version: i64,
    title_zh: String,
    title_en: String,
    source_document_no: String,
    source_title_zh: String,
    clause: String,
    counts: String,
    programme_code: Option<String>,
    region_code: Option<String>,
    item_kind: Option<String>,
    window_from: Option<NaiveDate>,
    window_to: Option<NaiveDate>,
    target_value: i32,
    deadline: NaiveDate,
    lead_unit: String,
    cooperating_units: String,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = recognition_items, primary_key(code), treat_none_as_null = true)]
struct RecognitionItemRow {
    code: String,
    version: i64,
    name_zh: String,
    name_en: String,
    aliases: String,
    kind: String,
    sector_code: String,
    legal_basis: String,
    status: String,
    status_since: Option<NaiveDate>,
    batch_code: String,
    last_verified_on: NaiveDate,
    updated_at: NaiveDateTime,
    superseded_by: Option<String>,
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = recognition_local_parts)]
#[diesel(primary_key(item_code, region_code), treat_none_as_null = true)]
pub(super) struct RecognitionLocalPartRow {
    item_code: String,
    region_code: String,
    local_code: Option<String>,
    issuing_department: Option<String>,
    accepting_department: Option<String>,
    contact: Option<String>,
    online_url: Option<String>,
    notes: Option<String>,
    updated_at: NaiveDateTime,
    verification_method: Option<String>,
    verification_url: Option<String>,
    verification_platforms: String,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = arrangements)]
struct ArrangementRow {
    item_code: String,
    issuer_region: String,
    acceptor_region: String,
    effective_from: NaiveDate,
    effective_to: Option<NaiveDate>,
    mode: String,
    conditions_zh: Option<String>,
    conditions_en: Option<String>,
    status: String,
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = standard_items, primary_key(code), treat_none_as_null = true)]
struct StandardItemRow {
    code: String,
    version: i64,
    national_code: Option<String>,
    name_zh: String,
    name_en: String,
    aliases: String,
    item_type: String,
    sector_code: String,
    conditions_zh: String,
    conditions_en: String,
    materials: String,
    time_limit_days: i32,
    statutory_time_limit_days: Option<i32>,
    fee_zh: String,
    fee_en: String,
    legal_basis: String,
    process_steps: String,
    result_document_zh: String,
    result_document_en: String,
    status: String,
    batch_code: String,
    last_verified_on: NaiveDate,
    updated_at: NaiveDateTime,
    superseded_by: Option<String>,
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = standard_local_parts)]
#[diesel(primary_key(item_code, region_code), treat_none_as_null = true)]
pub(super) struct StandardLocalPartRow {
    item_code: String,
    region_code: String,
    local_code: Option<String>,
    department: Option<String>,
    online_url: Option<String>,
    service_hall: Option<String>,
    pilot_zones: String,
    implementation_status: String,
    name_zh: Option<String>,
    conditions_zh: Option<String>,
    materials: Option<String>,
    time_limit_days: Option<i32>,
    result_recognised: bool,
    updated_at: NaiveDateTime,
    channels: String,
    terminal_identity: String,
}

impl RecognitionLocalPartRow {
    pub(super) fn new(
        item_code: &str,
        part: &RecognitionLocalPart,
        now: NaiveDateTime,
    ) -> Result<Self, StorageError> {
        let verification = part.verification.as_ref();
        Ok(Self {
            item_code: item_code.to_owned(),
            region_code: part.region.to_string(),
            local_code: part.local_code.clone(),
            issuing_department: part.issuing_department.clone(),
            accepting_department: part.accepting_department.clone(),
            contact: part.contact.clone(),
            online_url: part.online_url.clone(),
            notes: part.notes.clone(),
            updated_at: now,
            verification_method: verification.map(|v| v.method.as_str().to_owned()),
            verification_url: verification.and_then(|v| v.lookup_url.clone()),
            verification_platforms: to_json(
                &verification
                    .map(|v| v.platforms.clone())
                    .unwrap_or_default(),
            )?,
        })
    }

    pub(super) fn into_domain(self) -> Result<RecognitionLocalPart, StorageError> {
        Ok(RecognitionLocalPart {
            region: region_code(&self.region_code)?,
            local_code: self.local_code,
            issuing_department: self.issuing_department,
            accepting_department: self.accepting_department,
            contact: self.contact,
            online_url: self.online_url,
            notes: self.notes,
            verification: self
                .verification_method
                .as_deref()
                .map(|method| {
                    Ok::<_, StorageError>(Verification {
                        method: parse_enum(method, VerificationMethod::parse)?,
                        lookup_url: self.verification_url,
                        platforms: from_json(&self.verification_platforms)?,
                    })
                })
                .transpose()?,
        })
    }
}

impl StandardLocalPartRow {
    pub(super) fn new(
        item_code: &str,
        part: &StandardLocalPart,
        now: NaiveDateTime,
    ) -> Result<Self, StorageError> {
        Ok(Self {
            item_code: item_code.to_owned(),
            region_code: part.region.to_string(),
            local_code: part.local_code.clone(),
            department: part.department.clone(),
            online_url: part.online_url.clone(),
            service_hall: part.service_hall.clone(),
            pilot_zones: to_json(&part.pilot_zones)?,
            implementation_status: part.implementation_status.as_str().to_owned(),
            name_zh: part.name_zh.clone(),
            conditions_zh: part.conditions_zh.clone(),
            materials: part.materials.as_ref().map(to_json).transpose()?,
            time_limit_days: part.time_limit_days.map(from_days).transpose()?,
            result_recognised: part.result_recognised,
            updated_at: now,
            channels: to_json(&part.channels)?,
            terminal_identity: to_json(&part.terminal_identity)?,
        })
    }

    pub(super) fn into_domain(self) -> Result<StandardLocalPart, StorageError> {
        Ok(StandardLocalPart {
            region: region_code(&self.region_code)?,
            local_code: self.local_code,
            department: self.department,
            online_url: self.online_url,
            service_hall: self.service_hall,
            pilot_zones: from_json(&self.pilot_zones)?,
            implementation_status: parse_enum(
                &self.implementation_status,
                ImplementationStatus::parse,
            )?,
            name_zh: self.name_zh,
            conditions_zh: self.conditions_zh,
            materials: self.materials.as_deref().map(from_json).transpose()?,
            time_limit_days: self.time_limit_days.map(to_days).transpose()?,
            result_recognised: self.result_recognised,
            channels: from_json(&self.channels)?,
            terminal_identity: from_json(&self.terminal_identity)?,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = scenarios, primary_key(code), treat_none_as_null = true)]
struct ScenarioRow {
    code: String,
    version: i64,
    name_zh: String,
    name_en: String,
    description_zh: String,
    description_en: String,
    situation_zh: String,
    situation_en: String,
    launched_on: NaiveDate,
    batch_code: String,
    status: String,
    status_since: Option<NaiveDate>,
    lead_region: String,
    lead_department: String,
    updated_at: NaiveDateTime,
    superseded_by: Option<String>,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = scenario_recognition_items)]
struct ScenarioRecognitionItemRow {
    scenario_code: String,
    item_code: String,
    position: i32,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = scenario_standard_items)]
struct ScenarioStandardItemRow {
    scenario_code: String,
    item_code: String,
    position: i32,
}

/// Whether the catalog holds no entries yet.
pub fn catalog_is_empty(conn: &mut DbConnection) -> Result<bool, StorageError> {
    let items: i64 = recognition_items::table.count().get_result(conn)?;
    let standards: i64 = standard_items::table.count().get_result(conn)?;
    let scenario_count: i64 = scenarios::table.count().get_result(conn)?;
    let target_count: i64 = targets::table.count().get_result(conn)?;
    Ok(items + standards + scenario_count + target_count == 0)
}

/// Takes the catalog write lock for the rest of the current transaction: a no-op
/// update of the `catalog_state` row, which holds a row lock on PostgreSQL and the
/// database write lock on SQLite. Every catalog-writing transaction starts with it, so
/// "check, then write" decisions (is the catalog empty?) cannot race between instances.
pub fn lock_catalog_for_write(conn: &mut DbConnection) -> Result<(), StorageError> {
    if super::group_commit::holds_catalog_lock() {
        return Ok(());
    }
    diesel::update(catalog_state::table.find(1))
        .set(catalog_state::generation.eq(catalog_state::generation))
        .execute(conn)?;
    Ok(())
}

/// Regions, sectors and programmes: reference data, which migrations own.
#[allow(clippy::type_complexity)]
pub(super) fn load_reference_data(
    conn: &mut DbConnection,
) -> Result<(Vec<Region>, Vec<Sector>, Vec<Programme>), StorageError> {
    let regions = list_regions(conn)?;
    let sectors = sectors::table
        .order((sectors::sort_order, sectors::code))
        .select(SectorRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| Sector {
            code: row.code,
            name_zh: row.name_zh,
            name_en: row.name_en,
        })
        .collect();
    let programmes = programmes::table
        .order((programmes::sort_order, programmes::code))
        .select(ProgrammeRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| Programme {
            code: row.code,
            name_zh: row.name_zh,
            name_en: row.name_en,
        })
        .collect();
    Ok((regions, sectors, programmes))
}

/// Codes of entries to read, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntrySelection {
    /// Batch codes.
    pub batches: Vec<String>,
    /// Recognition item codes.
    pub recognition_items: Vec<String>,
    /// Service item codes.
    pub standard_items: Vec<String>,
    /// Scenario codes.
    pub scenarios: Vec<String>,
    /// Target codes.
    pub targets: Vec<String>,
}

impl EntrySelection {
    /// This selection split into selections of at most `size` codes of each kind (one,
    /// possibly empty, when it is that small already).
    fn in_parts(&self, size: usize) -> Vec<EntrySelection> {
        let kinds = [
            &self.batches,
            &self.recognition_items,
            &self.standard_items,
            &self.scenarios,
            &self.targets,
        ];
        let parts = kinds
            .iter()
            .map(|codes| codes.len().div_ceil(size))
            .max()
            .unwrap_or(0)
            .max(1);
        (0..parts)
            .map(|part| {
                let slice = |codes: &Vec<String>| {
                    codes.iter().skip(part * size).take(size).cloned().collect()
                };
                EntrySelection {
                    batches: slice(&self.batches),
                    recognition_items: slice(&self.recognition_items),
                    standard_items: slice(&self.standard_items),
                    scenarios: slice(&self.scenarios),
                    targets: slice(&self.targets),
                }
            })
            .collect()
    }

    /// Adds the entry of kind `kind` with code `code` (proposals are no entries).
    pub fn add(&mut self, kind: ChangedEntryKind, code: &str) {
        let codes = match kind {
            ChangedEntryKind::Batch => &mut self.batches,
            ChangedEntryKind::RecognitionItem => &mut self.recognition_items,
            ChangedEntryKind::StandardItem => &mut self.standard_items,
            ChangedEntryKind::Scenario => &mut self.scenarios,
            ChangedEntryKind::Target => &mut self.targets,
            ChangedEntryKind::Proposal => return,
        };
        codes.push(code.to_owned());
    }
}

/// Restricts a query to the rows whose `column` is one of `codes`, when codes are given.
macro_rules! only {
    ($query:expr, $column:expr, $codes:expr) => {{
        Only(match $codes {
            // Nothing of this kind wanted: no query at all (a write names one entry).
            Some(codes) if codes.is_empty() => None,
            Some(codes) => Some($query.into_boxed().filter($column.eq_any(codes))),
            None => Some($query.into_boxed()),
        })
    }};
}

/// A query restricted to the codes wanted, or none when no code of its kind is.
struct Only<Q>(Option<Q>);

impl<Q> Only<Q> {
    fn load<'query, U>(self, conn: &mut DbConnection) -> QueryResult<Vec<U>>
    where
        Q: diesel::query_dsl::LoadQuery<'query, DbConnection, U>,
    {
        match self.0 {
            Some(query) => query.load(conn),
            None => Ok(Vec::new()),
        }
    }
}

/// Reads the whole catalog (it is small: thousands of entries, not millions).
pub fn load_catalog(conn: &mut DbConnection) -> Result<CatalogContent, StorageError> {
    load_content(conn, None)
}

/// Reads the entries `selection` names as they are stored now (those that exist), and
/// no reference data: what a read model needs to apply changes.
pub fn load_entries(
    conn: &mut DbConnection,
    selection: &EntrySelection,
) -> Result<CatalogContent, StorageError> {
    let mut content = CatalogContent::default();
    for part in selection.in_parts(CODES_PER_QUERY) {
        let loaded = load_content(conn, Some(&part))?;
        content.batches.extend(loaded.batches);
        content.recognition_items.extend(loaded.recognition_items);
        content.standard_items.extend(loaded.standard_items);
        content.scenarios.extend(loaded.scenarios);
        content.targets.extend(loaded.targets);
    }
    Ok(content)
}

/// Most codes one query names: SQLite takes at most 32,766 bound values in a statement
/// (and a bulk import names every entry it loads).
const CODES_PER_QUERY: usize = 5_000;

fn load_content(
    conn: &mut DbConnection,
    selection: Option<&EntrySelection>,
) -> Result<CatalogContent, StorageError> {
    let batch_codes = selection.map(|s| &s.batches);
    let item_codes = selection.map(|s| &s.recognition_items);
    let standard_codes = selection.map(|s| &s.standard_items);
    let scenario_codes = selection.map(|s| &s.scenarios);
    let target_codes = selection.map(|s| &s.targets);
    let (regions, sectors, programmes) = match selection {
        Some(_) => Default::default(),
        None => load_reference_data(conn)?,
    };
    let batches = only!(
        batches::table
            .order(batches::code)
            .select(BatchRow::as_select()),
        batches::code,
        batch_codes
    )
    .load(conn)?
    .into_iter()
    .map(|row| {
        Ok(Batch {
            code: row.code,
            document_no: row.document_no,
            title_zh: row.title_zh,
            title_en: row.title_en,
            published_on: row.published_on,
            publishes: from_json(&row.publishes)?,
            programmes: from_json(&row.programmes)?,
        })
    })
    .collect::<Result<Vec<_>, StorageError>>()?;

    let mut local_parts: HashMap<String, Vec<RecognitionLocalPart>> = HashMap::new();
    for row in only!(
        recognition_local_parts::table
            .order((
                recognition_local_parts::item_code,
                recognition_local_parts::region_code,
            ))
            .select(RecognitionLocalPartRow::as_select()),
        recognition_local_parts::item_code,
        item_codes
    )
    .load(conn)?
    {
        local_parts
            .entry(row.item_code.clone())
            .or_default()
            .push(row.into_domain()?);
    }
    let mut arrangement_rows: HashMap<String, Vec<Arrangement>> = HashMap::new();
    for row in only!(
        arrangements::table
            .order((
                arrangements::item_code,
                arrangements::issuer_region,
                arrangements::acceptor_region,
                arrangements::effective_from,
            ))
            .select(ArrangementRow::as_select()),
        arrangements::item_code,
        item_codes
    )
    .load(conn)?
    {
        arrangement_rows
            .entry(row.item_code)
            .or_default()
            .push(Arrangement {
                issued_in: region_code(&row.issuer_region)?,
                used_in: region_code(&row.acceptor_region)?,
                mode: parse_enum(&row.mode, RecognitionMode::parse)?,
                conditions_zh: row.conditions_zh,
                conditions_en: row.conditions_en,
                effective_from: row.effective_from,
                effective_to: row.effective_to,
                status: parse_enum(&row.status, ArrangementStatus::parse)?,
            });
    }
    let mut suspensions = super::suspensions::by_item(conn, item_codes.map(Vec::as_slice))?;
    let recognition_items = only!(
        recognition_items::table
            .order(recognition_items::code)
            .select(RecognitionItemRow::as_select()),
        recognition_items::code,
        item_codes
    )
    .load(conn)?
    .into_iter()
    .map(|row| {
        let local_parts = local_parts.remove(&row.code).unwrap_or_default();
        Ok(RecognitionItem {
            regions: local_parts.iter().map(|p| p.region.clone()).collect(),
            arrangements: arrangement_rows.remove(&row.code).unwrap_or_default(),
            suspensions: suspensions.remove(&row.code).unwrap_or_default(),
            local_parts,
            version: row.version,
            name_zh: row.name_zh,
            name_en: row.name_en,
            aliases: from_json(&row.aliases)?,
            kind: parse_enum(&row.kind, ItemKind::parse)?,
            sector: row.sector_code,
            legal_basis: row.legal_basis,
            status: parse_enum(&row.status, EntryStatus::parse)?,
            status_since: row.status_since,
            batch: row.batch_code,
            last_verified_on: row.last_verified_on,
            updated_at: row.updated_at.and_utc(),
            superseded_by: row.superseded_by,
            code: row.code,
        })
    })
    .collect::<Result<Vec<_>, StorageError>>()?;

    let mut standard_parts: HashMap<String, Vec<StandardLocalPart>> = HashMap::new();
    for row in only!(
        standard_local_parts::table
            .order((
                standard_local_parts::item_code,
                standard_local_parts::region_code,
            ))
            .select(StandardLocalPartRow::as_select()),
        standard_local_parts::item_code,
        standard_codes
    )
    .load(conn)?
    {
        standard_parts
            .entry(row.item_code.clone())
            .or_default()
            .push(row.into_domain()?);
    }
    let mut memberships: HashMap<String, Vec<ProgrammeMembership>> = HashMap::new();
    for row in only!(
        programme_memberships::table
            .order((
                programme_memberships::item_code,
                programme_memberships::joined_on,
                programme_memberships::programme_code,
            ))
            .select(ProgrammeMembershipRow::as_select()),
        programme_memberships::item_code,
        standard_codes
    )
    .load(conn)?
    {
        memberships
            .entry(row.item_code)
            .or_default()
            .push(ProgrammeMembership {
                programme: row.programme_code,
                batch: row.batch_code,
                joined_on: row.joined_on,
                left_on: row.left_on,
            });
    }
    let standard_items = only!(
        standard_items::table
            .order(standard_items::code)
            .select(StandardItemRow::as_select()),
        standard_items::code,
        standard_codes
    )
    .load(conn)?
    .into_iter()
    .map(|row| {
        Ok(StandardItem {
            local_parts: standard_parts.remove(&row.code).unwrap_or_default(),
            programmes: memberships.remove(&row.code).unwrap_or_default(),
            version: row.version,
            national_code: row.national_code,
            name_zh: row.name_zh,
            name_en: row.name_en,
            aliases: from_json(&row.aliases)?,
            item_type: parse_enum(&row.item_type, StandardItemType::parse)?,
            sector: row.sector_code,
            conditions_zh: row.conditions_zh,
            conditions_en: row.conditions_en,
            materials: from_json(&row.materials)?,
            time_limit_days: to_days(row.time_limit_days)?,
            statutory_time_limit_days: row.statutory_time_limit_days.map(to_days).transpose()?,
            fee_zh: row.fee_zh,
            fee_en: row.fee_en,
            legal_basis: row.legal_basis,
            process_steps: from_json(&row.process_steps)?,
            result_document_zh: row.result_document_zh,
            result_document_en: row.result_document_en,
            status: parse_enum(&row.status, EntryStatus::parse)?,
            batch: row.batch_code,
            last_verified_on: row.last_verified_on,
            updated_at: row.updated_at.and_utc(),
            superseded_by: row.superseded_by,
            code: row.code,
        })
    })
    .collect::<Result<Vec<_>, StorageError>>()?;

    let mut scenario_items: HashMap<String, Vec<String>> = HashMap::new();
    for row in only!(
        scenario_recognition_items::table
            .order((
                scenario_recognition_items::scenario_code,
                scenario_recognition_items::position,
            ))
            .select(ScenarioRecognitionItemRow::as_select()),
        scenario_recognition_items::scenario_code,
        scenario_codes
    )
    .load(conn)?
    {
        scenario_items
            .entry(row.scenario_code)
            .or_default()
            .push(row.item_code);
    }
    let mut scenario_standards: HashMap<String, Vec<String>> = HashMap::new();
    for row in only!(
        scenario_standard_items::table
            .order((
                scenario_standard_items::scenario_code,
                scenario_standard_items::position,
            ))
            .select(ScenarioStandardItemRow::as_select()),
        scenario_standard_items::scenario_code,
        scenario_codes
    )
    .load(conn)?
    {
        scenario_standards
            .entry(row.scenario_code)
            .or_default()
            .push(row.item_code);
    }
    let mut scenario_participants: HashMap<String, Vec<RegionCode>> = HashMap::new();
    for row in only!(
        scenario_regions::table
            .order((
                scenario_regions::scenario_code,
                scenario_regions::region_code,
            ))
            .select(ScenarioRegionRow::as_select()),
        scenario_regions::scenario_code,
        scenario_codes
    )
    .load(conn)?
    {
        scenario_participants
            .entry(row.scenario_code)
            .or_default()
            .push(region_code(&row.region_code)?);
    }
    let scenarios = only!(
        scenarios::table
            .order(scenarios::code)
            .select(ScenarioRow::as_select()),
        scenarios::code,
        scenario_codes
    )
    .load(conn)?
    .into_iter()
    .map(|row| {
        Ok(Scenario {
            recognition_items: scenario_items.remove(&row.code).unwrap_or_default(),
            standard_items: scenario_standards.remove(&row.code).unwrap_or_default(),
            regions: scenario_participants.remove(&row.code).unwrap_or_default(),
            version: row.version,
            name_zh: row.name_zh,
            name_en: row.name_en,
            description_zh: row.description_zh,
            description_en: row.description_en,
            situation_zh: row.situation_zh,
            situation_en: row.situation_en,
            launched_on: row.launched_on,
            batch: row.batch_code,
            status: parse_enum(&row.status, EntryStatus::parse)?,
            status_since: row.status_since,
            lead_region: region_code(&row.lead_region)?,
            lead_department: row.lead_department,
            updated_at: row.updated_at.and_utc(),
            superseded_by: row.superseded_by,
            code: row.code,
        })
    })
    .collect::<Result<Vec<_>, StorageError>>()?;
    let targets = only!(
        targets::table
            .order(targets::code)
            .select(TargetRow::as_select()),
        targets::code,
        target_codes
    )
    .load(conn)?
    .into_iter()
    .map(target_from_row)
    .collect::<Result<Vec<_>, StorageError>>()?;

    Ok(CatalogContent {
        regions,
        sectors,
        batches,
        recognition_items,
        standard_items,
        scenarios,
        programmes,
        targets,
    })
}

/// Inserts batches, items and scenarios (not regions or sectors, which migrations own)
/// in one transaction, as version 1 recorded at `now`. Fails whole if any row does.
/// Call it inside a transaction that took [`lock_catalog_for_write`].
pub fn insert_catalog(
    conn: &mut DbConnection,
    content: &CatalogContent,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let now = now.naive_utc();
    conn.transaction(|conn| {
        if matches!(conn, DbConnection::Postgresql(_)) {
            // The foreign-key checks of each insert run plans PostgreSQL caches for the
            // session; a generic plan made while the tables were still small scans them,
            // so a bulk load of 6,000 items took 56 s instead of 19 s, growing with the
            // square of its size (docs/BENCHMARKS.md). Plan each check for its values,
            // for this transaction only.
            diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(conn)?;
        }
        for batch in &content.batches {
            insert_batch(conn, batch)?;
        }
        for item in &content.recognition_items {
            insert_recognition_item(conn, item, now)?;
        }
        for item in &content.standard_items {
            insert_standard_item(conn, item, now)?;
        }
        for scenario in &content.scenarios {
            insert_scenario(conn, scenario, now)?;
        }
        for target in &content.targets {
            diesel::insert_into(targets::table)
                .values(target_row(target, 1, now)?)
                .execute(conn)?;
        }
        let created = |kind, code: &str| NewChange::entry(ChangeKind::EntryCreated, kind, code, 1);
        let feed: Vec<NewChange> = (content.batches.iter())
            .map(|b| created(ChangedEntryKind::Batch, &b.code))
            .chain(
                (content.recognition_items.iter())
                    .map(|i| created(ChangedEntryKind::RecognitionItem, &i.code)),
            )
            .chain(
                (content.standard_items.iter())
                    .map(|i| created(ChangedEntryKind::StandardItem, &i.code)),
            )
            .chain((content.scenarios.iter()).map(|s| created(ChangedEntryKind::Scenario, &s.code)))
            .chain((content.targets.iter()).map(|t| created(ChangedEntryKind::Target, &t.code)))
            .collect();
        super::changes::record(conn, &feed, now.and_utc())?;
        Ok(())
    })
}

fn insert_recognition_item(
    conn: &mut DbConnection,
    item: &RecognitionItem,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(recognition_items::table)
        .values(recognition_item_row(item, 1, now)?)
        .execute(conn)?;
    for part in &item.local_parts {
        diesel::insert_into(recognition_local_parts::table)
            .values(RecognitionLocalPartRow::new(&item.code, part, now)?)
            .execute(conn)?;
    }
    insert_arrangements(conn, item)
}

fn insert_arrangements(
    conn: &mut DbConnection,
    item: &RecognitionItem,
) -> Result<(), StorageError> {
    for arrangement in &item.arrangements {
        diesel::insert_into(arrangements::table)
            .values(ArrangementRow {
                item_code: item.code.clone(),
                issuer_region: arrangement.issued_in.to_string(),
                acceptor_region: arrangement.used_in.to_string(),
                effective_from: arrangement.effective_from,
                effective_to: arrangement.effective_to,
                mode: arrangement.mode.as_str().to_owned(),
                conditions_zh: arrangement.conditions_zh.clone(),
                conditions_en: arrangement.conditions_en.clone(),
                status: arrangement.status.as_str().to_owned(),
            })
            .execute(conn)?;
    }
    Ok(())
}

fn insert_standard_item(
    conn: &mut DbConnection,
    item: &StandardItem,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(standard_items::table)
        .values(standard_item_row(item, 1, now)?)
        .execute(conn)?;
    for part in &item.local_parts {
        diesel::insert_into(standard_local_parts::table)
            .values(StandardLocalPartRow::new(&item.code, part, now)?)
            .execute(conn)?;
    }
    insert_memberships(conn, item)
}

fn insert_memberships(conn: &mut DbConnection, item: &StandardItem) -> Result<(), StorageError> {
    for membership in &item.programmes {
        diesel::insert_into(programme_memberships::table)
            .values(ProgrammeMembershipRow {
                item_code: item.code.clone(),
                programme_code: membership.programme.clone(),
                batch_code: membership.batch.clone(),
                joined_on: membership.joined_on,
                left_on: membership.left_on,
            })
            .execute(conn)?;
    }
    Ok(())
}

fn insert_scenario(
    conn: &mut DbConnection,
    scenario: &Scenario,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    diesel::insert_into(scenarios::table)
        .values(scenario_row(scenario, 1, now)?)
        .execute(conn)?;
    insert_scenario_links(conn, scenario)
}

fn insert_scenario_links(conn: &mut DbConnection, scenario: &Scenario) -> Result<(), StorageError> {
    for region in &scenario.regions {
        diesel::insert_into(scenario_regions::table)
            .values(ScenarioRegionRow {
                scenario_code: scenario.code.clone(),
                region_code: region.to_string(),
            })
            .execute(conn)?;
    }
    for (position, code) in (0..).zip(&scenario.recognition_items) {
        diesel::insert_into(scenario_recognition_items::table)
            .values(ScenarioRecognitionItemRow {
                scenario_code: scenario.code.clone(),
                item_code: code.clone(),
                position,
            })
            .execute(conn)?;
    }
    for (position, code) in (0..).zip(&scenario.standard_items) {
        diesel::insert_into(scenario_standard_items::table)
            .values(ScenarioStandardItemRow {
                scenario_code: scenario.code.clone(),
                item_code: code.clone(),
                position,
            })
            .execute(conn)?;
    }
    Ok(())
}

/// Inserts a batch.
pub fn insert_batch(conn: &mut DbConnection, batch: &Batch) -> Result<(), StorageError> {
    diesel::insert_into(batches::table)
        .values(BatchRow {
            code: batch.code.clone(),
            document_no: batch.document_no.clone(),
            title_zh: batch.title_zh.clone(),
            title_en: batch.title_en.clone(),
            published_on: batch.published_on,
            publishes: to_json(&batch.publishes)?,
            programmes: to_json(&batch.programmes)?,
        })
        .execute(conn)?;
    Ok(())
}

/// Writes an entry a proposal created (`created`) or changed, at the entry's own
/// version. A changed entry keeps the rows of the local parts it still has (each with
/// its own version); parts of regions that joined are inserted, parts of regions that
/// left are deleted, and every shared child row (arrangements, memberships, scenario
/// links) is rewritten.
pub fn save_entry(
    conn: &mut DbConnection,
    entry: &TypedEntry,
    created: bool,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let now = now.naive_utc();
    match entry {
        TypedEntry::RecognitionItem(item) if created => insert_recognition_item(conn, item, now),
        TypedEntry::StandardItem(item) if created => insert_standard_item(conn, item, now),
        TypedEntry::Scenario(scenario) if created => insert_scenario(conn, scenario, now),
        TypedEntry::Target(target) if created => {
            diesel::insert_into(targets::table)
                .values(target_row(target, 1, now)?)
                .execute(conn)?;
            Ok(())
        }
        TypedEntry::RecognitionItem(item) => {
            diesel::update(recognition_items::table.find(&item.code))
                .set(recognition_item_row(item, item.version, now)?)
                .execute(conn)?;
            diesel::delete(arrangements::table.filter(arrangements::item_code.eq(&item.code)))
                .execute(conn)?;
            let kept: Vec<String> = recognition_local_parts::table
                .filter(recognition_local_parts::item_code.eq(&item.code))
                .select(recognition_local_parts::region_code)
                .load(conn)?;
            let regions: Vec<&str> = item.local_parts.iter().map(|p| p.region.as_str()).collect();
            diesel::delete(
                recognition_local_parts::table
                    .filter(recognition_local_parts::item_code.eq(&item.code))
                    .filter(recognition_local_parts::region_code.ne_all(&regions)),
            )
            .execute(conn)?;
            for part in item
                .local_parts
                .iter()
                .filter(|p| !kept.iter().any(|r| r == p.region.as_str()))
            {
                diesel::insert_into(recognition_local_parts::table)
                    .values(RecognitionLocalPartRow::new(&item.code, part, now)?)
                    .execute(conn)?;
            }
            insert_arrangements(conn, item)
        }
        TypedEntry::StandardItem(item) => {
            diesel::update(standard_items::table.find(&item.code))
                .set(standard_item_row(item, item.version, now)?)
                .execute(conn)?;
            diesel::delete(
                programme_memberships::table
                    .filter(programme_memberships::item_code.eq(&item.code)),
            )
            .execute(conn)?;
            let kept: Vec<String> = standard_local_parts::table
                .filter(standard_local_parts::item_code.eq(&item.code))
                .select(standard_local_parts::region_code)
                .load(conn)?;
            for part in item
                .local_parts
                .iter()
                .filter(|p| !kept.iter().any(|r| r == p.region.as_str()))
            {
                diesel::insert_into(standard_local_parts::table)
                    .values(StandardLocalPartRow::new(&item.code, part, now)?)
                    .execute(conn)?;
            }
            insert_memberships(conn, item)
        }
        TypedEntry::Scenario(scenario) => {
            diesel::update(scenarios::table.find(&scenario.code))
                .set(scenario_row(scenario, scenario.version, now)?)
                .execute(conn)?;
            let code = &scenario.code;
            diesel::delete(
                scenario_regions::table.filter(scenario_regions::scenario_code.eq(code)),
            )
            .execute(conn)?;
            diesel::delete(
                scenario_recognition_items::table
                    .filter(scenario_recognition_items::scenario_code.eq(code)),
            )
            .execute(conn)?;
            diesel::delete(
                scenario_standard_items::table
                    .filter(scenario_standard_items::scenario_code.eq(code)),
            )
            .execute(conn)?;
            insert_scenario_links(conn, scenario)
        }
        TypedEntry::Target(target) => {
            diesel::update(targets::table.find(&target.code))
                .set(target_row(target, target.version, now)?)
                .execute(conn)?;
            Ok(())
        }
    }
}

fn recognition_item_row(
    item: &RecognitionItem,
    version: i64,
    now: NaiveDateTime,
) -> Result<RecognitionItemRow, StorageError> {
    Ok(RecognitionItemRow {
        code: item.code.clone(),
        version,
        name_zh: item.name_zh.clone(),
        name_en: item.name_en.clone(),
        aliases: to_json(&item.aliases)?,
        kind: item.kind.as_str().to_owned(),
        sector_code: item.sector.clone(),
        legal_basis: item.legal_basis.clone(),
        status: item.status.as_str().to_owned(),
        status_since: item.status_since,
        batch_code: item.batch.clone(),
        last_verified_on: item.last_verified_on,
        updated_at: now,
        superseded_by: item.superseded_by.clone(),
    })
}

fn standard_item_row(
    item: &StandardItem,
    version: i64,
    now: NaiveDateTime,
) -> Result<StandardItemRow, StorageError> {
    Ok(StandardItemRow {
        code: item.code.clone(),
        version,
        national_code: item.national_code.clone(),
        name_zh: item.name_zh.clone(),
        name_en: item.name_en.clone(),
        aliases: to_json(&item.aliases)?,
        item_type: item.item_type.as_str().to_owned(),
        sector_code: item.sector.clone(),
        conditions_zh: item.conditions_zh.clone(),
        conditions_en: item.conditions_en.clone(),
        materials: to_json(&item.materials)?,
        time_limit_days: from_days(item.time_limit_days)?,
        statutory_time_limit_days: item.statutory_time_limit_days.map(from_days).transpose()?,
        fee_zh: item.fee_zh.clone(),
        fee_en: item.fee_en.clone(),
        legal_basis: item.legal_basis.clone(),
        process_steps: to_json(&item.process_steps)?,
        result_document_zh: item.result_document_zh.clone(),
        result_document_en: item.result_document_en.clone(),
        status: item.status.as_str().to_owned(),
        batch_code: item.batch.clone(),
        last_verified_on: item.last_verified_on,
        updated_at: now,
        superseded_by: item.superseded_by.clone(),
    })
}

fn scenario_row(
    scenario: &Scenario,
    version: i64,
    now: NaiveDateTime,
) -> Result<ScenarioRow, StorageError> {
    Ok(ScenarioRow {
        code: scenario.code.clone(),
        version,
        name_zh: scenario.name_zh.clone(),
        name_en: scenario.name_en.clone(),
        description_zh: scenario.description_zh.clone(),
        description_en: scenario.description_en.clone(),
        situation_zh: scenario.situation_zh.clone(),
        situation_en: scenario.situation_en.clone(),
        launched_on: scenario.launched_on,
        batch_code: scenario.batch.clone(),
        status: scenario.status.as_str().to_owned(),
        status_since: scenario.status_since,
        lead_region: scenario.lead_region.to_string(),
        lead_department: scenario.lead_department.clone(),
        updated_at: now,
        superseded_by: scenario.superseded_by.clone(),
    })
}

fn target_row(
    target: &Target,
    version: i64,
    now: NaiveDateTime,
) -> Result<TargetRow, StorageError> {
    let metric = &target.metric;
    Ok(TargetRow {
        code: target.code.clone(),
        version,
        title_zh: target.title_zh.clone(),
        title_en: target.title_en.clone(),
        source_document_no: target.source_document_no.clone(),
        source_title_zh: target.source_title_zh.clone(),
        clause: target.clause.clone(),
        counts: metric.counts.as_str().to_owned(),
        programme_code: metric.programme.clone(),
        region_code: metric.region.as_ref().map(ToString::to_string),
        item_kind: metric.item_kind.map(|k| k.as_str().to_owned()),
        window_from: metric.window_from,
        window_to: metric.window_to,
        target_value: i32::try_from(target.target_value).map_err(|_| {
            StorageError::Corrupt(format!("target value {} is too large", target.target_value))
        })?,
        deadline: target.deadline,
        lead_unit: target.lead_unit.clone(),
        cooperating_units: to_json(&target.cooperating_units)?,
        updated_at: now,
    })
}

fn target_from_row(row: TargetRow) -> Result<Target, StorageError> {
    Ok(Target {
        metric: TargetMetric {
            counts: parse_enum(&row.counts, EntryKind::parse)?,
            programme: row.programme_code,
            region: row.region_code.as_deref().map(region_code).transpose()?,
            item_kind: row
                .item_kind
                .as_deref()
                .map(|k| parse_enum(k, ItemKind::parse))
                .transpose()?,
            window_from: row.window_from,
            window_to: row.window_to,
        },
        version: row.version,
        title_zh: row.title_zh,
        title_en: row.title_en,
        source_document_no: row.source_document_no,
        source_title_zh: row.source_title_zh,
        clause: row.clause,
        target_value: u32::try_from(row.target_value).map_err(|_| {
            StorageError::Corrupt(format!("negative target value {}", row.target_value))
        })?,
        deadline: row.deadline,
        lead_unit: row.lead_unit,
        cooperating_units: from_json(&row.cooperating_units)?,
        updated_at: row.updated_at.and_utc(),
        code: row.code,
    })
}

/// One region's side of a recognition item with its version; `None` when the item
/// does not exist or the region does not take part in it.
pub fn recognition_local_part(
    conn: &mut DbConnection,
    item_code: &str,
    region: &RegionCode,
) -> Result<Option<(RecognitionLocalPart, i64)>, StorageError> {
    recognition_local_parts::table
        .find((item_code, region.as_str()))
        .select((
            RecognitionLocalPartRow::as_select(),
            recognition_local_parts::version,
        ))
        .first::<(RecognitionLocalPartRow, i64)>(conn)
        .optional()?
        .map(|(row, version)| Ok((row.into_domain()?, version)))
        .transpose()
}

/// One region's side of a service item with its version.
pub fn standard_local_part(
    conn: &mut DbConnection,
    item_code: &str,
    region: &RegionCode,
) -> Result<Option<(StandardLocalPart, i64)>, StorageError> {
    standard_local_parts::table
        .find((item_code, region.as_str()))
        .select((
            StandardLocalPartRow::as_select(),
            standard_local_parts::version,
        ))
        .first::<(StandardLocalPartRow, i64)>(conn)
        .optional()?
        .map(|(row, version)| Ok((row.into_domain()?, version)))
        .transpose()
}

/// Replaces a recognition item's local part if it is still at `expected_version`;
/// returns the new version, or `None` when another write got there first.
pub fn replace_recognition_local_part(
    conn: &mut DbConnection,
    item_code: &str,
    part: &RecognitionLocalPart,
    expected_version: i64,
    now: NaiveDateTime,
) -> Result<Option<i64>, StorageError> {
    let updated = diesel::update(
        recognition_local_parts::table
            .find((item_code, part.region.as_str()))
            .filter(recognition_local_parts::version.eq(expected_version)),
    )
    .set((
        RecognitionLocalPartRow::new(item_code, part, now)?,
        recognition_local_parts::version.eq(expected_version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    touch_entry(conn, EntryKind::RecognitionItem, item_code, now)?;
    Ok(Some(expected_version + 1))
}

/// Replaces a service item's local part if it is still at `expected_version`.
pub fn replace_standard_local_part(
    conn: &mut DbConnection,
    item_code: &str,
    part: &StandardLocalPart,
    expected_version: i64,
    now: NaiveDateTime,
) -> Result<Option<i64>, StorageError> {
    let updated = diesel::update(
        standard_local_parts::table
            .find((item_code, part.region.as_str()))
            .filter(standard_local_parts::version.eq(expected_version)),
    )
    .set((
        StandardLocalPartRow::new(item_code, part, now)?,
        standard_local_parts::version.eq(expected_version + 1),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    touch_entry(conn, EntryKind::StandardItem, item_code, now)?;
    Ok(Some(expected_version + 1))
}

/// A change to any part of an entry makes a new version of the entry.
pub fn touch_entry(
    conn: &mut DbConnection,
    kind: EntryKind,
    code: &str,
    now: NaiveDateTime,
) -> Result<(), StorageError> {
    match kind {
        EntryKind::RecognitionItem => diesel::update(recognition_items::table.find(code))
            .set((
                recognition_items::version.eq(recognition_items::version + 1),
                recognition_items::updated_at.eq(now),
            ))
            .execute(conn)?,
        EntryKind::StandardItem => diesel::update(standard_items::table.find(code))
            .set((
                standard_items::version.eq(standard_items::version + 1),
                standard_items::updated_at.eq(now),
            ))
            .execute(conn)?,
        EntryKind::Scenario => diesel::update(scenarios::table.find(code))
            .set((
                scenarios::version.eq(scenarios::version + 1),
                scenarios::updated_at.eq(now),
            ))
            .execute(conn)?,
    };
    Ok(())
}

fn region_code(text: &str) -> Result<RegionCode, StorageError> {
    RegionCode::parse(text).map_err(StorageError::Corrupt)
}

fn parse_enum<T>(text: &str, parse: fn(&str) -> Option<T>) -> Result<T, StorageError> {
    parse(text).ok_or_else(|| StorageError::Corrupt(format!("unexpected stored value `{text}`")))
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt(e.to_string()))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StorageError> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::Corrupt(format!("stored JSON does not parse: {e}")))
}

fn to_days(value: i32) -> Result<u32, StorageError> {
    u32::try_from(value).map_err(|_| StorageError::Corrupt(format!("negative day count {value}")))
}

fn from_days(value: u32) -> Result<i32, StorageError> {
    i32::try_from(value)
        .map_err(|_| StorageError::Corrupt(format!("day count {value} is too large")))
}
