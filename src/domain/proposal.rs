//! Proposals (变更提案): how a shared part of the catalog changes. Creating an entry,
//! changing its shared fields (names, legal basis, arrangements between regions, …),
//! retiring it, or publishing a batch of such changes under one document takes effect
//! only when every participating region's approver has approved; any rejection ends it.
//!
//! A proposal is planned against the catalog as it stands: each change records the
//! shared content it was based on (`before`) and the content it asks for (`after`).
//! It applies only while every `before` still holds; a proposal overtaken by another
//! change is `conflicted` and never applied. Local parts are not shared and do not
//! conflict: a region keeps editing its own side while a proposal is pending.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::catalog::{
    Batch, CatalogContent, EntryKind, EntryStatus, RecognitionItem, Scenario, StandardItem, Target,
    validate_catalog,
};
use super::governance::{InvalidEdit, MAX_FIELD_CHARS, Principal, Refusal, Role, merge_patch};
use super::region::RegionCode;
use super::text_enum;

text_enum! {
    /// The kinds of entry a proposal creates, changes or retires.
    pub enum SharedEntryKind {
        /// 资质资格互认事项
        RecognitionItem = "recognition_item",
        /// 政务服务事项
        StandardItem = "standard_item",
        /// 互认场景
        Scenario = "scenario",
        /// 工作目标 of an annual work plan
        Target = "target",
    }
}

text_enum! {
    /// What one change of a proposal does.
    pub enum ChangeAction {
        /// Adds a new entry.
        Create = "create",
        /// Changes an entry's shared fields (a merge patch), possibly adding regions' sides.
        Update = "update",
        /// Retires an entry from a day on.
        Retire = "retire",
    }
}

text_enum! {
    /// Where a proposal stands.
    pub enum ProposalState {
        /// Waiting for votes.
        Open = "open",
        /// Every participating region approved; the changes are in the catalog.
        Applied = "applied",
        /// A participating region rejected it.
        Rejected = "rejected",
        /// The proposing region took it back.
        Withdrawn = "withdrawn",
        /// The catalog changed under it (or it would now break a catalog rule); never applied.
        Conflicted = "conflicted",
    }
}

text_enum! {
    /// A region's vote on a proposal.
    pub enum Ballot {
        /// The region agrees.
        Approve = "approve",
        /// The region disagrees; the proposal is rejected.
        Reject = "reject",
    }
}

/// Most changes one proposal may carry (a batch publishes at most this many).
pub const MAX_CHANGES: usize = 200;
/// Longest proposal title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// Fields a change may never set: the server keeps them.
/// (`suspensions` are the accepting regions' own acts, never proposed.)
const SERVER_OWNED_ENTRY_FIELDS: &[&str] = &["version", "updated_at", "suspensions"];

/// A proposal as submitted: what to change and why.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalDraft {
    /// One line saying what the proposal does (1–200 characters).
    #[schema(example = "Tianjin accepts Hebei's Grade II constructor certificates from 2027")]
    pub title: String,
    /// Why, for the approvers (at most 2000 characters).
    #[serde(default)]
    pub rationale: Option<String>,
    /// A batch (批次) to publish: its document takes effect with the changes, all or
    /// nothing. Entries created by the proposal then cite this batch.
    #[serde(default)]
    pub batch: Option<Batch>,
    /// The changes, applied together (1–200).
    pub changes: Vec<ChangeRequest>,
}

/// One change of a proposal.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ChangeRequest {
    /// Adds a new entry.
    Create(CreateChange),
    /// Changes an existing entry's shared fields.
    Update(UpdateChange),
    /// Retires an existing entry from a day on.
    Retire(RetireChange),
}

/// Adds a new entry of `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChange {
    /// The kind of entry.
    pub kind: SharedEntryKind,
    /// The whole entry as the catalog serves it, without `version` and `updated_at`;
    /// its local parts included.
    #[schema(value_type = Object)]
    pub entry: Value,
}

/// Changes an existing entry's shared fields.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChange {
    /// The kind of entry.
    pub kind: SharedEntryKind,
    /// The entry's code.
    #[schema(example = "RI-CON-002")]
    pub code: String,
    /// The entry version the change was written against (as read).
    #[schema(example = 1)]
    pub base_version: i64,
    /// A JSON merge patch (RFC 7396) of the shared fields. `code`, `version`,
    /// `updated_at` and `local_parts` cannot be patched; arrays (such as
    /// `arrangements`) are replaced whole.
    #[schema(value_type = Object)]
    pub patch: Value,
    /// Sides of regions joining the entry (regions without a local part yet).
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub add_local_parts: Vec<Value>,
}

/// Retires an existing entry from a day on.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireChange {
    /// The kind of entry (targets are not retired).
    pub kind: SharedEntryKind,
    /// The entry's code.
    #[schema(example = "RI-CON-002")]
    pub code: String,
    /// The entry version the change was written against.
    #[schema(example = 1)]
    pub base_version: i64,
    /// The first day the entry is retired.
    pub effective_on: NaiveDate,
    /// The entry of the same kind that replaces this one (取代), if any: an existing
    /// entry or one this proposal creates.
    #[serde(default)]
    #[schema(example = "RI-CON-003")]
    pub superseded_by: Option<String>,
}

/// One change as planned against the catalog: the shared content it was based on and
/// the content it asks for. Shared content is the entry without `version`,
/// `updated_at`, `local_parts` and `suspensions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PlannedChange {
    /// What the change does.
    pub action: ChangeAction,
    /// The kind of entry.
    pub kind: SharedEntryKind,
    /// The entry's code.
    pub code: String,
    /// The entry version the change was written against; `null` for a new entry.
    pub base_version: Option<i64>,
    /// The shared content when proposed; `null` for a new entry.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The shared content asked for.
    #[schema(value_type = Object)]
    pub after: Value,
    /// Sides added: every side of a new entry, or those of regions joining.
    #[schema(value_type = Vec<Object>)]
    pub added_local_parts: Vec<Value>,
}

/// A proposal ready to be recorded: its changes and the regions that must approve.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The changes, in the order submitted.
    pub changes: Vec<PlannedChange>,
    /// Every region whose approval is needed, in the catalog's order of regions.
    pub participants: Vec<RegionCode>,
}

/// Why a draft cannot become a proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The draft is malformed or would break the catalog (400).
    Invalid(InvalidEdit),
    /// A change was written against a version that is no longer current (409).
    Stale(String),
}

impl From<InvalidEdit> for PlanError {
    fn from(invalid: InvalidEdit) -> Self {
        Self::Invalid(invalid)
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> InvalidEdit {
    InvalidEdit {
        problems: vec![(field.into(), message.into())],
    }
}

/// Plans `draft` against `content`: every change resolved, the resulting catalog
/// checked against every catalog rule, the participating regions gathered.
pub fn plan(content: &CatalogContent, draft: &ProposalDraft) -> Result<Plan, PlanError> {
    plan_up_to(content, draft, MAX_CHANGES)
}

/// [`plan`] for a draft of up to `max_changes` changes (a bulk import's proposal).
pub fn plan_up_to(
    content: &CatalogContent,
    draft: &ProposalDraft,
    max_changes: usize,
) -> Result<Plan, PlanError> {
    let title_chars = draft.title.trim().chars().count();
    if title_chars == 0
        || title_chars > MAX_TITLE_CHARS
        || draft.title.chars().any(char::is_control)
    {
        return Err(invalid(
            "title",
            format!("a title is 1 to {MAX_TITLE_CHARS} characters of one line"),
        )
        .into());
    }
    if draft
        .rationale
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_FIELD_CHARS)
    {
        return Err(invalid(
            "rationale",
            format!("is longer than {MAX_FIELD_CHARS} characters"),
        )
        .into());
    }
    if draft.changes.is_empty() || draft.changes.len() > max_changes {
        return Err(invalid(
            "changes",
            format!("a proposal carries 1 to {max_changes} changes"),
        )
        .into());
    }
    let mut seen = BTreeSet::new();
    let mut changes = Vec::with_capacity(draft.changes.len());
    for (index, request) in draft.changes.iter().enumerate() {
        let field = format!("changes[{index}]");
        let change = plan_change(content, draft.batch.as_ref(), request, &field)?;
        if !seen.insert((change.kind, change.code.clone())) {
            return Err(invalid(
                field,
                format!(
                    "{} {} is changed twice; one change per entry",
                    change.kind, change.code
                ),
            )
            .into());
        }
        changes.push(change);
    }
    let mut next = content.clone();
    if let Some(batch) = &draft.batch {
        if content.batches.iter().any(|b| b.code == batch.code) {
            return Err(
                invalid("batch.code", format!("batch {} already exists", batch.code)).into(),
            );
        }
        next.batches.push(batch.clone());
    }
    for change in &changes {
        apply_change(&mut next, change).map_err(|message| invalid("changes", message))?;
    }
    validate_catalog(&next).map_err(|problems| InvalidEdit {
        problems: problems
            .into_iter()
            .map(|p| ("changes".to_owned(), p))
            .collect(),
    })?;
    let mut participants = BTreeSet::new();
    if draft.batch.is_some() {
        // A batch is a joint document of the whole programme.
        participants.extend(content.regions.iter().map(|r| r.code.clone()));
    }
    for change in &changes {
        participants.extend(change_participants(content, &next, change));
    }
    // In the catalog's own order of regions (BJ, TJ, HE), as everywhere else.
    let participants = content
        .regions
        .iter()
        .map(|r| r.code.clone())
        .filter(|code| participants.contains(code))
        .collect();
    Ok(Plan {
        changes,
        participants,
    })
}

fn plan_change(
    content: &CatalogContent,
    batch: Option<&Batch>,
    request: &ChangeRequest,
    field: &str,
) -> Result<PlannedChange, PlanError> {
    match request {
        ChangeRequest::Create(create) => {
            let Value::Object(entry) = &create.entry else {
                return Err(invalid(format!("{field}.entry"), "must be a JSON object").into());
            };
            refuse_server_owned(entry, &format!("{field}.entry"))?;
            let mut entry = entry.clone();
            let local_parts = match entry.shift_remove("local_parts") {
                Some(Value::Array(parts)) => parts,
                None if create.kind.has_local_parts() => {
                    return Err(
                        invalid(format!("{field}.entry.local_parts"), "missing field").into(),
                    );
                }
                None => Vec::new(),
                Some(_) => {
                    return Err(
                        invalid(format!("{field}.entry.local_parts"), "must be an array").into(),
                    );
                }
            };
            let code = entry
                .get("code")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| invalid(format!("{field}.entry.code"), "missing or not text"))?;
            if entry_exists(content, create.kind, &code) {
                return Err(invalid(
                    format!("{field}.entry.code"),
                    format!("{} {code} already exists", create.kind),
                )
                .into());
            }
            if let Some(batch) = batch {
                let cited = entry.get("batch").and_then(Value::as_str);
                if create.kind != SharedEntryKind::Target && cited != Some(batch.code.as_str()) {
                    return Err(invalid(
                        format!("{field}.entry.batch"),
                        format!(
                            "an entry created by this proposal is published in its batch {}",
                            batch.code
                        ),
                    )
                    .into());
                }
            }
            let change = PlannedChange {
                action: ChangeAction::Create,
                kind: create.kind,
                code,
                base_version: None,
                before: None,
                after: Value::Object(entry),
                added_local_parts: local_parts,
            };
            // Typed once here so that a malformed entry is refused naming its field.
            typed_entry(&change, None, 1).map_err(|m| invalid(format!("{field}.entry"), m))?;
            Ok(change)
        }
        ChangeRequest::Update(update) => {
            let Value::Object(patch) = &update.patch else {
                return Err(invalid(format!("{field}.patch"), "must be a JSON object").into());
            };
            refuse_server_owned(patch, &format!("{field}.patch"))?;
            for fixed in ["code", "local_parts"] {
                if patch.contains_key(fixed) {
                    let why = if fixed == "code" {
                        "an entry's code never changes"
                    } else {
                        "each region changes its own side through …/local-parts/{region}; a joining region's side goes in add_local_parts"
                    };
                    return Err(invalid(format!("{field}.patch.{fixed}"), why).into());
                }
            }
            let current = current_entry(content, update.kind, &update.code, update.base_version)?;
            let mut after = current.clone();
            merge_patch(&mut after, &update.patch);
            if after == current && update.add_local_parts.is_empty() {
                return Err(invalid(
                    format!("{field}.patch"),
                    "changes nothing: the entry already reads so",
                )
                .into());
            }
            let change = PlannedChange {
                action: ChangeAction::Update,
                kind: update.kind,
                code: update.code.clone(),
                base_version: Some(update.base_version),
                before: Some(current),
                after,
                added_local_parts: update.add_local_parts.clone(),
            };
            let existing = find_entry(content, update.kind, &update.code)
                .map(EntryRef::sides)
                .unwrap_or_default();
            for (i, part) in update.add_local_parts.iter().enumerate() {
                let region = part.get("region").and_then(Value::as_str).unwrap_or("");
                if existing.iter().any(|r| r.as_str() == region) {
                    return Err(invalid(
                        format!("{field}.add_local_parts[{i}].region"),
                        format!("{region} already has a side; it edits it through …/local-parts/{region}"),
                    )
                    .into());
                }
            }
            Ok(change)
        }
        ChangeRequest::Retire(retire) => {
            if retire.kind == SharedEntryKind::Target {
                return Err(invalid(
                    format!("{field}.kind"),
                    "a target is met or missed, not retired; change its deadline or value instead",
                )
                .into());
            }
            let current = current_entry(content, retire.kind, &retire.code, retire.base_version)?;
            if current.get("status").and_then(Value::as_str) == Some(EntryStatus::Retired.as_str())
            {
                return Err(invalid(
                    format!("{field}.code"),
                    format!("{} is already retired", retire.code),
                )
                .into());
            }
            let mut after = current.clone();
            if let Value::Object(fields) = &mut after {
                fields.insert("status".into(), EntryStatus::Retired.as_str().into());
                if retire.kind != SharedEntryKind::StandardItem {
                    fields.insert(
                        "status_since".into(),
                        retire.effective_on.to_string().into(),
                    );
                }
                // Whether it names an entry of the same kind is checked with the catalog
                // the proposal would make (a successor may be created beside it).
                if let Some(successor) = &retire.superseded_by {
                    fields.insert("superseded_by".into(), successor.clone().into());
                }
            }
            Ok(PlannedChange {
                action: ChangeAction::Retire,
                kind: retire.kind,
                code: retire.code.clone(),
                base_version: Some(retire.base_version),
                before: Some(current),
                after,
                added_local_parts: Vec::new(),
            })
        }
    }
}

fn refuse_server_owned(fields: &Map<String, Value>, field: &str) -> Result<(), InvalidEdit> {
    let problems: Vec<(String, String)> = SERVER_OWNED_ENTRY_FIELDS
        .iter()
        .filter(|name| fields.contains_key(**name))
        .map(|name| {
            (
                format!("{field}.{name}"),
                "is set by the server and cannot be proposed".to_owned(),
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(InvalidEdit { problems })
    }
}

impl SharedEntryKind {
    /// Whether entries of this kind have regional sides.
    pub fn has_local_parts(self) -> bool {
        matches!(self, Self::RecognitionItem | Self::StandardItem)
    }

    /// The entry kind a batch publishes, for the kinds batches cite.
    pub fn entry_kind(self) -> Option<EntryKind> {
        match self {
            Self::RecognitionItem => Some(EntryKind::RecognitionItem),
            Self::StandardItem => Some(EntryKind::StandardItem),
            Self::Scenario => Some(EntryKind::Scenario),
            Self::Target => None,
        }
    }
}

fn entry_exists(content: &CatalogContent, kind: SharedEntryKind, code: &str) -> bool {
    entry_version(content, kind, code).is_some()
}

/// The entry's current version, if it exists.
pub fn entry_version(content: &CatalogContent, kind: SharedEntryKind, code: &str) -> Option<i64> {
    find_entry(content, kind, code).map(|entry| entry.version())
}

/// The entry's shared content as the catalog holds it now, if it exists.
pub fn shared_content(
    content: &CatalogContent,
    kind: SharedEntryKind,
    code: &str,
) -> Option<Value> {
    let Ok(Value::Object(mut fields)) = find_entry(content, kind, code)?.to_value() else {
        return None;
    };
    // `shift_remove` keeps the order of the other fields, which diffs follow.
    for name in ["version", "updated_at", "local_parts", "suspensions"] {
        fields.shift_remove(name);
    }
    Some(Value::Object(fields))
}

/// An entry of any kind a proposal changes, as the catalog holds it.
#[derive(Clone, Copy)]
enum EntryRef<'a> {
    RecognitionItem(&'a RecognitionItem),
    StandardItem(&'a StandardItem),
    Scenario(&'a Scenario),
    Target(&'a Target),
}

/// The entry of `kind` with `code`, if the catalog holds one.
fn find_entry<'a>(
    content: &'a CatalogContent,
    kind: SharedEntryKind,
    code: &str,
) -> Option<EntryRef<'a>> {
    match kind {
        SharedEntryKind::RecognitionItem => content
            .recognition_items
            .iter()
            .find(|e| e.code == code)
            .map(EntryRef::RecognitionItem),
        SharedEntryKind::StandardItem => content
            .standard_items
            .iter()
            .find(|e| e.code == code)
            .map(EntryRef::StandardItem),
        SharedEntryKind::Scenario => content
            .scenarios
            .iter()
            .find(|e| e.code == code)
            .map(EntryRef::Scenario),
        SharedEntryKind::Target => content
            .targets
            .iter()
            .find(|e| e.code == code)
            .map(EntryRef::Target),
    }
}

impl EntryRef<'_> {
    fn version(self) -> i64 {
        match self {
            Self::RecognitionItem(e) => e.version,
            Self::StandardItem(e) => e.version,
            Self::Scenario(e) => e.version,
            Self::Target(e) => e.version,
        }
    }

    fn to_value(self) -> serde_json::Result<Value> {
        match self {
            Self::RecognitionItem(e) => serde_json::to_value(e),
            Self::StandardItem(e) => serde_json::to_value(e),
            Self::Scenario(e) => serde_json::to_value(e),
            Self::Target(e) => serde_json::to_value(e),
        }
    }

    /// The regions with a side (local part) of the entry.
    fn sides(self) -> Vec<RegionCode> {
        match self {
            Self::RecognitionItem(e) => e.local_parts.iter().map(|p| p.region.clone()).collect(),
            Self::StandardItem(e) => e.local_parts.iter().map(|p| p.region.clone()).collect(),
            Self::Scenario(_) | Self::Target(_) => Vec::new(),
        }
    }

    /// The sides as JSON, as a change builds the entry from them.
    fn sides_as_json(self) -> serde_json::Result<Vec<Value>> {
        match self {
            Self::RecognitionItem(e) => e.local_parts.iter().map(serde_json::to_value).collect(),
            Self::StandardItem(e) => e.local_parts.iter().map(serde_json::to_value).collect(),
            Self::Scenario(_) | Self::Target(_) => Ok(Vec::new()),
        }
    }

    /// The regions that decide on a change of the entry: its regions (a service item's:
    /// those with a side); every region of the programme for a target.
    fn participants(self, all: &[crate::domain::region::Region]) -> Vec<RegionCode> {
        match self {
            Self::RecognitionItem(e) => e.regions.clone(),
            Self::StandardItem(_) => self.sides(),
            Self::Scenario(e) => e.regions.clone(),
            Self::Target(_) => all.iter().map(|r| r.code.clone()).collect(),
        }
    }
}

fn current_entry(
    content: &CatalogContent,
    kind: SharedEntryKind,
    code: &str,
    base_version: i64,
) -> Result<Value, PlanError> {
    let Some(version) = entry_version(content, kind, code) else {
        return Err(invalid("changes", format!("there is no {kind} {code}")).into());
    };
    if version != base_version {
        return Err(PlanError::Stale(format!(
            "{kind} {code} is at version {version}, not {base_version}; read it again and write the change against what it says now"
        )));
    }
    shared_content(content, kind, code)
        .ok_or_else(|| invalid("changes", format!("there is no {kind} {code}")).into())
}

/// The typed entry a change produces, over the entry's current local parts (`current`
/// `None` for a new entry), at `version`.
fn typed_entry(
    change: &PlannedChange,
    current: Option<&CatalogContent>,
    version: i64,
) -> Result<TypedEntry, String> {
    let Value::Object(shared) = &change.after else {
        return Err("the entry must be a JSON object".into());
    };
    let mut fields = shared.clone();
    fields.insert("version".into(), version.into());
    let mut parts: Vec<Value> = match current {
        Some(content) => find_entry(content, change.kind, &change.code)
            .map(EntryRef::sides_as_json)
            .transpose()
            .map_err(|e| e.to_string())?
            .unwrap_or_default(),
        None => Vec::new(),
    };
    parts.extend(change.added_local_parts.iter().cloned());
    // A region that leaves an entry takes its side with it.
    if let Some(Value::Array(regions)) = fields.get("regions")
        && change.kind == SharedEntryKind::RecognitionItem
    {
        parts.retain(|p| p.get("region").is_some_and(|r| regions.contains(r)));
    }
    if change.kind.has_local_parts() {
        fields.insert("local_parts".into(), Value::Array(parts));
    }
    let value = Value::Object(fields);
    let typed = match change.kind {
        SharedEntryKind::RecognitionItem => {
            serde_json::from_value::<RecognitionItem>(value).map(TypedEntry::RecognitionItem)
        }
        SharedEntryKind::StandardItem => {
            serde_json::from_value::<StandardItem>(value).map(TypedEntry::StandardItem)
        }
        SharedEntryKind::Scenario => {
            serde_json::from_value::<Scenario>(value).map(TypedEntry::Scenario)
        }
        SharedEntryKind::Target => serde_json::from_value::<Target>(value).map(TypedEntry::Target),
    };
    typed.map_err(|e| e.to_string())
}

/// An entry of any kind a proposal changes, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedEntry {
    /// A recognition item.
    RecognitionItem(RecognitionItem),
    /// A service item.
    StandardItem(StandardItem),
    /// A scenario.
    Scenario(Scenario),
    /// A target.
    Target(Target),
}

/// The code and version of a typed entry.
pub fn code_and_version(entry: &TypedEntry) -> (&str, i64) {
    match entry {
        TypedEntry::RecognitionItem(e) => (&e.code, e.version),
        TypedEntry::StandardItem(e) => (&e.code, e.version),
        TypedEntry::Scenario(e) => (&e.code, e.version),
        TypedEntry::Target(e) => (&e.code, e.version),
    }
}

/// Applies one planned change to `content` in memory (the entry's version moves on by
/// one); returns the entry as it now stands.
pub fn apply_change(
    content: &mut CatalogContent,
    change: &PlannedChange,
) -> Result<TypedEntry, String> {
    let version = match change.action {
        ChangeAction::Create => 1,
        _ => {
            entry_version(content, change.kind, &change.code)
                .ok_or_else(|| format!("{} {} no longer exists", change.kind, change.code))?
                + 1
        }
    };
    let current = (change.action != ChangeAction::Create).then_some(&*content);
    let entry = typed_entry(change, current, version)
        .map_err(|m| format!("{} {}: {m}", change.kind, change.code))?;
    fn put<T: Clone>(list: &mut Vec<T>, code: &str, key: fn(&T) -> &str, entry: &T) {
        match list.iter_mut().find(|e| key(e) == code) {
            Some(slot) => *slot = entry.clone(),
            None => list.push(entry.clone()),
        }
    }
    match &entry {
        TypedEntry::RecognitionItem(e) => {
            put(&mut content.recognition_items, &e.code, |e| &e.code, e)
        }
        TypedEntry::StandardItem(e) => put(&mut content.standard_items, &e.code, |e| &e.code, e),
        TypedEntry::Scenario(e) => put(&mut content.scenarios, &e.code, |e| &e.code, e),
        TypedEntry::Target(e) => put(&mut content.targets, &e.code, |e| &e.code, e),
    }
    Ok(entry)
}

/// The regions that must approve a change: those taking part in the entry before or
/// after it (a target or a batch: every region of the programme).
fn change_participants(
    before: &CatalogContent,
    after: &CatalogContent,
    change: &PlannedChange,
) -> BTreeSet<RegionCode> {
    let of = |content: &CatalogContent| {
        find_entry(content, change.kind, &change.code)
            .map(|entry| entry.participants(&content.regions))
            .unwrap_or_default()
    };
    of(before).into_iter().chain(of(after)).collect()
}

/// Why a proposal can no longer apply, if it cannot: an entry it was based on changed,
/// an entry it creates now exists, or the catalog it would make breaks a rule.
/// Otherwise the catalog with the proposal applied.
pub fn replay(
    content: &CatalogContent,
    batch: Option<&Batch>,
    changes: &[PlannedChange],
) -> Result<(CatalogContent, Vec<TypedEntry>), Vec<String>> {
    let mut conflicts = Vec::new();
    if let Some(batch) = batch
        && content.batches.iter().any(|b| b.code == batch.code)
    {
        conflicts.push(format!("batch {} has been published since", batch.code));
    }
    // Entries are retired, never deleted, so one that was there is still there (should
    // it not be, applying the change says so).
    for change in changes {
        let now = shared_content(content, change.kind, &change.code);
        match (&change.before, now) {
            (None, Some(_)) => conflicts.push(format!(
                "{} {} has been created since",
                change.kind, change.code
            )),
            (Some(before), Some(now)) if before != &now => conflicts.push(format!(
                "{} {} has changed since it was proposed (now version {})",
                change.kind,
                change.code,
                entry_version(content, change.kind, &change.code).unwrap_or_default()
            )),
            _ => {}
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    let mut next = content.clone();
    if let Some(batch) = batch {
        next.batches.push(batch.clone());
    }
    let mut entries = Vec::with_capacity(changes.len());
    for change in changes {
        entries.push(apply_change(&mut next, change).map_err(|m| vec![m])?);
    }
    validate_catalog(&next)?;
    Ok((next, entries))
}

/// One region's vote as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Vote {
    /// The region voting.
    #[schema(value_type = String, example = "TJ")]
    pub region: RegionCode,
    /// Approve or reject.
    pub ballot: Ballot,
    /// Who cast it (the token's `sub`).
    pub voter: String,
    /// The voter's comment; empty when none.
    pub comment: String,
    /// When it was cast.
    pub cast_at: chrono::DateTime<chrono::Utc>,
}

/// What the votes so far decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tally {
    /// Every participating region approved.
    Approved,
    /// A region rejected.
    Rejected(RegionCode),
    /// These regions have not voted yet.
    Awaiting(Vec<RegionCode>),
}

/// Counts `votes` against `participants`: any rejection rejects; otherwise approved
/// once every participant approved.
pub fn tally(participants: &[RegionCode], votes: &[Vote]) -> Tally {
    if let Some(rejection) = votes.iter().find(|v| v.ballot == Ballot::Reject) {
        return Tally::Rejected(rejection.region.clone());
    }
    let awaiting: Vec<RegionCode> = participants
        .iter()
        .filter(|region| !votes.iter().any(|v| &v.region == *region))
        .cloned()
        .collect();
    if awaiting.is_empty() {
        Tally::Approved
    } else {
        Tally::Awaiting(awaiting)
    }
}

/// Why a proposal action is refused although the token is valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalRefusal {
    /// The token's region is not among those the proposal concerns (403).
    #[error(
        "{region} does not take part in what this proposal changes (participants: {participants})"
    )]
    NotParticipating {
        /// The token's region.
        region: RegionCode,
        /// The participating regions, joined.
        participants: String,
    },
    /// The proposal is decided (409).
    #[error("the proposal is {0}; only an open proposal takes votes or can be withdrawn")]
    Closed(ProposalState),
    /// The region has voted already (409).
    #[error("{0} has already voted on this proposal; a region votes once")]
    AlreadyVoted(RegionCode),
    /// Only the proposing region withdraws (403).
    #[error("only {0}, which proposed it, can withdraw this proposal")]
    NotProposer(RegionCode),
}

/// May `principal` propose a change concerning `participants`? An editor of one of them.
pub fn authorize_proposal(
    principal: &Principal,
    participants: &[RegionCode],
) -> Result<(), ProposalCheck> {
    super::governance::require_role(principal, Role::Editor)?;
    participating(principal, participants)
}

fn participating(principal: &Principal, participants: &[RegionCode]) -> Result<(), ProposalCheck> {
    if participants.contains(&principal.region) {
        Ok(())
    } else {
        Err(ProposalRefusal::NotParticipating {
            region: principal.region.clone(),
            participants: participants
                .iter()
                .map(RegionCode::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into())
    }
}

/// May `principal` vote? An approver of a participating region that has not voted, on
/// an open proposal.
pub fn authorize_vote(
    principal: &Principal,
    state: ProposalState,
    participants: &[RegionCode],
    votes: &[Vote],
) -> Result<(), ProposalCheck> {
    super::governance::require_role(principal, Role::Approver)?;
    participating(principal, participants)?;
    if state != ProposalState::Open {
        return Err(ProposalRefusal::Closed(state).into());
    }
    if votes.iter().any(|v| v.region == principal.region) {
        return Err(ProposalRefusal::AlreadyVoted(principal.region.clone()).into());
    }
    Ok(())
}

/// May `principal` withdraw? An editor or approver of the proposing region, while open.
pub fn authorize_withdrawal(
    principal: &Principal,
    state: ProposalState,
    proposer_region: &RegionCode,
) -> Result<(), ProposalCheck> {
    if &principal.region != proposer_region {
        return Err(ProposalRefusal::NotProposer(proposer_region.clone()).into());
    }
    if !principal.has(Role::Editor) && !principal.has(Role::Approver) {
        super::governance::require_role(principal, Role::Editor)?;
    }
    if state != ProposalState::Open {
        return Err(ProposalRefusal::Closed(state).into());
    }
    Ok(())
}

/// A refusal of a proposal action: a missing role, or a rule of proposals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalCheck {
    /// The role or region rule of editing.
    #[error(transparent)]
    Role(#[from] Refusal),
    /// A rule of proposals.
    #[error(transparent)]
    Proposal(#[from] ProposalRefusal),
}

/// One field that a change alters, for approvers to read.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// Where, as a path (`name_en`, `arrangements[1].status`).
    pub path: String,
    /// The value before (any JSON value); `null` when the field is new.
    #[schema(value_type = Value)]
    pub before: Value,
    /// The value after (any JSON value); `null` when the field goes.
    #[schema(value_type = Value)]
    pub after: Value,
}

/// The fields that differ between `before` and `after`: objects compared member by
/// member, arrays of equal length element by element, anything else whole.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut changes = Vec::new();
    diff_into(before, after, String::new(), &mut changes);
    changes
}

fn diff_into(before: &Value, after: &Value, path: String, out: &mut Vec<FieldChange>) {
    if before == after {
        return;
    }
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            for (name, value) in old {
                diff_into(
                    value,
                    new.get(name).unwrap_or(&Value::Null),
                    join(name),
                    out,
                );
            }
            for (name, value) in new {
                if !old.contains_key(name) {
                    diff_into(&Value::Null, value, join(name), out);
                }
            }
        }
        (Value::Array(old), Value::Array(new)) if old.len() == new.len() && !path.is_empty() => {
            for (i, (a, b)) in old.iter().zip(new).enumerate() {
                diff_into(a, b, format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(FieldChange {
            path,
            before: before.clone(),
            after: after.clone(),
        }),
    }
}

/// Who proposed: the token's issuer, subject and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Proposer {
    /// The proposing region.
    #[schema(value_type = String, example = "TJ")]
    pub region: RegionCode,
    /// The token's issuer.
    pub issuer: String,
    /// The token's subject.
    pub subject: String,
}

/// A proposal as recorded, with its votes.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// Sequential number.
    pub id: i64,
    /// Moves on by one with every vote or change of state; the `ETag` names it.
    pub version: i64,
    /// Where it stands.
    pub state: ProposalState,
    /// What it does, in one line.
    pub title: String,
    /// Why; empty when not given.
    pub rationale: String,
    /// Who proposed it.
    pub proposer: Proposer,
    /// The regions whose approval it needs.
    pub participants: Vec<RegionCode>,
    /// The votes cast, in order.
    pub votes: Vec<Vote>,
    /// The batch it publishes, if any.
    pub batch: Option<Batch>,
    /// The changes.
    pub changes: Vec<PlannedChange>,
    /// When it was proposed.
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When it was applied, rejected, withdrawn or found conflicted.
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why it ended as it did (the conflicts, the rejecting region, …); empty while open.
    pub outcome: String,
}

impl Proposal {
    /// The participating regions that have not voted, while the proposal is open.
    pub fn awaiting(&self) -> Vec<RegionCode> {
        match (self.state, tally(&self.participants, &self.votes)) {
            (ProposalState::Open, Tally::Awaiting(regions)) => regions,
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde_json::json;

    use super::*;
    use crate::domain::test_support::{region, sample};

    fn regions(codes: &[&str]) -> Vec<RegionCode> {
        codes.iter().map(|c| region(c)).collect()
    }

    /// The sample catalog as the database holds it: every entry at version 1.
    fn catalog() -> CatalogContent {
        let mut content = sample();
        content
            .recognition_items
            .iter_mut()
            .for_each(|e| e.version = 1);
        content
            .standard_items
            .iter_mut()
            .for_each(|e| e.version = 1);
        content.scenarios.iter_mut().for_each(|e| e.version = 1);
        content.targets.iter_mut().for_each(|e| e.version = 1);
        content
    }

    fn draft(changes: Value) -> ProposalDraft {
        serde_json::from_value(json!({"title": "A change", "changes": changes})).unwrap()
    }

    fn update(code: &str, patch: Value) -> Value {
        json!([{"action": "update", "kind": "recognition_item", "code": code, "base_version": 1, "patch": patch}])
    }

    fn problems(result: Result<Plan, PlanError>) -> Vec<(String, String)> {
        match result {
            Err(PlanError::Invalid(invalid)) => invalid.problems,
            other => panic!("expected an invalid draft, got {other:?}"),
        }
    }

    fn new_item(code: &str) -> Value {
        let mut item = serde_json::to_value(
            catalog()
                .recognition_items
                .iter()
                .find(|i| i.code == "RI-CON-002")
                .unwrap(),
        )
        .unwrap();
        let fields = item.as_object_mut().unwrap();
        for name in ["version", "updated_at", "suspensions"] {
            fields.shift_remove(name);
        }
        fields.insert("code".into(), json!(code));
        for part in fields["local_parts"].as_array_mut().unwrap() {
            part["local_code"] = json!(format!(
                "{}-{code}",
                part["local_code"].as_str().unwrap_or("X")
            ));
        }
        item
    }

    #[test]
    fn an_update_is_planned_with_what_it_was_based_on_and_what_it_asks_for() {
        let content = catalog();
        let plan = plan(
            &content,
            &draft(update("RI-CON-002", json!({"name_en": "Renamed"}))),
        )
        .unwrap();
        let before =
            shared_content(&content, SharedEntryKind::RecognitionItem, "RI-CON-002").unwrap();
        let mut after = before.clone();
        after["name_en"] = json!("Renamed");
        assert_eq!(
            plan,
            Plan {
                changes: vec![PlannedChange {
                    action: ChangeAction::Update,
                    kind: SharedEntryKind::RecognitionItem,
                    code: "RI-CON-002".into(),
                    base_version: Some(1),
                    before: Some(before.clone()),
                    after: after.clone(),
                    added_local_parts: vec![],
                }],
                participants: regions(&["BJ", "TJ", "HE"]),
            }
        );
        for hidden in ["version", "updated_at", "local_parts", "suspensions"] {
            assert!(
                before.get(hidden).is_none(),
                "{hidden} is not shared content"
            );
        }
        assert_eq!(
            diff(&before, &after),
            vec![FieldChange {
                path: "name_en".into(),
                before: json!(
                    content
                        .recognition_items
                        .iter()
                        .find(|i| i.code == "RI-CON-002")
                        .unwrap()
                        .name_en
                ),
                after: json!("Renamed")
            }]
        );
    }

    #[test]
    fn participants_are_the_regions_of_the_entry_before_and_after_in_catalog_order() {
        let content = catalog();
        let two = plan(
            &content,
            &draft(update("RI-CUL-004", json!({"name_en": "x"}))),
        )
        .unwrap();
        assert_eq!(two.participants, regions(&["BJ", "TJ"]));
        let he_side = json!({"region": "HE", "local_code": "冀文-004"});
        let joining = json!([{"action": "update", "kind": "recognition_item", "code": "RI-CUL-004", "base_version": 1,
            "patch": {"regions": ["BJ", "TJ", "HE"]}, "add_local_parts": [he_side]}]);
        let plan_joining = plan(&content, &draft(joining)).unwrap();
        assert_eq!(plan_joining.participants, regions(&["BJ", "TJ", "HE"]));
        assert_eq!(plan_joining.changes[0].added_local_parts, vec![he_side]);
        // A region leaving takes part in the decision, and its side goes with it.
        let item = content
            .recognition_items
            .iter()
            .find(|i| i.code == "RI-CON-002")
            .unwrap();
        let kept: Vec<Value> = item
            .arrangements
            .iter()
            .filter(|a| a.issued_in.as_str() != "HE" && a.used_in.as_str() != "HE")
            .map(|a| serde_json::to_value(a).unwrap())
            .collect();
        let leaving = plan(
            &content,
            &draft(update(
                "RI-CON-002",
                json!({"regions": ["BJ", "TJ"], "arrangements": kept}),
            )),
        )
        .unwrap();
        assert_eq!(leaving.participants, regions(&["BJ", "TJ", "HE"]));
        let mut next = content.clone();
        let TypedEntry::RecognitionItem(left) =
            apply_change(&mut next, &leaving.changes[0]).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            left.local_parts
                .iter()
                .map(|p| p.region.as_str())
                .collect::<Vec<_>>(),
            vec!["BJ", "TJ"]
        );
        assert_eq!(left.version, 2);
        // Targets and batches are the whole programme's.
        let target = json!([{"action": "update", "kind": "target", "code": "TG-2024-01", "base_version": 1, "patch": {"target_value": 99}}]);
        assert_eq!(
            plan(&content, &draft(target)).unwrap().participants,
            regions(&["BJ", "TJ", "HE"])
        );
        let mut batch = draft(update("RI-CUL-004", json!({"name_en": "x"})));
        batch.batch = Some(Batch {
            code: "JJJ-2099-01".into(),
            document_no: "文号".into(),
            title_zh: "批".into(),
            title_en: "Batch".into(),
            published_on: "2026-12-01".parse().unwrap(),
            publishes: vec![EntryKind::RecognitionItem],
            programmes: vec![],
        });
        assert_eq!(
            plan(&content, &batch).unwrap().participants,
            regions(&["BJ", "TJ", "HE"])
        );
        // A scenario's are its own regions.
        let two_region_scenario = json!([{"action": "update", "kind": "scenario", "code": "SC-011", "base_version": 1, "patch": {"name_en": "Renamed"}}]);
        assert_eq!(
            plan(&content, &draft(two_region_scenario))
                .unwrap()
                .participants,
            regions(&["BJ", "TJ"])
        );
        // A service item's regions are those with a side.
        let service = content
            .standard_items
            .iter()
            .find(|s| s.local_parts.len() == 2)
            .unwrap();
        let change = json!([{"action": "update", "kind": "standard_item", "code": service.code, "base_version": 1, "patch": {"fee_en": "Free of charge (revised)"}}]);
        let expected: Vec<RegionCode> = content
            .regions
            .iter()
            .map(|r| r.code.clone())
            .filter(|r| service.local_parts.iter().any(|p| &p.region == r))
            .collect();
        assert_eq!(
            plan(&content, &draft(change)).unwrap().participants,
            expected
        );
    }

    #[test]
    fn a_draft_is_refused_naming_what_is_wrong() {
        let content = catalog();
        let mut untitled = draft(update("RI-CON-002", json!({"name_en": "x"})));
        for title in ["", "  ", "a\nb"] {
            untitled.title = title.into();
            assert_eq!(problems(plan(&content, &untitled))[0].0, "title");
        }
        untitled.title = "长".repeat(MAX_TITLE_CHARS);
        assert!(plan(&content, &untitled).is_ok());
        untitled.title.push('长');
        assert_eq!(problems(plan(&content, &untitled))[0].0, "title");
        untitled.title = "ok".into();
        untitled.rationale = Some("因".repeat(MAX_FIELD_CHARS));
        assert!(plan(&content, &untitled).is_ok());
        untitled.rationale = Some("因".repeat(MAX_FIELD_CHARS + 1));
        assert_eq!(
            problems(plan(&content, &untitled)),
            vec![(
                "rationale".to_owned(),
                "is longer than 2000 characters".to_owned()
            )]
        );
        assert_eq!(
            problems(plan(&content, &draft(json!([]))))[0],
            (
                "changes".to_owned(),
                "a proposal carries 1 to 200 changes".to_owned()
            )
        );
        let many: Vec<Value> = (0..=MAX_CHANGES)
            .map(|_| update("RI-CON-002", json!({"name_en": "x"}))[0].clone())
            .collect();
        assert_eq!(
            problems(plan(&content, &draft(json!(many))))[0].0,
            "changes"
        );
        // Exactly the most is not too many: what is wrong with these is the repeat.
        let most: Vec<Value> = (0..MAX_CHANGES)
            .map(|_| update("RI-CON-002", json!({"name_en": "x"}))[0].clone())
            .collect();
        assert_eq!(
            problems(plan(&content, &draft(json!(most))))[0].0,
            "changes[1]"
        );
        let twice = json!([
            update("RI-CON-002", json!({"name_en": "x"}))[0],
            update("RI-CON-002", json!({"name_zh": "y"}))[0]
        ]);
        assert_eq!(
            problems(plan(&content, &draft(twice)))[0],
            (
                "changes[1]".to_owned(),
                "recognition_item RI-CON-002 is changed twice; one change per entry".to_owned()
            )
        );
        let cases = [
            (
                update("RI-CON-002", json!("x")),
                "changes[0].patch",
                "must be a JSON object",
            ),
            (
                update("RI-CON-002", json!({"version": 2})),
                "changes[0].patch.version",
                "is set by the server and cannot be proposed",
            ),
            (
                update("RI-CON-002", json!({"suspensions": []})),
                "changes[0].patch.suspensions",
                "is set by the server and cannot be proposed",
            ),
            (
                update("RI-CON-002", json!({"code": "RI-NEW"})),
                "changes[0].patch.code",
                "an entry's code never changes",
            ),
            (
                update("RI-CON-002", json!({"local_parts": []})),
                "changes[0].patch.local_parts",
                "each region changes its own side through …/local-parts/{region}; a joining region's side goes in add_local_parts",
            ),
            (
                update("RI-CON-002", json!({"status": "active"})),
                "changes[0].patch",
                "changes nothing: the entry already reads so",
            ),
            (
                update("RI-XXX-999", json!({"name_en": "x"})),
                "changes",
                "there is no recognition_item RI-XXX-999",
            ),
            (
                update("RI-CON-002", json!({"sector": "nowhere"})),
                "changes",
                "recognition item RI-CON-002: unknown sector nowhere",
            ),
            (
                json!([{"action": "retire", "kind": "target", "code": "TG-2024-01", "base_version": 1, "effective_on": "2027-01-01"}]),
                "changes[0].kind",
                "a target is met or missed, not retired; change its deadline or value instead",
            ),
        ];
        for (changes, field, message) in cases {
            assert_eq!(
                problems(plan(&content, &draft(changes.clone()))),
                vec![(field.to_owned(), message.to_owned())],
                "{changes}"
            );
        }
        let mut retired = content.clone();
        retired
            .recognition_items
            .iter_mut()
            .find(|i| i.code == "RI-CON-002")
            .unwrap()
            .status = EntryStatus::Retired;
        let retire = json!([{"action": "retire", "kind": "recognition_item", "code": "RI-CON-002", "base_version": 1, "effective_on": "2027-01-01"}]);
        assert_eq!(
            problems(plan(&retired, &draft(retire))),
            vec![(
                "changes[0].code".to_owned(),
                "RI-CON-002 is already retired".to_owned()
            )]
        );
        let existing = json!([{"action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": 1, "patch": {"name_en": "x"}, "add_local_parts": [{"region": "TJ"}]}]);
        assert_eq!(
            problems(plan(&content, &draft(existing)))[0].0,
            "changes[0].add_local_parts[0].region"
        );
    }

    #[test]
    fn a_change_against_an_older_version_is_stale() {
        let mut content = catalog();
        content
            .recognition_items
            .iter_mut()
            .find(|i| i.code == "RI-CON-002")
            .unwrap()
            .version = 3;
        assert_eq!(
            plan(&content, &draft(update("RI-CON-002", json!({"name_en": "x"})))),
            Err(PlanError::Stale("recognition_item RI-CON-002 is at version 3, not 1; read it again and write the change against what it says now".into()))
        );
    }

    #[test]
    fn a_new_entry_is_checked_whole_and_cites_the_batch_it_is_published_in() {
        let content = catalog();
        let create = |entry: Value| json!([{"action": "create", "kind": "recognition_item", "entry": entry}]);
        let planned = plan(&content, &draft(create(new_item("RI-NEW-001")))).unwrap();
        let change = &planned.changes[0];
        assert_eq!(
            (change.action, change.base_version, change.before.as_ref()),
            (ChangeAction::Create, None, None)
        );
        assert_eq!(
            change.added_local_parts,
            new_item("RI-NEW-001")["local_parts"]
                .as_array()
                .unwrap()
                .clone()
        );
        assert!(change.after.get("local_parts").is_none());
        let mut next = content.clone();
        let TypedEntry::RecognitionItem(made) = apply_change(&mut next, change).unwrap() else {
            panic!()
        };
        assert_eq!((made.version, made.local_parts.len()), (1, 3));
        assert_eq!(
            next.recognition_items.len(),
            content.recognition_items.len() + 1
        );

        let mut with_version = new_item("RI-NEW-001");
        with_version["version"] = json!(1);
        assert_eq!(
            problems(plan(&content, &draft(create(with_version))))[0].0,
            "changes[0].entry.version"
        );
        let mut no_parts = new_item("RI-NEW-001");
        no_parts
            .as_object_mut()
            .unwrap()
            .shift_remove("local_parts");
        assert_eq!(
            problems(plan(&content, &draft(create(no_parts))))[0],
            (
                "changes[0].entry.local_parts".to_owned(),
                "missing field".to_owned()
            )
        );
        let mut bad_parts = new_item("RI-NEW-001");
        bad_parts["local_parts"] = json!({});
        assert_eq!(
            problems(plan(&content, &draft(create(bad_parts))))[0].1,
            "must be an array"
        );
        let mut no_code = new_item("RI-NEW-001");
        no_code.as_object_mut().unwrap().shift_remove("code");
        assert_eq!(
            problems(plan(&content, &draft(create(no_code))))[0].0,
            "changes[0].entry.code"
        );
        assert_eq!(
            problems(plan(&content, &draft(create(new_item("RI-CON-002")))))[0].1,
            "recognition_item RI-CON-002 already exists"
        );
        assert_eq!(
            problems(plan(&content, &draft(create(json!([])))))[0].1,
            "must be a JSON object"
        );
        let mut untyped = new_item("RI-NEW-001");
        untyped["kind"] = json!("spaceship");
        assert_eq!(
            problems(plan(&content, &draft(create(untyped))))[0].0,
            "changes[0].entry"
        );

        // In a batch, a new entry cites the batch; the batch must be new.
        let batch = Batch {
            code: "JJJ-2099-01".into(),
            document_no: "文号".into(),
            title_zh: "批".into(),
            title_en: "Batch".into(),
            published_on: "2026-12-01".parse().unwrap(),
            publishes: vec![EntryKind::RecognitionItem],
            programmes: vec![],
        };
        let mut in_batch = draft(create(new_item("RI-NEW-001")));
        in_batch.batch = Some(batch.clone());
        assert_eq!(
            problems(plan(&content, &in_batch))[0],
            (
                "changes[0].entry.batch".to_owned(),
                "an entry created by this proposal is published in its batch JJJ-2099-01"
                    .to_owned()
            )
        );
        let mut citing = new_item("RI-NEW-001");
        citing["batch"] = json!("JJJ-2099-01");
        in_batch.changes = draft(create(citing)).changes;
        let planned = plan(&content, &in_batch).unwrap();
        let (next, entries) = replay(&content, Some(&batch), &planned.changes).unwrap();
        assert!(next.batches.contains(&batch));
        assert_eq!(code_and_version(&entries[0]), ("RI-NEW-001", 1));
        let mut again = in_batch.clone();
        again.batch.as_mut().unwrap().code = content.batches[0].code.clone();
        let mut citing_old = new_item("RI-NEW-001");
        citing_old["batch"] = json!(content.batches[0].code);
        again.changes = draft(create(citing_old)).changes;
        assert_eq!(problems(plan(&content, &again))[0].0, "batch.code");
    }

    #[test]
    fn a_region_joins_a_service_item_with_its_own_new_side() {
        let content = catalog();
        let service = content
            .standard_items
            .iter()
            .find(|s| s.local_parts.len() == 2)
            .unwrap();
        let missing = content
            .regions
            .iter()
            .map(|r| r.code.clone())
            .find(|r| !service.local_parts.iter().any(|p| &p.region == r))
            .unwrap();
        let mut side = serde_json::to_value(&service.local_parts[0]).unwrap();
        side["region"] = json!(missing.as_str());
        side["local_code"] = Value::Null;
        let join = |side: &Value| {
            json!([{"action": "update", "kind": "standard_item", "code": service.code, "base_version": 1,
                "patch": {}, "add_local_parts": [side]}])
        };
        let planned = plan(&content, &draft(join(&side))).unwrap();
        assert_eq!(
            planned.participants,
            content
                .regions
                .iter()
                .map(|r| r.code.clone())
                .collect::<Vec<_>>()
        );
        let mut next = content.clone();
        let TypedEntry::StandardItem(joined) =
            apply_change(&mut next, &planned.changes[0]).unwrap()
        else {
            panic!()
        };
        assert_eq!(joined.local_parts.len(), 3);
        side["region"] = json!(service.local_parts[1].region.as_str());
        assert_eq!(
            problems(plan(&content, &draft(join(&side))))[0].0,
            "changes[0].add_local_parts[0].region"
        );
    }

    #[test]
    fn scenarios_and_targets_are_created_without_local_parts() {
        let content = catalog();
        let mut scenario = serde_json::to_value(&content.scenarios[0]).unwrap();
        for name in ["version", "updated_at"] {
            scenario.as_object_mut().unwrap().shift_remove(name);
        }
        scenario["code"] = json!("SC-NEW");
        let planned = plan(
            &content,
            &draft(json!([{"action": "create", "kind": "scenario", "entry": scenario}])),
        )
        .unwrap();
        assert_eq!(planned.changes[0].added_local_parts, Vec::<Value>::new());
        assert_eq!(planned.participants, content.scenarios[0].regions);
        let mut target = serde_json::to_value(&content.targets[0]).unwrap();
        for name in ["version", "updated_at"] {
            target.as_object_mut().unwrap().shift_remove(name);
        }
        target["code"] = json!("TG-NEW");
        assert!(
            plan(
                &content,
                &draft(json!([{"action": "create", "kind": "target", "entry": target}]))
            )
            .is_ok()
        );
    }

    #[test]
    fn retiring_sets_the_status_from_the_day_given() {
        let content = catalog();
        let retire = |kind: &str, code: &str| json!([{"action": "retire", "kind": kind, "code": code, "base_version": 1, "effective_on": "2027-01-01"}]);
        let item = plan(&content, &draft(retire("recognition_item", "RI-CON-002"))).unwrap();
        assert_eq!(
            diff(
                item.changes[0].before.as_ref().unwrap(),
                &item.changes[0].after
            ),
            vec![
                FieldChange {
                    path: "status".into(),
                    before: json!("active"),
                    after: json!("retired")
                },
                FieldChange {
                    path: "status_since".into(),
                    before: Value::Null,
                    after: json!("2027-01-01")
                },
            ]
        );
        let scenario = plan(&content, &draft(retire("scenario", "SC-001"))).unwrap();
        assert_eq!(
            scenario.changes[0].after["status_since"],
            json!("2027-01-01")
        );
        // Service items have no status day: the day is the change's.
        let service = plan(&content, &draft(retire("standard_item", "SS-MR-001"))).unwrap();
        assert_eq!(
            diff(
                service.changes[0].before.as_ref().unwrap(),
                &service.changes[0].after
            ),
            vec![FieldChange {
                path: "status".into(),
                before: json!("active"),
                after: json!("retired")
            }]
        );
    }

    #[test]
    fn a_proposal_replays_only_while_what_it_was_based_on_still_holds() {
        let content = catalog();
        let planned = plan(
            &content,
            &draft(update("RI-CON-002", json!({"name_en": "Renamed"}))),
        )
        .unwrap();
        let (next, entries) = replay(&content, None, &planned.changes).unwrap();
        assert_eq!(
            next.recognition_items
                .iter()
                .find(|i| i.code == "RI-CON-002")
                .unwrap()
                .name_en,
            "Renamed"
        );
        assert_eq!(code_and_version(&entries[0]), ("RI-CON-002", 2));
        // A local part edited meanwhile is not shared content: no conflict, and it stays.
        let mut edited = content.clone();
        let item = edited
            .recognition_items
            .iter_mut()
            .find(|i| i.code == "RI-CON-002")
            .unwrap();
        item.local_parts[0].contact = Some("010-1".into());
        item.version = 2;
        let (after_edit, _) = replay(&edited, None, &planned.changes).unwrap();
        let replayed = after_edit
            .recognition_items
            .iter()
            .find(|i| i.code == "RI-CON-002")
            .unwrap();
        assert_eq!(
            (replayed.local_parts[0].contact.as_deref(), replayed.version),
            (Some("010-1"), 3)
        );
        // A shared field changed meanwhile is a conflict.
        let mut moved = content.clone();
        let item = moved
            .recognition_items
            .iter_mut()
            .find(|i| i.code == "RI-CON-002")
            .unwrap();
        item.legal_basis = "另一依据".into();
        item.version = 2;
        assert_eq!(
            replay(&moved, None, &planned.changes).unwrap_err(),
            vec![
                "recognition_item RI-CON-002 has changed since it was proposed (now version 2)"
                    .to_owned()
            ]
        );
        let mut gone = content.clone();
        gone.recognition_items.retain(|i| i.code != "RI-CON-002");
        assert_eq!(
            replay(&gone, None, &planned.changes).unwrap_err(),
            vec!["recognition_item RI-CON-002 no longer exists".to_owned()]
        );
        let created = plan(&content, &draft(json!([{"action": "create", "kind": "recognition_item", "entry": new_item("RI-NEW-001")}]))).unwrap();
        assert_eq!(
            replay(&next_with(&content, &created), None, &created.changes).unwrap_err(),
            vec!["recognition_item RI-NEW-001 has been created since".to_owned()]
        );
        let batch = content.batches[0].clone();
        assert_eq!(
            replay(&content, Some(&batch), &planned.changes).unwrap_err(),
            vec![format!("batch {} has been published since", batch.code)]
        );
        // A catalog rule broken by what changed meanwhile is a conflict too.
        let mut no_sector = content.clone();
        let target_sector = content
            .recognition_items
            .iter()
            .find(|i| i.code == "RI-CON-002")
            .unwrap()
            .sector
            .clone();
        no_sector.sectors.retain(|s| s.code != target_sector);
        assert!(
            replay(&no_sector, None, &planned.changes).unwrap_err()[0].contains("unknown sector")
        );
    }

    fn next_with(content: &CatalogContent, plan: &Plan) -> CatalogContent {
        replay(content, None, &plan.changes).unwrap().0
    }

    fn vote(code: &str, ballot: Ballot) -> Vote {
        Vote {
            region: region(code),
            ballot,
            voter: "v".into(),
            comment: String::new(),
            cast_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn every_participant_approves_or_one_rejection_rejects() {
        let all = regions(&["BJ", "TJ", "HE"]);
        assert_eq!(tally(&all, &[]), Tally::Awaiting(all.clone()));
        assert_eq!(
            tally(&all, &[vote("TJ", Ballot::Approve)]),
            Tally::Awaiting(regions(&["BJ", "HE"]))
        );
        assert_eq!(
            tally(
                &all,
                &[
                    vote("TJ", Ballot::Approve),
                    vote("BJ", Ballot::Approve),
                    vote("HE", Ballot::Approve)
                ]
            ),
            Tally::Approved
        );
        assert_eq!(
            tally(
                &all,
                &[vote("TJ", Ballot::Approve), vote("HE", Ballot::Reject)]
            ),
            Tally::Rejected(region("HE"))
        );
        let mut proposal = Proposal {
            id: 1,
            version: 2,
            state: ProposalState::Open,
            title: "t".into(),
            rationale: String::new(),
            proposer: Proposer {
                region: region("TJ"),
                issuer: "i".into(),
                subject: "s".into(),
            },
            participants: all.clone(),
            votes: vec![vote("BJ", Ballot::Approve)],
            batch: None,
            changes: vec![],
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            decided_at: None,
            outcome: String::new(),
        };
        assert_eq!(proposal.awaiting(), regions(&["TJ", "HE"]));
        proposal.state = ProposalState::Withdrawn;
        assert_eq!(proposal.awaiting(), Vec::<RegionCode>::new());
    }

    fn principal(code: &str, roles: &[Role]) -> Principal {
        Principal {
            issuer: "i".into(),
            subject: "s".into(),
            region: region(code),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn editors_of_participants_propose_approvers_of_participants_vote_once_the_proposer_withdraws()
    {
        let two = regions(&["BJ", "TJ"]);
        assert_eq!(
            authorize_proposal(&principal("TJ", &[Role::Editor]), &two),
            Ok(())
        );
        assert_eq!(
            authorize_proposal(&principal("HE", &[Role::Editor]), &two),
            Err(ProposalCheck::Proposal(ProposalRefusal::NotParticipating {
                region: region("HE"),
                participants: "BJ, TJ".into()
            }))
        );
        assert!(matches!(
            authorize_proposal(&principal("TJ", &[Role::Approver]), &two),
            Err(ProposalCheck::Role(Refusal::MissingRole { .. }))
        ));

        let approver = principal("TJ", &[Role::Approver]);
        assert_eq!(
            authorize_vote(
                &approver,
                ProposalState::Open,
                &two,
                &[vote("BJ", Ballot::Approve)]
            ),
            Ok(())
        );
        assert_eq!(
            authorize_vote(
                &approver,
                ProposalState::Open,
                &two,
                &[vote("TJ", Ballot::Approve)]
            ),
            Err(ProposalRefusal::AlreadyVoted(region("TJ")).into())
        );
        assert_eq!(
            authorize_vote(&approver, ProposalState::Applied, &two, &[]),
            Err(ProposalRefusal::Closed(ProposalState::Applied).into())
        );
        assert!(matches!(
            authorize_vote(
                &principal("HE", &[Role::Approver]),
                ProposalState::Open,
                &two,
                &[]
            ),
            Err(ProposalCheck::Proposal(
                ProposalRefusal::NotParticipating { .. }
            ))
        ));
        assert!(matches!(
            authorize_vote(
                &principal("TJ", &[Role::Editor]),
                ProposalState::Open,
                &two,
                &[]
            ),
            Err(ProposalCheck::Role(_))
        ));

        let tj = region("TJ");
        assert_eq!(
            authorize_withdrawal(&principal("TJ", &[Role::Editor]), ProposalState::Open, &tj),
            Ok(())
        );
        assert_eq!(
            authorize_withdrawal(
                &principal("TJ", &[Role::Approver]),
                ProposalState::Open,
                &tj
            ),
            Ok(())
        );
        assert!(matches!(
            authorize_withdrawal(&principal("TJ", &[Role::Admin]), ProposalState::Open, &tj),
            Err(ProposalCheck::Role(_))
        ));
        assert_eq!(
            authorize_withdrawal(&principal("BJ", &[Role::Editor]), ProposalState::Open, &tj),
            Err(ProposalRefusal::NotProposer(tj.clone()).into())
        );
        assert_eq!(
            authorize_withdrawal(
                &principal("TJ", &[Role::Editor]),
                ProposalState::Rejected,
                &tj
            ),
            Err(ProposalRefusal::Closed(ProposalState::Rejected).into())
        );
    }

    #[test]
    fn a_diff_names_each_changed_field_by_its_path() {
        let before =
            json!({"a": 1, "list": [{"x": 1}, {"x": 2}], "same": "s", "gone": true, "short": [1]});
        let after = json!({"a": 2, "list": [{"x": 1}, {"x": 3}], "same": "s", "new": null, "short": [1, 2]});
        assert_eq!(
            diff(&before, &after),
            vec![
                FieldChange {
                    path: "a".into(),
                    before: json!(1),
                    after: json!(2)
                },
                FieldChange {
                    path: "list[1].x".into(),
                    before: json!(2),
                    after: json!(3)
                },
                FieldChange {
                    path: "gone".into(),
                    before: json!(true),
                    after: Value::Null
                },
                FieldChange {
                    path: "short".into(),
                    before: json!([1]),
                    after: json!([1, 2])
                },
            ]
        );
        assert_eq!(
            diff(&json!({}), &json!({"n": {"m": 1}})),
            vec![FieldChange {
                path: "n".into(),
                before: Value::Null,
                after: json!({"m": 1})
            }]
        );
        assert_eq!(
            diff(&json!([1]), &json!([2])),
            vec![FieldChange {
                path: String::new(),
                before: json!([1]),
                after: json!([2])
            }]
        );
        assert!(diff(&before, &before).is_empty());
    }

    #[test]
    fn versions_and_shared_content_are_found_for_every_kind() {
        let content = catalog();
        for (kind, code) in [
            (SharedEntryKind::RecognitionItem, "RI-CON-002"),
            (SharedEntryKind::StandardItem, "SS-MR-001"),
            (SharedEntryKind::Scenario, "SC-001"),
            (SharedEntryKind::Target, "TG-2024-01"),
        ] {
            assert_eq!(entry_version(&content, kind, code), Some(1), "{kind}");
            assert_eq!(shared_content(&content, kind, code).unwrap()["code"], code);
            assert_eq!(entry_version(&content, kind, "NOPE"), None);
            assert_eq!(shared_content(&content, kind, "NOPE"), None);
        }
        assert!(
            SharedEntryKind::RecognitionItem.has_local_parts()
                && SharedEntryKind::StandardItem.has_local_parts()
        );
        assert!(
            !SharedEntryKind::Scenario.has_local_parts()
                && !SharedEntryKind::Target.has_local_parts()
        );
        assert_eq!(
            SharedEntryKind::Scenario.entry_kind(),
            Some(EntryKind::Scenario)
        );
        assert_eq!(SharedEntryKind::Target.entry_kind(), None);
    }
}
