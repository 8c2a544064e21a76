//! What a bulk import (批量导入) asks of the registry once its file is read: the
//! importing region's own sides, changed directly, and everything shared, gathered
//! into one proposal that the regions taking part approve jointly. The same rules as
//! one edit at a time: a region speaks only for its own side.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::catalog::{Batch, CatalogContent};
use super::exchange::{EntryIndex, ImportProblem, Owner};
use super::proposal::{ChangeRequest, CreateChange, SharedEntryKind, UpdateChange};
use super::region::RegionCode;

/// Most changes one import's proposal may carry: the 10,000 rows an import takes.
pub const MAX_IMPORT_CHANGES: usize = 10_000;

/// One region's side of an entry that an import changes directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LocalPartImport {
    /// `recognition_items` or `standard_items`.
    #[schema(example = "recognition_items")]
    pub kind: &'static str,
    /// The entry's code.
    #[schema(example = "RI-CON-002")]
    pub code: String,
    /// The region whose side it is: the importing token's.
    #[schema(value_type = String, example = "TJ")]
    pub region: RegionCode,
    /// The side as imported.
    #[serde(skip)]
    pub part: Value,
}

/// What an import does: its region's sides directly, the rest by one proposal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportPlan {
    /// Sides of the importing region that change, applied at once.
    pub local_parts: Vec<LocalPartImport>,
    /// Shared changes (new entries, changed shared fields, regions joining), for one
    /// proposal.
    pub changes: Vec<ChangeRequest>,
    /// A batch the file publishes, which the proposal publishes with its changes.
    pub batch: Option<Batch>,
}

fn shared_kind(owner: Owner) -> Option<SharedEntryKind> {
    match owner {
        Owner::Batch => None,
        Owner::RecognitionItem => Some(SharedEntryKind::RecognitionItem),
        Owner::StandardItem => Some(SharedEntryKind::StandardItem),
        Owner::Scenario => Some(SharedEntryKind::Scenario),
        Owner::Target => Some(SharedEntryKind::Target),
    }
}

/// An entry's shared fields and its local parts, by region in their order.
pub fn split_local_parts(mut entry: Value) -> (Value, Vec<(String, Value)>) {
    let parts = match entry
        .as_object_mut()
        .and_then(|fields| fields.shift_remove("local_parts"))
    {
        Some(Value::Array(parts)) => parts,
        _ => Vec::new(),
    };
    let parts = parts
        .into_iter()
        .map(|part| {
            let region = part
                .get("region")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            (region, part)
        })
        .collect();
    (entry, parts)
}

/// A merge patch (RFC 7396) turning the shared fields `before` into `after`: every
/// field of `after` but the code, and `null` for a field `after` leaves out.
fn merge_patch(before: &Value, after: &Value) -> Value {
    let mut patch = Map::new();
    if let (Some(before), Some(after)) = (before.as_object(), after.as_object()) {
        for (key, value) in after {
            if key != "code" && before.get(key) != Some(value) {
                patch.insert(key.clone(), value.clone());
            }
        }
        for key in before.keys() {
            if !after.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    Value::Object(patch)
}

/// Why an import cannot be planned: its problems, and whether one of them is a side
/// of another region (a question of who may, answered 403, not of what was sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRefusal {
    /// Every problem found.
    pub problems: Vec<ImportProblem>,
    /// Whether a problem is a side of another region.
    pub forbidden: bool,
}

/// Splits what the file would make of the catalog (`next`, the entries `named`)
/// into `region`'s own sides and the shared changes. A side of another region that
/// already exists cannot be changed by this region's import, nor can a published batch
/// or the removal of a side; each such refusal is a problem on the entry.
pub fn plan_import(
    base: &CatalogContent,
    next: &CatalogContent,
    named: &[(Owner, String)],
    region: &RegionCode,
) -> Result<ImportPlan, ImportRefusal> {
    let mut plan = ImportPlan::default();
    let mut problems = Vec::new();
    let mut forbidden = false;
    let (in_base, in_next) = (EntryIndex::of(base), EntryIndex::of(next));
    for (owner, code) in named {
        let problem = |text: String| ImportProblem {
            sheet: owner.json_key().to_owned(),
            row: None,
            column: None,
            value: Some(code.clone()),
            problem: text,
        };
        let Some((after, _)) = in_next.entry(next, *owner, code) else {
            continue;
        };
        let before = in_base.entry(base, *owner, code);
        let Some(kind) = shared_kind(*owner) else {
            match before {
                None if plan.batch.is_none() => {
                    plan.batch = next.batches.iter().find(|b| &b.code == code).cloned();
                }
                None => problems.push(problem(
                    "an import publishes at most one new batch; its changes take effect with it"
                        .into(),
                )),
                Some((before, _)) if before == after => {}
                Some(_) => problems.push(problem(format!(
                    "batch {code} is published; its document does not change"
                ))),
            }
            continue;
        };
        let Some((before, version)) = before else {
            plan.changes
                .push(ChangeRequest::Create(CreateChange { kind, entry: after }));
            continue;
        };
        let (shared_before, parts_before) = split_local_parts(before);
        let (shared_after, parts_after) = split_local_parts(after);
        let mut joining = Vec::new();
        for (part_region, part) in &parts_after {
            match parts_before.iter().find(|(r, _)| r == part_region) {
                None => joining.push(part.clone()),
                Some((_, old)) if old == part => {}
                Some(_) if part_region == region.as_str() => {
                    plan.local_parts.push(LocalPartImport {
                        kind: owner.json_key(),
                        code: code.clone(),
                        region: region.clone(),
                        part: part.clone(),
                    });
                }
                Some(_) => {
                    forbidden = true;
                    problems.push(problem(format!(
                        "{part_region}'s side of {code} is {part_region}'s to change; a token of {region} imports only {region}'s sides"
                    )));
                }
            }
        }
        for (part_region, _) in &parts_before {
            if !parts_after.iter().any(|(r, _)| r == part_region) {
                problems.push(problem(format!(
                    "{part_region}'s side of {code} is missing; an import does not remove a region's side"
                )));
            }
        }
        if shared_before != shared_after || !joining.is_empty() {
            plan.changes.push(ChangeRequest::Update(UpdateChange {
                kind,
                code: code.clone(),
                base_version: version,
                patch: merge_patch(&shared_before, &shared_after),
                add_local_parts: joining,
            }));
        }
    }
    if plan.changes.len() > MAX_IMPORT_CHANGES {
        problems.push(ImportProblem {
            sheet: String::new(),
            row: None,
            column: None,
            value: None,
            problem: format!(
                "the file makes {} shared changes; one import proposes at most {MAX_IMPORT_CHANGES}",
                plan.changes.len()
            ),
        });
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(ImportRefusal {
            problems,
            forbidden,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::exchange::exchanged_entry;
    use crate::domain::test_support::{region, sample};

    fn named(content: &CatalogContent, owner: Owner, code: &str) -> Vec<(Owner, String)> {
        assert!(
            EntryIndex::of(content)
                .entry(content, owner, code)
                .is_some()
        );
        vec![(owner, code.to_owned())]
    }

    #[test]
    fn a_regions_own_side_is_edited_directly_and_nothing_is_proposed() {
        let base = sample();
        let mut next = base.clone();
        let item = &mut next.recognition_items[0];
        let code = item.code.clone();
        let side = item
            .local_parts
            .iter_mut()
            .find(|p| p.region.as_str() == "TJ")
            .unwrap();
        side.contact = Some("022-5555-0000".into());
        let plan = plan_import(
            &base,
            &next,
            &named(&next, Owner::RecognitionItem, &code),
            &region("TJ"),
        )
        .unwrap();
        assert!(plan.changes.is_empty());
        assert_eq!(plan.local_parts.len(), 1);
        assert_eq!(plan.local_parts[0].code, code);
        assert_eq!(plan.local_parts[0].region, region("TJ"));
        assert_eq!(plan.local_parts[0].part["contact"], "022-5555-0000");
        // Beijing's token cannot carry the same file.
        let refusal = plan_import(
            &base,
            &next,
            &named(&next, Owner::RecognitionItem, &code),
            &region("BJ"),
        )
        .unwrap_err();
        assert!(refusal.forbidden);
        let problems = refusal.problems;
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].problem,
            format!("TJ's side of {code} is TJ's to change; a token of BJ imports only BJ's sides")
        );
    }

    #[test]
    fn shared_fields_new_entries_and_joining_regions_become_one_proposal() {
        let base = sample();
        let mut next = base.clone();
        next.recognition_items[0].legal_basis = "《新的依据》".into();
        next.recognition_items[0].status_since = None;
        let mut created = base.scenarios[0].clone();
        created.code = "SC-NEW".into();
        next.scenarios.push(created.clone());
        let names = vec![
            (
                Owner::RecognitionItem,
                next.recognition_items[0].code.clone(),
            ),
            (Owner::Scenario, "SC-NEW".to_owned()),
        ];
        let plan = plan_import(&base, &next, &names, &region("HE")).unwrap();
        assert!(plan.local_parts.is_empty());
        assert_eq!(plan.changes.len(), 2);
        let ChangeRequest::Update(update) = &plan.changes[0] else {
            panic!()
        };
        assert_eq!(update.code, base.recognition_items[0].code);
        assert_eq!(update.base_version, base.recognition_items[0].version);
        assert_eq!(update.patch, json!({"legal_basis": "《新的依据》"}));
        assert!(update.add_local_parts.is_empty());
        let ChangeRequest::Create(create) = &plan.changes[1] else {
            panic!()
        };
        assert_eq!(create.kind, SharedEntryKind::Scenario);
        assert_eq!(create.entry, exchanged_entry(&created));
    }

    #[test]
    fn a_published_batch_and_a_removed_side_are_refused() {
        let base = sample();
        let mut next = base.clone();
        next.batches[0].title_en = "Renamed".into();
        let item = next
            .recognition_items
            .iter_mut()
            .find(|i| i.local_parts.len() == 3)
            .unwrap();
        let code = item.code.clone();
        item.local_parts.retain(|p| p.region.as_str() != "BJ");
        let names = vec![
            (Owner::Batch, base.batches[0].code.clone()),
            (Owner::RecognitionItem, code.clone()),
        ];
        let refusal = plan_import(&base, &next, &names, &region("BJ")).unwrap_err();
        assert!(
            !refusal.forbidden,
            "a batch and a missing side are not a question of who may"
        );
        let problems = refusal.problems;
        let texts: Vec<&str> = problems.iter().map(|p| p.problem.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                format!(
                    "batch {} is published; its document does not change",
                    base.batches[0].code
                )
                .as_str(),
                format!(
                    "BJ's side of {code} is missing; an import does not remove a region's side"
                )
                .as_str(),
            ]
        );
    }

    #[test]
    fn the_patch_sets_what_changed_and_clears_what_is_left_out() {
        let before = json!({"code": "X", "a": 1, "b": [1], "c": "gone"});
        let after = json!({"code": "X", "a": 1, "b": [2]});
        assert_eq!(merge_patch(&before, &after), json!({"b": [2], "c": null}));
    }
}
