//! The in-process read model of the current catalog: every entry plus the indexes the
//! read API needs (by code, by a region's local code, search keys, precomputed 四同一互
//! conformity). Built whole from stored content; the database remains the truth.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::catalog::{
    Batch, CatalogContent, Channel, EntryKind, EntryStatus, ImplementationStatus, ItemKind,
    Programme, RecognitionItem, Scenario, Sector, StandardItem, StandardItemType, Target,
    TargetMetric, TargetState, status_on, validate_catalog,
};
use super::deviation::{Aspect, Direction, RegionConformity, check_item};
use super::recognition::{Decision, decide};
use super::region::{Region, RegionCode};
use super::search::{SearchKeys, fold, fold_for_search};

/// Whether a difference leaning `actual` answers a filter for `wanted`: a mixed
/// difference is both stricter and more convenient.
fn leans(actual: Direction, wanted: Direction) -> bool {
    actual == wanted
        || (actual == Direction::Mixed
            && matches!(wanted, Direction::Stricter | Direction::MoreConvenient))
}

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

impl Coded for Batch {
    fn code(&self) -> &str {
        &self.code
    }
}

impl Coded for Target {
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
    /// No such programme.
    #[error("unknown programme `{0}`")]
    UnknownProgramme(String),
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

/// The standard-item list's own filters.
#[derive(Debug, Clone)]
pub struct ServiceFilter {
    /// Items of this type.
    pub item_type: Option<StandardItemType>,
    /// Items belonging to this programme on `today`.
    pub programme: Option<String>,
    /// Items some region (the filter's region, when given) handles through this channel.
    pub channel: Option<Channel>,
    /// The day programme membership is judged on.
    pub today: NaiveDate,
}

/// Filters of the scenario list; each is optional.
#[derive(Debug, Clone, Default)]
pub struct ScenarioFilter {
    /// Scenarios in which this region participates.
    pub region: Option<RegionCode>,
    /// Scenarios with this status.
    pub status: Option<EntryStatus>,
    /// Scenarios launched in this calendar year.
    pub launched_in: Option<i32>,
    /// Free text over code and names.
    pub text: Option<String>,
}

/// What one batch published.
#[derive(Debug)]
pub struct BatchContents<'a> {
    /// Recognition items citing the batch.
    pub recognition_items: Vec<&'a RecognitionItem>,
    /// Standard items citing the batch.
    pub standard_items: Vec<&'a StandardItem>,
    /// Scenarios launched under the batch.
    pub scenarios: Vec<&'a Scenario>,
    /// Programme memberships the batch announced: the item and the programme code.
    pub memberships: Vec<(&'a StandardItem, &'a str)>,
}

/// Where a target stands on a day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TargetProgress {
    /// The day progress is counted for.
    pub on: NaiveDate,
    /// The count on that day.
    pub value: u32,
    /// The count to reach.
    pub target_value: u32,
    /// How many are still missing (0 once met).
    pub remaining: u32,
    /// `value` as a percentage of `target_value`, one decimal, not capped at 100.
    #[schema(example = 36.8)]
    pub percent: f64,
    /// Met, open (deadline ahead) or missed (deadline passed).
    pub state: TargetState,
    /// Days from `on` to the deadline; negative once it has passed.
    pub days_to_deadline: i64,
}

impl TargetProgress {
    fn new(value: u32, target_value: u32, deadline: NaiveDate, on: NaiveDate) -> Self {
        let state = if value >= target_value {
            TargetState::Met
        } else if on <= deadline {
            TargetState::Open
        } else {
            TargetState::Missed
        };
        Self {
            on,
            value,
            target_value,
            remaining: target_value.saturating_sub(value),
            // Tenths of a percent, rounded half up, in integers so the figure is exact.
            percent: f64::from(
                u32::try_from(
                    (u64::from(value) * 1000 + u64::from(target_value) / 2)
                        / u64::from(target_value.max(1)),
                )
                .unwrap_or(u32::MAX),
            ) / 10.0,
            state,
            days_to_deadline: (deadline - on).num_days(),
        }
    }
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
#[cfg_attr(test, derive(PartialEq))]
pub struct Catalog {
    regions: Vec<Region>,
    sectors: Vec<Sector>,
    programmes: Vec<Programme>,
    /// In publication order (then code).
    batches: Vec<Batch>,
    batch_by_code: HashMap<String, usize>,
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
    targets: Vec<Target>,
    target_by_code: HashMap<String, usize>,
    entry_digests: EntryDigests,
    digest: String,
    /// Each recognition item's answer once rendered, shared with the next catalog while
    /// the item and its batch are unchanged.
    recognition_rendered: Vec<RenderSlot>,
    /// Each standard item's answer once rendered.
    standard_rendered: Vec<RenderSlot>,
}

/// An entry's answer as a reader renders it (for the HTTP layer: its JSON bytes and
/// entity tag), rendered on first use and kept while the entry is unchanged: entries
/// are read far more often than they change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The entity tag of `body`.
    pub etag: String,
    /// The rendered answer.
    pub body: Vec<u8>,
}

/// Where an entry's rendered answer is kept; cloned (shared) into the next catalog for
/// an entry that a change left alone.
type RenderSlot = std::sync::Arc<std::sync::OnceLock<Rendered>>;

/// The answer in `slot`, rendering it with `render` if it is not there yet. Concurrent
/// first readers may each render; they render the same bytes and one is kept.
fn rendered_in<'c, T, E>(
    slot: &'c RenderSlot,
    entry: &'c T,
    render: impl FnOnce(&'c T) -> Result<Rendered, E>,
) -> Result<&'c Rendered, E> {
    if let Some(rendered) = slot.get() {
        return Ok(rendered);
    }
    let rendered = render(entry)?;
    Ok(slot.get_or_init(|| rendered))
}

/// SHA-256 of each entry's content, aligned with the entry lists, so that a change
/// rehashes only the entries it changed.
#[derive(Debug, Clone, Default)]
#[cfg_attr(test, derive(PartialEq))]
struct EntryDigests {
    reference: [u8; 32],
    batches: Vec<[u8; 32]>,
    recognition_items: Vec<[u8; 32]>,
    standard_items: Vec<[u8; 32]>,
    scenarios: Vec<[u8; 32]>,
    targets: Vec<[u8; 32]>,
}

impl EntryDigests {
    /// The catalog's digest: of the reference data and every entry's, in order.
    fn combined(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(self.reference);
        for digests in [
            &self.batches,
            &self.recognition_items,
            &self.standard_items,
            &self.scenarios,
            &self.targets,
        ] {
            // The count keeps entries of one kind from passing for another's.
            hasher.update((digests.len() as u64).to_le_bytes());
            for digest in digests {
                hasher.update(digest);
            }
        }
        hasher
            .finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The catalog a change starts from, and the codes it changes (batches, recognition
/// items, service items, scenarios, targets).
struct Previous<'a> {
    catalog: &'a Catalog,
    changed: [HashSet<String>; 5],
}

fn codes_of<T: Coded>(entries: &[T]) -> HashSet<String> {
    entries.iter().map(|e| e.code().to_owned()).collect()
}

/// `current` with each of `changed` in place of the entry with its code, or added.
fn merged<T: Coded + Clone>(current: &[T], changed: Vec<T>) -> Vec<T> {
    let mut changed: HashMap<String, T> = changed
        .into_iter()
        .map(|entry| (entry.code().to_owned(), entry))
        .collect();
    let mut entries: Vec<T> = current
        .iter()
        .map(|entry| {
            changed
                .remove(entry.code())
                .unwrap_or_else(|| entry.clone())
        })
        .collect();
    entries.extend(changed.into_values());
    entries
}

/// For each of `entries`, what `previous` computed for it (found through the index and
/// values `cached` picks) when the change left it alone, and `make` of it otherwise.
fn reuse<T: Coded, V: Clone>(
    entries: &[T],
    previous: Option<&Previous<'_>>,
    kind: usize,
    cached: impl for<'c> Fn(&'c Catalog) -> (&'c HashMap<String, usize>, &'c Vec<V>),
    make: impl Fn(&T) -> V,
) -> Vec<V> {
    entries
        .iter()
        .map(|entry| {
            previous
                .filter(|p| !p.changed[kind].contains(entry.code()))
                .and_then(|p| {
                    let (index, values) = cached(p.catalog);
                    index
                        .get(entry.code())
                        .and_then(|&i| values.get(i))
                        .cloned()
                })
                .unwrap_or_else(|| make(entry))
        })
        .collect()
}

/// Puts the regions each item lists, and its local parts, in the catalog's order of
/// regions (BJ, TJ, HE), as every answer shows them: two catalogs that differ only in
/// the order of those lists are the same catalog.
pub fn in_region_order(content: &mut CatalogContent) {
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
}

impl Catalog {
    /// Validates `content` and builds the indexes.
    pub fn build(content: CatalogContent) -> Result<Self, Vec<String>> {
        validate_catalog(&content)?;
        Ok(Self::assemble(content, None))
    }

    /// This catalog with `changed` entries (as stored now) in place of those with their
    /// codes, or added: what an instance does with each page of the change feed.
    /// Reference data (regions, sectors, programmes) is kept. The writer validated the
    /// catalog its change made, so the rules are not checked again; the indexes, search
    /// keys and digests of unchanged entries are reused.
    pub fn with_changes(&self, changed: CatalogContent) -> Self {
        let previous = Previous {
            catalog: self,
            changed: [
                codes_of(&changed.batches),
                codes_of(&changed.recognition_items),
                codes_of(&changed.standard_items),
                codes_of(&changed.scenarios),
                codes_of(&changed.targets),
            ],
        };
        let content = CatalogContent {
            regions: self.regions.clone(),
            sectors: self.sectors.clone(),
            programmes: self.programmes.clone(),
            batches: merged(&self.batches, changed.batches),
            recognition_items: merged(&self.recognition_items, changed.recognition_items),
            standard_items: merged(&self.standard_items, changed.standard_items),
            scenarios: merged(&self.scenarios, changed.scenarios),
            targets: merged(&self.targets, changed.targets),
        };
        Self::assemble(content, Some(previous))
    }

    /// Orders the entries and builds the indexes, reusing what `previous` computed for
    /// entries it did not change.
    fn assemble(mut content: CatalogContent, previous: Option<Previous<'_>>) -> Self {
        in_region_order(&mut content);
        content
            .recognition_items
            .sort_by(|a, b| a.code.cmp(&b.code));
        content.standard_items.sort_by(|a, b| a.code.cmp(&b.code));
        content.scenarios.sort_by(|a, b| a.code.cmp(&b.code));
        content.targets.sort_by(|a, b| a.code.cmp(&b.code));
        content
            .batches
            .sort_by(|a, b| (a.published_on, &a.code).cmp(&(b.published_on, &b.code)));

        let previous = previous.as_ref();
        let reference_digest = match previous {
            Some(previous) => previous.catalog.entry_digests.reference,
            None => digest_of(&(&content.regions, &content.sectors, &content.programmes)),
        };
        let entry_digests = EntryDigests {
            reference: reference_digest,
            batches: reuse(
                &content.batches,
                previous,
                0,
                |c| (&c.batch_by_code, &c.entry_digests.batches),
                digest_of,
            ),
            recognition_items: reuse(
                &content.recognition_items,
                previous,
                1,
                |c| (&c.recognition_by_code, &c.entry_digests.recognition_items),
                digest_of,
            ),
            standard_items: reuse(
                &content.standard_items,
                previous,
                2,
                |c| (&c.standard_by_code, &c.entry_digests.standard_items),
                digest_of,
            ),
            scenarios: reuse(
                &content.scenarios,
                previous,
                3,
                |c| (&c.scenario_by_code, &c.entry_digests.scenarios),
                digest_of,
            ),
            targets: reuse(
                &content.targets,
                previous,
                4,
                |c| (&c.target_by_code, &c.entry_digests.targets),
                digest_of,
            ),
        };
        let recognition_keys = reuse(
            &content.recognition_items,
            previous,
            1,
            |c| (&c.recognition_by_code, &c.recognition_keys),
            |i| keys_for(&i.code, &i.name_zh, &i.name_en, &i.aliases),
        );
        let standard_keys = reuse(
            &content.standard_items,
            previous,
            2,
            |c| (&c.standard_by_code, &c.standard_keys),
            |i| keys_for(&i.code, &i.name_zh, &i.name_en, &i.aliases),
        );
        let scenario_keys = reuse(
            &content.scenarios,
            previous,
            3,
            |c| (&c.scenario_by_code, &c.scenario_keys),
            |s| keys_for(&s.code, &s.name_zh, &s.name_en, &[]),
        );
        let conformity = reuse(
            &content.standard_items,
            previous,
            2,
            |c| (&c.standard_by_code, &c.conformity),
            check_item,
        );
        // An entry's answer names its batch (provenance): a change to any batch renders
        // every answer afresh.
        let render_previous = previous.filter(|p| p.changed[0].is_empty());
        let recognition_rendered = reuse(
            &content.recognition_items,
            render_previous,
            1,
            |c| (&c.recognition_by_code, &c.recognition_rendered),
            |_| RenderSlot::default(),
        );
        let standard_rendered = reuse(
            &content.standard_items,
            render_previous,
            2,
            |c| (&c.standard_by_code, &c.standard_rendered),
            |_| RenderSlot::default(),
        );
        let mut recognition_by_local_code = HashMap::new();
        for (index, item) in content.recognition_items.iter().enumerate() {
            for part in &item.local_parts {
                if let Some(code) = &part.local_code {
                    recognition_by_local_code
                        .insert((part.region.clone(), fold(code.trim())), index);
                }
            }
        }
        Self {
            digest: entry_digests.combined(),
            entry_digests,
            conformity,
            recognition_by_code: index_by_code(&content.recognition_items),
            standard_by_code: index_by_code(&content.standard_items),
            scenario_by_code: index_by_code(&content.scenarios),
            batch_by_code: index_by_code(&content.batches),
            batches: content.batches,
            programmes: content.programmes,
            target_by_code: index_by_code(&content.targets),
            targets: content.targets,
            regions: content.regions,
            sectors: content.sectors,
            recognition_items: content.recognition_items,
            recognition_keys,
            recognition_by_local_code,
            standard_items: content.standard_items,
            standard_keys,
            scenarios: content.scenarios,
            scenario_keys,
            recognition_rendered,
            standard_rendered,
        }
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
        self.batch_by_code.get(code).map(|&i| &self.batches[i])
    }

    /// The day the first batch was published.
    pub fn first_publication(&self) -> Option<NaiveDate> {
        self.batches.first().map(|b| b.published_on)
    }

    /// Every batch, in publication order.
    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }

    /// The service programmes, in display order.
    pub fn programmes(&self) -> &[Programme] {
        &self.programmes
    }

    /// Every target, in code order.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Every recognition item, in code order.
    pub fn recognition_items(&self) -> &[RecognitionItem] {
        &self.recognition_items
    }

    /// Every standard item, in code order.
    pub fn standard_items(&self) -> &[StandardItem] {
        &self.standard_items
    }

    /// Every scenario, in code order.
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The catalog's content: what a bulk import is read against.
    pub fn content(&self) -> CatalogContent {
        CatalogContent {
            regions: self.regions.clone(),
            sectors: self.sectors.clone(),
            programmes: self.programmes.clone(),
            batches: self.batches.clone(),
            recognition_items: self.recognition_items.clone(),
            standard_items: self.standard_items.clone(),
            scenarios: self.scenarios.clone(),
            targets: self.targets.clone(),
        }
    }

    /// A target by code.
    pub fn target(&self, code: &str) -> Option<&Target> {
        self.target_by_code.get(code).map(|&i| &self.targets[i])
    }

    /// What `batch` published: its entries of each kind and the programme memberships it
    /// announced, each in code order.
    pub fn batch_contents(&self, batch: &str) -> BatchContents<'_> {
        let mut memberships = Vec::new();
        for item in &self.standard_items {
            for membership in item.programmes.iter().filter(|m| m.batch == batch) {
                memberships.push((item, membership.programme.as_str()));
            }
        }
        BatchContents {
            recognition_items: self
                .recognition_items
                .iter()
                .filter(|i| i.batch == batch)
                .collect(),
            standard_items: self
                .standard_items
                .iter()
                .filter(|i| i.batch == batch)
                .collect(),
            scenarios: self.scenarios.iter().filter(|s| s.batch == batch).collect(),
            memberships,
        }
    }

    /// The day an entry's batch was published (validation guarantees the batch exists).
    fn published_on(&self, batch: &str) -> Option<NaiveDate> {
        self.batch(batch).map(|b| b.published_on)
    }

    /// Recognition items in the catalog on `day`: published by then and not retired.
    fn recognition_items_on(&self, day: NaiveDate) -> impl Iterator<Item = &RecognitionItem> {
        self.recognition_items.iter().filter(move |item| {
            self.published_on(&item.batch).is_some_and(|p| p <= day)
                && status_on(item.status, item.status_since, day) != EntryStatus::Retired
        })
    }

    /// Standard items in the catalog on `day`: published by then and not retired.
    fn standard_items_on(&self, day: NaiveDate) -> impl Iterator<Item = &StandardItem> {
        self.standard_items.iter().filter(move |item| {
            self.published_on(&item.batch).is_some_and(|p| p <= day)
                && status_on(item.status, None, day) != EntryStatus::Retired
        })
    }

    /// Scenarios launched by `day` and not retired.
    fn scenarios_on(&self, day: NaiveDate) -> impl Iterator<Item = &Scenario> {
        self.scenarios.iter().filter(move |s| {
            s.launched_on <= day && status_on(s.status, s.status_since, day) != EntryStatus::Retired
        })
    }

    /// The count a target's metric measures on `day`: entries in the catalog that day,
    /// narrowed by the metric; the window applies to the day each entry was published
    /// (a scenario: launched; a service item in a programme: joined).
    pub fn count(&self, metric: &TargetMetric, day: NaiveDate) -> usize {
        let in_window = |date: NaiveDate| {
            metric.window_from.is_none_or(|from| from <= date)
                && metric.window_to.is_none_or(|to| date <= to)
        };
        let region = metric.region.as_ref();
        match metric.counts {
            EntryKind::RecognitionItem => self
                .recognition_items_on(day)
                .filter(|item| region.is_none_or(|r| item.regions.contains(r)))
                .filter(|item| metric.item_kind.is_none_or(|k| item.kind == k))
                .filter(|item| self.published_on(&item.batch).is_some_and(in_window))
                .count(),
            EntryKind::StandardItem => self
                .standard_items_on_or_joined(metric.programme.as_deref(), day)
                .filter(|(item, _)| {
                    region.is_none_or(|r| item.local_parts.iter().any(|p| &p.region == r))
                })
                .filter(|(_, since)| in_window(*since))
                .count(),
            EntryKind::Scenario => self
                .scenarios_on(day)
                .filter(|s| region.is_none_or(|r| s.regions.contains(r)))
                .filter(|s| in_window(s.launched_on))
                .count(),
        }
    }

    /// Standard items in the catalog on `day` with the day they entered what is
    /// counted: the catalog (publication) or, given a programme, that programme.
    fn standard_items_on_or_joined<'a>(
        &'a self,
        programme: Option<&'a str>,
        day: NaiveDate,
    ) -> impl Iterator<Item = (&'a StandardItem, NaiveDate)> + 'a {
        self.standard_items_on(day)
            .filter_map(move |item| match programme {
                None => self.published_on(&item.batch).map(|p| (item, p)),
                Some(code) => item
                    .programmes
                    .iter()
                    .find(|m| m.programme == code && m.covers(day))
                    .map(|m| (item, m.joined_on)),
            })
    }

    /// A target's progress on `day`.
    pub fn progress(&self, target: &Target, day: NaiveDate) -> TargetProgress {
        let value = u32::try_from(self.count(&target.metric, day)).unwrap_or(u32::MAX);
        TargetProgress::new(value, target.target_value, target.deadline, day)
    }

    /// A recognition item by code.
    pub fn recognition_item(&self, code: &str) -> Option<&RecognitionItem> {
        self.recognition_by_code
            .get(code)
            .map(|&i| &self.recognition_items[i])
    }

    /// The answer for recognition item `code` as `render` renders it, rendered once per
    /// version of the item; `None` when there is no such item.
    pub fn rendered_recognition_item<'c, E>(
        &'c self,
        code: &str,
        render: impl FnOnce(&'c RecognitionItem) -> Result<Rendered, E>,
    ) -> Option<Result<&'c Rendered, E>> {
        let &index = self.recognition_by_code.get(code)?;
        Some(rendered_in(
            &self.recognition_rendered[index],
            &self.recognition_items[index],
            render,
        ))
    }

    /// The answer for standard item `code` as `render` renders it, rendered once per
    /// version of the item; `None` when there is no such item.
    pub fn rendered_standard_item<'c, E>(
        &'c self,
        code: &str,
        render: impl FnOnce(&'c StandardItem) -> Result<Rendered, E>,
    ) -> Option<Result<&'c Rendered, E>> {
        let &index = self.standard_by_code.get(code)?;
        Some(rendered_in(
            &self.standard_rendered[index],
            &self.standard_items[index],
            render,
        ))
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

    /// Lists standard items matching `filter` and `service`, in code order.
    pub fn list_standard_items(
        &self,
        filter: &EntryFilter,
        service: &ServiceFilter,
        page: &PageRequest,
    ) -> Result<Page<'_, StandardItem>, FilterError> {
        if let Some(code) = &service.programme
            && !self.programmes.iter().any(|p| &p.code == code)
        {
            return Err(FilterError::UnknownProgramme(code.clone()));
        }
        self.list_entries(
            &self.standard_items,
            &self.standard_keys,
            filter,
            |scenario| &scenario.standard_items,
            |item| {
                service.item_type.is_none_or(|t| item.item_type == t)
                    && service.programme.as_deref().is_none_or(|code| {
                        item.programmes
                            .iter()
                            .any(|m| m.programme == code && m.covers(service.today))
                    })
                    && service.channel.is_none_or(|channel| {
                        item.local_parts.iter().any(|part| {
                            filter.region.as_ref().is_none_or(|r| &part.region == r)
                                && part.channels.contains(&channel)
                        })
                    })
            },
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

    /// Lists scenarios matching `filter`, in code order.
    pub fn list_scenarios(
        &self,
        filter: &ScenarioFilter,
        page: &PageRequest,
    ) -> Result<Page<'_, Scenario>, FilterError> {
        if let Some(region) = &filter.region
            && !self.has_region(region)
        {
            return Err(FilterError::UnknownRegion(region.to_string()));
        }
        let query = filter.text.as_deref().map(fold_for_search);
        Ok(paginate(&self.scenarios, page, |index, scenario| {
            filter
                .region
                .as_ref()
                .is_none_or(|r| scenario.regions.contains(r))
                && filter.status.is_none_or(|s| scenario.status == s)
                && filter
                    .launched_in
                    .is_none_or(|year| scenario.launched_on.year() == year)
                && query
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
        direction: Option<Direction>,
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
                    .filter(|c| {
                        c.differences.iter().any(|d| {
                            aspect.is_none_or(|a| d.aspect() == a)
                                && direction.is_none_or(|wanted| leans(d.direction(), wanted))
                        })
                    })
                    .collect();
                (!deviating.is_empty()).then_some((item, deviating))
            })
            .collect())
    }

    /// Per-region totals of a deviation listing: items in which each region deviates
    /// (stricter, more convenient), and how many of them differ in each aspect (only
    /// `aspect`, when given).
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
                    items_stricter: 0,
                    items_more_convenient: 0,
                    by_aspect: BTreeMap::new(),
                };
                for conformity in deviating
                    .iter()
                    .flat_map(|(_, regions)| regions)
                    .filter(|c| c.region == r.code)
                {
                    summary.items_with_deviations += 1;
                    summary.items_stricter += usize::from(conformity.stricter);
                    summary.items_more_convenient += usize::from(conformity.more_convenient);
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

    /// Catalog statistics: what was in the catalog on `day` (published by then, not
    /// retired), and, given a window, what was newly published in it.
    pub fn stats(&self, day: NaiveDate, window: Option<(NaiveDate, NaiveDate)>) -> Stats {
        let mut stats = Stats {
            as_of: day,
            catalog_digest: self.digest.clone(),
            ..Stats::default()
        };
        for item in self.recognition_items_on(day) {
            stats.recognition_items += 1;
            bump(&mut stats.recognition_items_by_kind, item.kind.as_str());
            bump(&mut stats.recognition_items_by_sector, &item.sector);
            bump(
                &mut stats.recognition_items_by_status,
                status_on(item.status, item.status_since, day).as_str(),
            );
            bump(&mut stats.by_batch, &item.batch);
            for region in &item.regions {
                stats.region(region).recognition_items += 1;
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
                        decide(item, &region.code, &acceptor.code, day)
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
        let conformity: HashMap<&str, &Vec<RegionConformity>> = self
            .standard_items
            .iter()
            .map(|i| i.code.as_str())
            .zip(&self.conformity)
            .collect();
        for item in self.standard_items_on(day) {
            stats.standard_items += 1;
            bump(&mut stats.standard_items_by_type, item.item_type.as_str());
            bump(&mut stats.standard_items_by_sector, &item.sector);
            bump(&mut stats.standard_items_by_status, item.status.as_str());
            bump(&mut stats.by_batch, &item.batch);
            for membership in item.programmes.iter().filter(|m| m.covers(day)) {
                bump(
                    &mut stats.standard_items_by_programme,
                    &membership.programme,
                );
            }
            let report = conformity
                .get(item.code.as_str())
                .copied()
                .into_iter()
                .flatten();
            let mut deviates = false;
            for conformity in report {
                let counts = stats.region(&conformity.region);
                counts.standard_items += 1;
                if conformity.implementation_status == ImplementationStatus::Implemented {
                    counts.standard_items_implemented += 1;
                }
                if !conformity.conforms {
                    counts.standard_items_with_deviations += 1;
                    deviates = true;
                }
                counts.standard_items_stricter += usize::from(conformity.stricter);
                counts.standard_items_more_convenient += usize::from(conformity.more_convenient);
            }
            for part in &item.local_parts {
                let counts = stats.region(&part.region);
                for membership in item.programmes.iter().filter(|m| m.covers(day)) {
                    bump(
                        &mut counts.standard_items_by_programme,
                        &membership.programme,
                    );
                }
                for channel in &part.channels {
                    bump(&mut counts.standard_items_by_channel, channel.as_str());
                }
            }
            if deviates {
                stats.standard_items_with_deviations += 1;
            }
        }
        for scenario in self.scenarios_on(day) {
            stats.scenarios += 1;
            bump(
                &mut stats.scenarios_by_status,
                status_on(scenario.status, scenario.status_since, day).as_str(),
            );
            bump(&mut stats.by_batch, &scenario.batch);
            for region in &scenario.regions {
                stats.region(region).scenarios += 1;
            }
        }
        stats.published = window.map(|(from, to)| self.published_between(from, to));
        stats
    }

    /// What was newly published (launched, joined) from `from` to `to`, both inclusive,
    /// whatever became of it later.
    fn published_between(&self, from: NaiveDate, to: NaiveDate) -> PublishedCounts {
        let within = |date: Option<NaiveDate>| date.is_some_and(|d| from <= d && d <= to);
        let mut counts = PublishedCounts {
            from,
            to,
            ..PublishedCounts::default()
        };
        for item in &self.recognition_items {
            if within(self.published_on(&item.batch)) {
                counts.recognition_items += 1;
                bump(&mut counts.recognition_items_by_kind, item.kind.as_str());
                bump(&mut counts.by_batch, &item.batch);
                for region in &item.regions {
                    counts.region(region).recognition_items += 1;
                }
            }
        }
        for item in &self.standard_items {
            if within(self.published_on(&item.batch)) {
                counts.standard_items += 1;
                bump(&mut counts.by_batch, &item.batch);
                for part in &item.local_parts {
                    counts.region(&part.region).standard_items += 1;
                }
            }
            for membership in item.programmes.iter().filter(|m| within(Some(m.joined_on))) {
                bump(&mut counts.programme_memberships, &membership.programme);
            }
        }
        for scenario in &self.scenarios {
            if within(Some(scenario.launched_on)) {
                counts.scenarios += 1;
                bump(&mut counts.by_batch, &scenario.batch);
                for region in &scenario.regions {
                    counts.region(region).scenarios += 1;
                }
            }
        }
        counts
    }
}

fn bump(counts: &mut BTreeMap<String, usize>, key: &str) {
    *counts.entry(key.to_owned()).or_default() += 1;
}

impl Stats {
    fn region(&mut self, region: &RegionCode) -> &mut RegionCounts {
        self.by_region.entry(region.to_string()).or_default()
    }
}

impl PublishedCounts {
    fn region(&mut self, region: &RegionCode) -> &mut PublishedRegionCounts {
        self.by_region.entry(region.to_string()).or_default()
    }
}

/// How many standard items deviate, per region and aspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeviationSummary {
    /// The region.
    pub region: RegionCode,
    /// Standard items in which the region deviates.
    pub items_with_deviations: usize,
    /// Of those, items where the region is stricter than the standard in some respect
    /// (to be fixed).
    pub items_stricter: usize,
    /// Of those, items where the region is more convenient in some respect.
    pub items_more_convenient: usize,
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
    /// Of those, items where the region is stricter than the standard (to be fixed).
    pub standard_items_stricter: usize,
    /// Of those, items where the region is more convenient than the standard.
    pub standard_items_more_convenient: usize,
    /// Standard items per programme they belong to on the day.
    pub standard_items_by_programme: BTreeMap<String, usize>,
    /// Standard items per channel through which the region handles them.
    pub standard_items_by_channel: BTreeMap<String, usize>,
    /// Scenarios the region participates in.
    pub scenarios: usize,
}

/// What a window saw published, per region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublishedRegionCounts {
    /// Recognition items published in which the region participates.
    pub recognition_items: usize,
    /// Standard items published that the region takes part in.
    pub standard_items: usize,
    /// Scenarios launched in which the region participates.
    pub scenarios: usize,
}

/// What was newly published, launched or joined in a window (both ends inclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct PublishedCounts {
    /// First day of the window.
    pub from: NaiveDate,
    /// Last day of the window.
    pub to: NaiveDate,
    /// Recognition items whose batch was published in the window.
    pub recognition_items: usize,
    /// Those per kind.
    pub recognition_items_by_kind: BTreeMap<String, usize>,
    /// Standard items whose batch was published in the window.
    pub standard_items: usize,
    /// Scenarios launched in the window.
    pub scenarios: usize,
    /// Service items that joined each programme in the window.
    pub programme_memberships: BTreeMap<String, usize>,
    /// Per region.
    pub by_region: BTreeMap<String, PublishedRegionCounts>,
    /// Entries per batch.
    pub by_batch: BTreeMap<String, usize>,
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
    /// Recognition items in the catalog on `as_of` (published by then, not retired).
    pub recognition_items: usize,
    /// Standard items in the catalog on `as_of`.
    pub standard_items: usize,
    /// Scenarios launched by `as_of` and not retired.
    pub scenarios: usize,
    /// Per region.
    pub by_region: BTreeMap<String, RegionCounts>,
    /// Recognition items per kind.
    pub recognition_items_by_kind: BTreeMap<String, usize>,
    /// Recognition items per sector.
    pub recognition_items_by_sector: BTreeMap<String, usize>,
    /// Recognition items per status on `as_of`.
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
    /// Standard items per programme they belong to on `as_of`.
    pub standard_items_by_programme: BTreeMap<String, usize>,
    /// Scenarios per status on `as_of`.
    pub scenarios_by_status: BTreeMap<String, usize>,
    /// Entries in the catalog on `as_of` per batch that published them.
    pub by_batch: BTreeMap<String, usize>,
    /// With `from`/`to`: what was newly published in that window; otherwise `null`.
    pub published: Option<PublishedCounts>,
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

/// SHA-256 of a value's JSON form (plain data: serialising it cannot fail).
fn digest_of<T: Serialize + ?Sized>(value: &T) -> [u8; 32] {
    Sha256::digest(serde_json::to_vec(value).unwrap_or_default()).into()
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

    #[test]
    fn an_answer_is_rendered_once_per_version_of_its_entry() {
        let content = sample();
        let before = Catalog::build(content.clone()).unwrap();
        let (kept, changed) = (&content.recognition_items[0], &content.recognition_items[1]);
        let renders = std::cell::Cell::new(0);
        let render = |item: &RecognitionItem| {
            renders.set(renders.get() + 1);
            Ok::<_, ()>(Rendered {
                etag: format!("\"{}.{}\"", item.code, item.name_en),
                body: item.name_en.clone().into_bytes(),
            })
        };
        let read = |catalog: &Catalog, code: &str| {
            catalog
                .rendered_recognition_item(code, render)
                .unwrap()
                .unwrap()
                .clone()
        };
        let first = read(&before, &kept.code);
        assert_eq!(first.body, kept.name_en.as_bytes());
        assert_eq!(read(&before, &kept.code), first);
        read(&before, &changed.code);
        assert_eq!(renders.get(), 2, "each once");
        assert!(
            before
                .rendered_recognition_item("RI-NONE", render)
                .is_none()
        );
        let standard = &content.standard_items[0];
        let standard_answer = before
            .rendered_standard_item(&standard.code, |item| {
                Ok::<_, ()>(Rendered {
                    etag: "\"s\"".into(),
                    body: item.code.clone().into_bytes(),
                })
            })
            .unwrap()
            .unwrap();
        assert_eq!(standard_answer.body, standard.code.as_bytes());

        // A change to one item: the other's answer is kept, the changed one's rendered anew.
        let mut renamed = changed.clone();
        renamed.name_en.push_str(" (renamed)");
        let after = before.with_changes(CatalogContent {
            recognition_items: vec![renamed.clone()],
            ..CatalogContent::default()
        });
        assert_eq!(read(&after, &kept.code), first);
        assert_eq!(renders.get(), 2, "kept, not rendered again");
        assert_eq!(read(&after, &changed.code).body, renamed.name_en.as_bytes());
        assert_eq!(renders.get(), 3);

        // A changed batch: every answer names its batch, so all are rendered anew.
        let mut batch = content.batches[0].clone();
        batch.title_en.push_str(" (corrected)");
        let rebatched = after.with_changes(CatalogContent {
            batches: vec![batch],
            ..CatalogContent::default()
        });
        read(&rebatched, &kept.code);
        assert_eq!(renders.get(), 4);
    }

    /// `changed` applied to the sample catalog, incrementally and by building it whole.
    fn both_ways(changed: CatalogContent) -> (Catalog, Catalog) {
        let before = Catalog::build(sample()).unwrap();
        let mut whole = sample();
        whole.batches = merged(&whole.batches, changed.batches.clone());
        whole.recognition_items =
            merged(&whole.recognition_items, changed.recognition_items.clone());
        whole.standard_items = merged(&whole.standard_items, changed.standard_items.clone());
        whole.scenarios = merged(&whole.scenarios, changed.scenarios.clone());
        whole.targets = merged(&whole.targets, changed.targets.clone());
        (before.with_changes(changed), Catalog::build(whole).unwrap())
    }

    #[test]
    fn changes_applied_to_a_catalog_give_the_catalog_built_whole() {
        let content = sample();
        // No change: the same catalog.
        let (incremental, whole) = both_ways(CatalogContent::default());
        assert_eq!(incremental, whole);
        assert_eq!(incremental, Catalog::build(sample()).unwrap());

        // One entry of every kind changed, and a new item that sorts first.
        let mut item = content.recognition_items[3].clone();
        item.name_zh = "更名后的证书".into();
        item.aliases.push("gmhdzs".into());
        let part = &mut item.local_parts[0];
        part.local_code = Some("NEW-LOCAL-CODE".into());
        let mut added = content.recognition_items[0].clone();
        added.code = "AA-NEW-001".into();
        for part in &mut added.local_parts {
            part.local_code = part.local_code.as_ref().map(|code| format!("{code}-NEW"));
        }
        let mut standard = content.standard_items[1].clone();
        standard.name_en.push_str(" (renamed)");
        standard.local_parts[0].time_limit_days = Some(1);
        let mut scenario = content.scenarios[0].clone();
        scenario.name_zh.push('新');
        let mut target = content.targets[0].clone();
        target.target_value += 1;
        let mut batch = content.batches[0].clone();
        batch.title_en.push_str(" (corrected)");
        let changed = CatalogContent {
            batches: vec![batch],
            recognition_items: vec![item.clone(), added.clone()],
            standard_items: vec![standard.clone()],
            scenarios: vec![scenario],
            targets: vec![target],
            ..CatalogContent::default()
        };
        let (incremental, whole) = both_ways(changed);
        assert_eq!(incremental, whole);
        assert_ne!(
            incremental.digest(),
            Catalog::build(sample()).unwrap().digest()
        );
        // What the indexes answer reflects the change, not the old entry.
        let region = &item.local_parts[0].region;
        assert_eq!(
            incremental
                .recognition_item_by_local_code(region, "new-local-code")
                .map(|i| i.code.as_str()),
            Some(item.code.as_str())
        );
        assert_eq!(incremental.recognition_items[0].code, "AA-NEW-001");
        assert_eq!(incremental.recognition_item("AA-NEW-001"), Some(&added));
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn progress_rounds_to_tenths_half_up_and_says_where_the_target_stands() {
        let deadline = day("2025-12-31");
        let at = |value, target, on: &str| TargetProgress::new(value, target, deadline, day(on));
        let third = at(1, 3, "2025-12-30");
        assert_eq!(
            (
                third.percent,
                third.remaining,
                third.state,
                third.days_to_deadline
            ),
            (33.3, 2, TargetState::Open, 1)
        );
        // 1/8 = 12.5 % exactly; 1/16 = 6.25 % rounds up to 6.3; 2/3 = 66.67 % to 66.7.
        assert_eq!(at(1, 8, "2025-01-01").percent, 12.5);
        assert_eq!(at(1, 16, "2025-01-01").percent, 6.3);
        assert_eq!(at(2, 3, "2025-01-01").percent, 66.7);
        // The deadline day itself is still open; the day after, missed.
        assert_eq!(at(39, 40, "2025-12-31").state, TargetState::Open);
        assert_eq!(at(39, 40, "2025-12-31").days_to_deadline, 0);
        let late = at(39, 40, "2026-01-01");
        assert_eq!(
            (late.state, late.days_to_deadline),
            (TargetState::Missed, -1)
        );
        // Reaching the value is met, before or after the deadline; beyond it is not capped.
        let met = at(40, 40, "2026-06-01");
        assert_eq!(
            (met.state, met.remaining, met.percent),
            (TargetState::Met, 0, 100.0)
        );
        let beyond = at(50, 40, "2025-01-01");
        assert_eq!(
            (beyond.state, beyond.remaining, beyond.percent),
            (TargetState::Met, 0, 125.0)
        );
        assert_eq!(
            (beyond.value, beyond.target_value, beyond.on),
            (50, 40, day("2025-01-01"))
        );
    }

    #[test]
    fn a_metric_counts_entries_in_the_catalog_on_the_day_narrowed_by_its_fields() {
        let catalog = Catalog::build(sample()).unwrap();
        let metric = |counts| TargetMetric {
            counts,
            programme: None,
            region: None,
            item_kind: None,
            window_from: None,
            window_to: None,
        };
        let on = day("2025-12-31");
        let items = metric(EntryKind::RecognitionItem);
        let all = catalog.count(&items, on);
        let region = RegionCode::parse("BJ").unwrap();
        let in_bj = TargetMetric {
            region: Some(region.clone()),
            ..items.clone()
        };
        let expected_bj = catalog
            .recognition_items_on(on)
            .filter(|i| i.regions.contains(&region))
            .count();
        assert!(expected_bj < all);
        assert_eq!(catalog.count(&in_bj, on), expected_bj);
        let results = TargetMetric {
            item_kind: Some(ItemKind::TestResult),
            ..items.clone()
        };
        let expected_results = catalog
            .recognition_items_on(on)
            .filter(|i| i.kind == ItemKind::TestResult)
            .count();
        assert!(0 < expected_results && expected_results < all);
        assert_eq!(catalog.count(&results, on), expected_results);
        // The window's ends are inclusive: JJJ-2025-01 was published on 2025-05-20.
        let of_batch = catalog
            .batch_contents("JJJ-2025-01")
            .recognition_items
            .len();
        let window = |from: &str, to: &str| TargetMetric {
            window_from: Some(day(from)),
            window_to: Some(day(to)),
            ..items.clone()
        };
        assert_eq!(
            catalog.count(&window("2025-05-20", "2025-05-20"), on),
            of_batch
        );
        assert_eq!(catalog.count(&window("2025-05-21", "2025-12-31"), on), 0);
        assert_eq!(catalog.count(&window("2025-01-01", "2025-05-19"), on), 0);
        // Standard items: in a region's list; scenarios: in which the region takes part.
        let standard_in_tj = TargetMetric {
            region: Some(RegionCode::parse("TJ").unwrap()),
            ..metric(EntryKind::StandardItem)
        };
        let expected_tj = catalog
            .standard_items_on(on)
            .filter(|i| i.local_parts.iter().any(|p| p.region.as_str() == "TJ"))
            .count();
        assert!(expected_tj < catalog.count(&metric(EntryKind::StandardItem), on));
        assert_eq!(catalog.count(&standard_in_tj, on), expected_tj);
        let scenarios_in_he = TargetMetric {
            region: Some(RegionCode::parse("HE").unwrap()),
            ..metric(EntryKind::Scenario)
        };
        // SC-011 is Beijing and Tianjin only.
        assert_eq!(
            catalog.count(&scenarios_in_he, on),
            catalog.count(&metric(EntryKind::Scenario), on) - 1
        );
        // Before anything was published, nothing counts.
        assert_eq!(catalog.count(&items, day("2021-04-27")), 0);
        assert_eq!(
            catalog.count(&items, day("2021-04-28")),
            catalog
                .batch_contents("JJJ-2021-01")
                .recognition_items
                .len()
        );
    }
}
