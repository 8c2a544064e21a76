//! The in-process read model of the current catalog: every entry plus the indexes the
//! read API needs (by code, by a region's local code, search keys, precomputed 四同一互
//! conformity). Built whole from stored content; the database remains the truth.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::catalog::{
    Batch, CatalogContent, EntryStatus, ImplementationStatus, ItemKind, RecognitionItem, Scenario,
    Sector, StandardItem, StandardItemType, validate_catalog,
};
use super::deviation::{Aspect, RegionConformity, check_item};
use super::recognition::{Decision, decide};
use super::region::{Region, RegionCode};
use super::search::{SearchKeys, fold, fold_for_search};

/// Something entries can be listed by: a code, kept in ascending order.
trait Coded {
    fn code(&self) -> &str;
}

impl Coded for RecognitionItem {
    fn code(&self) -> &str {
        &self.code
    }
}

impl Coded for StandardItem {
    fn code(&self) -> &str {
        &self.code
    }
}

impl Coded for Scenario {
    fn code(&self) -> &str {
        &self.code
    }
}

/// What the shared entry filters look at.
trait Filterable: Coded {
    fn involves(&self, region: &RegionCode) -> bool;
    fn sector(&self) -> &str;
    fn status(&self) -> EntryStatus;
}

impl Filterable for RecognitionItem {
    fn involves(&self, region: &RegionCode) -> bool {
        self.regions.contains(region)
    }
    fn sector(&self) -> &str {
        &self.sector
    }
    fn status(&self) -> EntryStatus {
        self.status
    }
}

impl Filterable for StandardItem {
    fn involves(&self, region: &RegionCode) -> bool {
        self.local_parts.iter().any(|p| &p.region == region)
    }
    fn sector(&self) -> &str {
        &self.sector
    }
    fn status(&self) -> EntryStatus {
        self.status
    }
}

/// A filter value that names nothing in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// No such region.
    #[error("unknown region `{0}`")]
    UnknownRegion(String),
    /// No such sector.
    #[error("unknown sector `{0}`")]
    UnknownSector(String),
    /// No such scenario.
    #[error("unknown scenario `{0}`")]
    UnknownScenario(String),
}

/// Which page to return: entries with codes after `after`, at most `limit` of them.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Code of the last entry of the previous page.
    pub after: Option<String>,
    /// Page size.
    pub limit: usize,
}

/// One page of entries, in code order.
#[derive(Debug)]
pub struct Page<'a, T> {
    /// The entries.
    pub items: Vec<&'a T>,
    /// Whether entries follow this page.
    pub has_more: bool,
}

/// Filters shared by entry lists; each is optional.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// Entries in which this region participates.
    pub region: Option<RegionCode>,
    /// Entries of this sector.
    pub sector: Option<String>,
    /// Entries with this status.
    pub status: Option<EntryStatus>,
    /// Entries in this scenario.
    pub scenario: Option<String>,
    /// Free text over code, names and aliases (zh, en, pinyin, initials).
    pub text: Option<String>,
}

/// The current catalog with its indexes.
#[derive(Debug, Default)]
pub struct Catalog {
    regions: Vec<Region>,
    sectors: Vec<Sector>,
    batches: HashMap<String, Batch>,
    recognition_items: Vec<RecognitionItem>,
    recognition_keys: Vec<SearchKeys>,
    recognition_by_code: HashMap<String, usize>,
    recognition_by_local_code: HashMap<(RegionCode, String), usize>,
    standard_items: Vec<StandardItem>,
    standard_keys: Vec<SearchKeys>,
    standard_by_code: HashMap<String, usize>,
    conformity: Vec<Vec<RegionConformity>>,
    scenarios: Vec<Scenario>,
    scenario_keys: Vec<SearchKeys>,
    scenario_by_code: HashMap<String, usize>,
    digest: String,
}

impl Catalog {
    /// Validates `content` and builds the indexes.
    pub fn build(mut content: CatalogContent) -> Result<Self, Vec<String>> {
        validate_catalog(&content)?;
        // Regions keep their display order (BJ, TJ, HE) wherever an entry lists them.
        let order: HashMap<RegionCode, usize> = content
            .regions
            .iter()
            .enumerate()
            .map(|(i, r)| (r.code.clone(), i))
            .collect();
        let rank = |code: &RegionCode| order.get(code).copied().unwrap_or(usize::MAX);
        for item in &mut content.recognition_items {
            item.regions.sort_by_key(|r| rank(r));
            item.local_parts.sort_by_key(|p| rank(&p.region));
        }
        for item in &mut content.standard_items {
            item.local_parts.sort_by_key(|p| rank(&p.region));
        }
        content
            .recognition_items
            .sort_by(|a, b| a.code.cmp(&b.code));
        content.standard_items.sort_by(|a, b| a.code.cmp(&b.code));
        content.scenarios.sort_by(|a, b| a.code.cmp(&b.code));

        let digest = digest_of(&content);
        let recognition_keys = content
            .recognition_items
            .iter()
            .map(|i| keys_for(&i.code, &i.name_zh, &i.name_en, &i.aliases))
            .collect();
        let standard_keys = content
            .standard_items
            .iter()
            .map(|i| keys_for(&i.code, &i.name_zh, &i.name_en, &i.aliases))
            .collect();
        let scenario_keys = content
            .scenarios
            .iter()
            .map(|s| keys_for(&s.code, &s.name_zh, &s.name_en, &[]))
            .collect();
        let mut recognition_by_local_code = HashMap::new();
        for (index, item) in content.recognition_items.iter().enumerate() {
            for part in &item.local_parts {
                if let Some(code) = &part.local_code {
                    recognition_by_local_code
                        .insert((part.region.clone(), fold(code.trim())), index);
                }
            }
        }
        Ok(Self {
            conformity: content.standard_items.iter().map(check_item).collect(),
            recognition_by_code: index_by_code(&content.recognition_items),
            standard_by_code: index_by_code(&content.standard_items),
            scenario_by_code: index_by_code(&content.scenarios),
            batches: content
                .batches
                .into_iter()
                .map(|b| (b.code.clone(), b))
                .collect(),
            regions: content.regions,
            sectors: content.sectors,
            recognition_items: content.recognition_items,
            recognition_keys,
            recognition_by_local_code,
            standard_items: content.standard_items,
            standard_keys,
            scenarios: content.scenarios,
            scenario_keys,
            digest,
        })
    }

    /// A digest of the whole content: equal catalogs give equal digests on every
    /// instance, so it can key caches and list `ETag`s.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Member regions in their display order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The member region with this code, ignoring ASCII case (without allocating:
    /// this runs twice per status question).
    pub fn region_by_code(&self, code: &str) -> Option<&Region> {
        self.regions
            .iter()
            .find(|r| r.code.as_str().eq_ignore_ascii_case(code))
    }

    /// Whether `code` is a member region.
    pub fn has_region(&self, code: &RegionCode) -> bool {
        self.regions.iter().any(|r| &r.code == code)
    }

    /// Sectors in display order.
    pub fn sectors(&self) -> &[Sector] {
        &self.sectors
    }

    /// A batch by code.
    pub fn batch(&self, code: &str) -> Option<&Batch> {
        self.batches.get(code)
    }

    /// A recognition item by code.
    pub fn recognition_item(&self, code: &str) -> Option<&RecognitionItem> {
        self.recognition_by_code
            .get(code)
            .map(|&i| &self.recognition_items[i])
    }

    /// The recognition item a region knows by its own `local_code`.
    pub fn recognition_item_by_local_code(
        &self,
        region: &RegionCode,
        local_code: &str,
    ) -> Option<&RecognitionItem> {
        self.recognition_by_local_code
            .get(&(region.clone(), fold(local_code.trim())))
            .map(|&i| &self.recognition_items[i])
    }

    /// A standard item by code.
    pub fn standard_item(&self, code: &str) -> Option<&StandardItem> {
        self.standard_by_code
            .get(code)
            .map(|&i| &self.standard_items[i])
    }

    /// Per-region 四同一互 conformity of a standard item.
    pub fn conformity(&self, code: &str) -> Option<&[RegionConformity]> {
        self.standard_by_code
            .get(code)
            .map(|&i| self.conformity[i].as_slice())
    }

    /// A scenario by code.
    pub fn scenario(&self, code: &str) -> Option<&Scenario> {
        self.scenario_by_code.get(code).map(|&i| &self.scenarios[i])
    }

    fn check_filter(&self, filter: &EntryFilter) -> Result<Option<&Scenario>, FilterError> {
        if let Some(region) = &filter.region
            && !self.has_region(region)
        {
            return Err(FilterError::UnknownRegion(region.to_string()));
        }
        if let Some(sector) = &filter.sector
            && !self.sectors.iter().any(|s| &s.code == sector)
        {
            return Err(FilterError::UnknownSector(sector.clone()));
        }
        filter
            .scenario
            .as_deref()
            .map(|code| {
                self.scenario(code)
                    .ok_or_else(|| FilterError::UnknownScenario(code.to_owned()))
            })
            .transpose()
    }

    /// Lists recognition items matching `filter` (and `kind`), in code order.
    pub fn list_recognition_items(
        &self,
        filter: &EntryFilter,
        kind: Option<ItemKind>,
        page: &PageRequest,
    ) -> Result<Page<'_, RecognitionItem>, FilterError> {
        self.list_entries(
            &self.recognition_items,
            &self.recognition_keys,
            filter,
            |scenario| &scenario.recognition_items,
            |item| kind.is_none_or(|k| item.kind == k),
            page,
        )
    }

    /// Lists standard items matching `filter` (and `item_type`), in code order.
    pub fn list_standard_items(
        &self,
        filter: &EntryFilter,
        item_type: Option<StandardItemType>,
        page: &PageRequest,
    ) -> Result<Page<'_, StandardItem>, FilterError> {
        self.list_entries(
            &self.standard_items,
            &self.standard_keys,
            filter,
            |scenario| &scenario.standard_items,
            |item| item_type.is_none_or(|t| item.item_type == t),
            page,
        )
    }

    /// The shared filters over one kind of entry, plus a kind-specific test.
    fn list_entries<'a, T: Filterable>(
        &self,
        entries: &'a [T],
        keys: &[SearchKeys],
        filter: &EntryFilter,
        scenario_members: fn(&Scenario) -> &Vec<String>,
        also: impl Fn(&T) -> bool,
        page: &PageRequest,
    ) -> Result<Page<'a, T>, FilterError> {
        let scenario = self.check_filter(filter)?;
        let in_scenario: Option<HashSet<&str>> =
            scenario.map(|s| scenario_members(s).iter().map(String::as_str).collect());
        let query = filter.text.as_deref().map(fold_for_search);
        Ok(paginate(entries, page, |index, entry| {
            filter.region.as_ref().is_none_or(|r| entry.involves(r))
                && filter.sector.as_deref().is_none_or(|s| entry.sector() == s)
                && filter.status.is_none_or(|s| entry.status() == s)
                && in_scenario
                    .as_ref()
                    .is_none_or(|codes| codes.contains(entry.code()))
                && query.as_deref().is_none_or(|q| keys[index].matches(q))
                && also(entry)
        }))
    }

    /// Lists scenarios whose name matches `text`, and that include entries of `region`.
    pub fn list_scenarios(
        &self,
        region: Option<&RegionCode>,
        text: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<'_, Scenario>, FilterError> {
        if let Some(region) = region
            && !self.has_region(region)
        {
            return Err(FilterError::UnknownRegion(region.to_string()));
        }
        let query = text.map(fold_for_search);
        Ok(paginate(&self.scenarios, page, |index, scenario| {
            region.is_none_or(|r| {
                scenario
                    .recognition_items
                    .iter()
                    .filter_map(|code| self.recognition_item(code))
                    .any(|item| item.regions.contains(r))
            }) && query
                .as_deref()
                .is_none_or(|q| self.scenario_keys[index].matches(q))
        }))
    }

    /// Standard items with at least one deviating region (optionally only `region`,
    /// only `aspect`), with their conformity reports.
    pub fn deviations(
        &self,
        region: Option<&RegionCode>,
        aspect: Option<Aspect>,
    ) -> Result<Vec<(&StandardItem, Vec<&RegionConformity>)>, FilterError> {
        if let Some(region) = region
            && !self.has_region(region)
        {
            return Err(FilterError::UnknownRegion(region.to_string()));
        }
        Ok(self
            .standard_items
            .iter()
            .zip(&self.conformity)
            .filter_map(|(item, report)| {
                let deviating: Vec<&RegionConformity> = report
                    .iter()
                    .filter(|c| region.is_none_or(|r| &c.region == r))
                    .filter(|c| match aspect {
                        Some(aspect) => c.differences.iter().any(|d| d.aspect() == aspect),
                        None => !c.conforms,
                    })
                    .collect();
                (!deviating.is_empty()).then_some((item, deviating))
            })
            .collect())
    }

    /// Per-region totals of a deviation listing: items in which each region deviates,
    /// and how many of them differ in each aspect (only `aspect`, when given).
    pub fn deviation_summary(
        &self,
        deviating: &[(&StandardItem, Vec<&RegionConformity>)],
        region: Option<&RegionCode>,
        aspect: Option<Aspect>,
    ) -> Vec<DeviationSummary> {
        self.regions
            .iter()
            .filter(|r| region.is_none_or(|wanted| &r.code == wanted))
            .map(|r| {
                let mut summary = DeviationSummary {
                    region: r.code.clone(),
                    items_with_deviations: 0,
                    by_aspect: BTreeMap::new(),
                };
                for conformity in deviating
                    .iter()
                    .flat_map(|(_, regions)| regions)
                    .filter(|c| c.region == r.code)
                {
                    summary.items_with_deviations += 1;
                    for difference in conformity
                        .differences
                        .iter()
                        .filter(|d| aspect.is_none_or(|a| d.aspect() == a))
                    {
                        *summary
                            .by_aspect
                            .entry(difference.aspect().as_str().to_owned())
                            .or_default() += 1;
                    }
                }
                summary
            })
            .collect()
    }

    /// Catalog statistics as of `today`.
    pub fn stats(&self, today: NaiveDate) -> Stats {
        let mut stats = Stats {
            as_of: today,
            catalog_digest: self.digest.clone(),
            recognition_items: self.recognition_items.len(),
            standard_items: self.standard_items.len(),
            scenarios: self.scenarios.len(),
            ..Stats::default()
        };
        for item in &self.recognition_items {
            *stats
                .recognition_items_by_kind
                .entry(item.kind.as_str().to_owned())
                .or_default() += 1;
            *stats
                .recognition_items_by_sector
                .entry(item.sector.clone())
                .or_default() += 1;
            *stats
                .recognition_items_by_status
                .entry(item.status.as_str().to_owned())
                .or_default() += 1;
            for region in &item.regions {
                stats
                    .by_region
                    .entry(region.to_string())
                    .or_default()
                    .recognition_items += 1;
            }
        }
        for region in &self.regions {
            for acceptor in &self.regions {
                if region.code == acceptor.code {
                    continue;
                }
                let recognised = self
                    .recognition_items
                    .iter()
                    .filter(|item| {
                        decide(item, &region.code, &acceptor.code, today)
                            .is_ok_and(|o| o.decision == Decision::Recognised)
                    })
                    .count();
                stats.recognised_pairs.push(PairCount {
                    issued_in: region.code.clone(),
                    used_in: acceptor.code.clone(),
                    recognised_items: recognised,
                });
            }
        }
        for (item, report) in self.standard_items.iter().zip(&self.conformity) {
            *stats
                .standard_items_by_type
                .entry(item.item_type.as_str().to_owned())
                .or_default() += 1;
            *stats
                .standard_items_by_sector
                .entry(item.sector.clone())
                .or_default() += 1;
            *stats
                .standard_items_by_status
                .entry(item.status.as_str().to_owned())
                .or_default() += 1;
            if report.iter().any(|c| !c.conforms) {
                stats.standard_items_with_deviations += 1;
            }
            for conformity in report {
                let counts = stats
                    .by_region
                    .entry(conformity.region.to_string())
                    .or_default();
                counts.standard_items += 1;
                if conformity.implementation_status == ImplementationStatus::Implemented {
                    counts.standard_items_implemented += 1;
                }
                if !conformity.conforms {
                    counts.standard_items_with_deviations += 1;
                }
            }
        }
        stats
    }
}

/// How many standard items deviate, per region and aspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeviationSummary {
    /// The region.
    pub region: RegionCode,
    /// Standard items in which the region deviates.
    pub items_with_deviations: usize,
    /// Items per deviating aspect (`name`, `conditions`, `materials`, `time_limit`, `result_recognition`).
    pub by_aspect: BTreeMap<String, usize>,
}

/// Counts for one region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct RegionCounts {
    /// Recognition items the region participates in.
    pub recognition_items: usize,
    /// Standard items the region takes part in (has a local part for).
    pub standard_items: usize,
    /// Of those, items the region has implemented (in service).
    pub standard_items_implemented: usize,
    /// Of those, items where the region deviates from the standard.
    pub standard_items_with_deviations: usize,
}

/// How many items one ordered pair recognises today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PairCount {
    /// Issuing region.
    pub issued_in: RegionCode,
    /// Accepting region.
    pub used_in: RegionCode,
    /// Items whose decision is `recognised` on `as_of`.
    pub recognised_items: usize,
}

/// Catalog statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Stats {
    /// The day decisions were taken for (China Standard Time).
    pub as_of: NaiveDate,
    /// Digest of the catalog content the figures come from.
    pub catalog_digest: String,
    /// Number of recognition items.
    pub recognition_items: usize,
    /// Number of standard items.
    pub standard_items: usize,
    /// Number of scenarios.
    pub scenarios: usize,
    /// Per region.
    pub by_region: BTreeMap<String, RegionCounts>,
    /// Recognition items per kind.
    pub recognition_items_by_kind: BTreeMap<String, usize>,
    /// Recognition items per sector.
    pub recognition_items_by_sector: BTreeMap<String, usize>,
    /// Recognition items per status.
    pub recognition_items_by_status: BTreeMap<String, usize>,
    /// Items recognised per ordered pair on `as_of`.
    pub recognised_pairs: Vec<PairCount>,
    /// Standard items per item type.
    pub standard_items_by_type: BTreeMap<String, usize>,
    /// Standard items per sector.
    pub standard_items_by_sector: BTreeMap<String, usize>,
    /// Standard items per status.
    pub standard_items_by_status: BTreeMap<String, usize>,
    /// Standard items where at least one region deviates.
    pub standard_items_with_deviations: usize,
}

fn keys_for(code: &str, name_zh: &str, name_en: &str, aliases: &[String]) -> SearchKeys {
    SearchKeys::new(
        [code, name_zh, name_en]
            .into_iter()
            .chain(aliases.iter().map(String::as_str)),
    )
}

fn index_by_code<T: Coded>(entries: &[T]) -> HashMap<String, usize> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.code().to_owned(), i))
        .collect()
}

/// Entries after `page.after` that satisfy `keep`, at most `page.limit`.
fn paginate<'a, T: Coded>(
    entries: &'a [T],
    page: &PageRequest,
    keep: impl Fn(usize, &T) -> bool,
) -> Page<'a, T> {
    let start = match &page.after {
        Some(after) => entries.partition_point(|e| e.code() <= after.as_str()),
        None => 0,
    };
    let mut items = Vec::with_capacity(page.limit.min(entries.len()));
    let mut has_more = false;
    for (index, entry) in entries.iter().enumerate().skip(start) {
        if keep(index, entry) {
            if items.len() == page.limit {
                has_more = true;
                break;
            }
            items.push(entry);
        }
    }
    Page { items, has_more }
}

fn digest_of(content: &CatalogContent) -> String {
    let everything = (
        &content.regions,
        &content.sectors,
        &content.batches,
        &content.recognition_items,
        &content.standard_items,
        &content.scenarios,
    );
    // Serialising plain data to JSON cannot fail; an empty digest input would still be stable.
    let bytes = serde_json::to_vec(&everything).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::sample;

    #[test]
    fn the_digest_is_a_function_of_the_content_alone() {
        let digest = |content| Catalog::build(content).unwrap().digest().to_owned();
        let first = digest(sample());
        assert_eq!(first.len(), 24, "{first}");
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");
        // Order of loading does not matter: the same entries give the same digest.
        let mut reversed = sample();
        reversed.recognition_items.reverse();
        assert_eq!(digest(reversed), first);
        // Any change to what a client reads gives another digest, so ETags change too.
        let mut renamed = sample();
        renamed.recognition_items[0].name_en.push('.');
        let mut scenario_renamed = sample();
        scenario_renamed.scenarios[0].name_zh.push('。');
        let changed = [digest(renamed), digest(scenario_renamed)];
        assert!(
            changed.iter().all(|d| *d != first),
            "{changed:?} vs {first}"
        );
        assert_ne!(changed[0], changed[1]);
    }
}
