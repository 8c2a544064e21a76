//! Entry history (版本历史): every version of every catalog entry as the registry
//! recorded it, who or what made it, and the field-level difference between two.
//! Auditors and courts ask "what did the registry say then?"; these types answer.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::change::{ChangeKind, ChangedEntryKind};
use super::proposal::{FieldChange, diff};
use super::region::RegionCode;

/// How one version of an entry came to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "version": 3, "seq": 152, "recorded_at": "2026-12-01T08:15:02.123456Z",
    "change": "local_part_changed", "region": "TJ", "proposal": null,
    "actor": "tj-admin-01", "batch": "JJJ-2024-01"
}))]
pub struct VersionInfo {
    /// The entry's version (1, 2, 3, …); every accepted change makes a new one.
    pub version: i64,
    /// The change of the feed (`/api/v1/changes`) that made it.
    pub seq: i64,
    /// When it was recorded (UTC, to the microsecond).
    pub recorded_at: DateTime<Utc>,
    /// What made it: a proposal applied (`entry_created`, `entry_changed`,
    /// `entry_retired`), a region's own edit (`local_part_changed`) or a unilateral act
    /// (`acceptance_suspended`, `acceptance_reinstated`).
    pub change: ChangeKind,
    /// The region that made a regional change; `null` for shared changes.
    #[schema(value_type = Option<String>, example = "TJ")]
    pub region: Option<RegionCode>,
    /// The proposal that made a shared change (its votes say who agreed).
    pub proposal: Option<i64>,
    /// The token subject (`sub`) that made a regional change; `null` for shared changes
    /// and for versions recorded before the registry kept history.
    pub actor: Option<String>,
    /// The batch (and so the document) the entry was published in, as of this version.
    pub batch: Option<String>,
}

/// One version of an entry: how it came to be and the entry as it was.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct EntryVersion {
    /// How this version came to be.
    #[serde(flatten)]
    pub info: VersionInfo,
    /// The kind of entry.
    pub entry_kind: ChangedEntryKind,
    /// The entry as it was at this version, exactly as its own read returned it then
    /// (without the `provenance` block).
    #[schema(value_type = Object)]
    pub entry: Value,
}

impl EntryVersion {
    /// How this version came to be, with the batch it names.
    pub fn new(mut info: VersionInfo, entry_kind: ChangedEntryKind, entry: Value) -> Self {
        info.batch = entry["batch"].as_str().map(str::to_owned);
        Self {
            info,
            entry_kind,
            entry,
        }
    }

    /// Lists the entry's regions and sides in the regions' display order (BJ, TJ, HE),
    /// as every read of the entry does; `rank` gives a region's place.
    pub fn in_region_order(mut self, rank: impl Fn(&str) -> usize) -> Self {
        let region_rank = |value: &Value| rank(value.as_str().unwrap_or_default());
        // `get_mut`, not indexing: indexing would add the member to entries without it.
        if let Some(regions) = self.entry.get_mut("regions").and_then(Value::as_array_mut) {
            regions.sort_by_key(|region| region_rank(region));
        }
        if let Some(parts) = self
            .entry
            .get_mut("local_parts")
            .and_then(Value::as_array_mut)
        {
            parts.sort_by_key(|part| region_rank(&part["region"]));
        }
        self
    }
}

/// Every version of one entry, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VersionList {
    /// The kind of entry.
    pub entry_kind: ChangedEntryKind,
    /// Its code.
    pub code: String,
    /// Its versions, oldest first.
    pub versions: Vec<VersionInfo>,
}

/// What changed between two versions of one entry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VersionDiff {
    /// The kind of entry.
    pub entry_kind: ChangedEntryKind,
    /// Its code.
    pub code: String,
    /// The earlier version compared.
    pub from: VersionInfo,
    /// The later version compared.
    pub to: VersionInfo,
    /// Every field that differs, by path; `version` itself is left out.
    pub changes: Vec<FieldChange>,
}

impl VersionDiff {
    /// The fields that differ between `from` and `to` (in either order of versions).
    pub fn between(from: EntryVersion, to: EntryVersion) -> Self {
        let changes = diff(&from.entry, &to.entry)
            .into_iter()
            .filter(|change| change.path != "version")
            .collect();
        Self {
            entry_kind: to.entry_kind,
            code: to.entry["code"].as_str().unwrap_or_default().to_owned(),
            from: from.info,
            to: to.info,
            changes,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn version(number: i64, entry: Value) -> EntryVersion {
        let info = VersionInfo {
            version: number,
            seq: number * 10,
            recorded_at: DateTime::from_timestamp(1_700_000_000 + number, 0).unwrap(),
            change: ChangeKind::LocalPartChanged,
            region: None,
            proposal: None,
            actor: None,
            batch: None,
        };
        EntryVersion::new(info, ChangedEntryKind::RecognitionItem, entry)
    }

    #[test]
    fn a_version_names_the_batch_its_entry_cites() {
        let cited = version(1, json!({"code": "RI-1", "batch": "JJJ-2024-01"}));
        assert_eq!(cited.info.batch.as_deref(), Some("JJJ-2024-01"));
        assert_eq!(version(1, json!({"code": "B"})).info.batch, None);
    }

    #[test]
    fn regions_and_sides_follow_the_display_order() {
        let stored = version(
            1,
            json!({"regions": ["BJ", "HE", "TJ"], "local_parts": [
                {"region": "BJ", "n": 1}, {"region": "HE", "n": 2}, {"region": "TJ", "n": 3}]}),
        );
        let rank = |code: &str| ["BJ", "TJ", "HE"].iter().position(|c| *c == code).unwrap();
        assert_eq!(
            stored.in_region_order(rank).entry,
            json!({"regions": ["BJ", "TJ", "HE"], "local_parts": [
                {"region": "BJ", "n": 1}, {"region": "TJ", "n": 3}, {"region": "HE", "n": 2}]})
        );
        let target = version(1, json!({"code": "TG-1", "regions": null}));
        assert_eq!(target.clone().in_region_order(|_| 0), target);
    }

    #[test]
    fn a_diff_lists_the_fields_that_changed_but_not_the_version_number() {
        let from = version(
            1,
            json!({"code": "RI-1", "version": 1, "name_en": "A", "aliases": ["x"]}),
        );
        let to = version(
            2,
            json!({"code": "RI-1", "version": 2, "name_en": "B", "aliases": ["x"]}),
        );
        let compared = VersionDiff::between(from.clone(), to.clone());
        assert_eq!(
            compared,
            VersionDiff {
                entry_kind: ChangedEntryKind::RecognitionItem,
                code: "RI-1".into(),
                from: from.info,
                to: to.info,
                changes: vec![FieldChange {
                    path: "name_en".into(),
                    before: json!("A"),
                    after: json!("B"),
                }],
            }
        );
    }
}
