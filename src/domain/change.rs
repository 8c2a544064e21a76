//! The change feed (变更流): every change to the catalog, and every change of a
//! proposal's state, numbered in commit order without gaps. Provincial systems follow it
//! to keep their copies in sync; every instance's read model follows it too.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::EntryKind;
use super::proposal::{ProposalState, SharedEntryKind};
use super::region::RegionCode;
use super::text_enum;

text_enum! {
    /// What happened to the entry a change names.
    pub enum ChangeKind {
        /// A new entry (or a batch published).
        EntryCreated = "entry_created",
        /// An entry's shared content changed.
        EntryChanged = "entry_changed",
        /// An entry was retired (废止); it stays readable.
        EntryRetired = "entry_retired",
        /// One region's side of an entry changed (`region` names it).
        LocalPartChanged = "local_part_changed",
        /// A region suspended its acceptance of an item (`region` is the accepting one).
        AcceptanceSuspended = "acceptance_suspended",
        /// A region lifted its suspension; acceptance is restored from the lifting day.
        AcceptanceReinstated = "acceptance_reinstated",
        /// A proposal was opened or decided (`state` is its new state).
        ProposalStateChanged = "proposal_state_changed",
    }
}

text_enum! {
    /// The kinds of thing a change names.
    pub enum ChangedEntryKind {
        /// 批次: a published list of items.
        Batch = "batch",
        /// 资质资格互认事项
        RecognitionItem = "recognition_item",
        /// 政务服务事项
        StandardItem = "standard_item",
        /// 互认场景
        Scenario = "scenario",
        /// 工作目标
        Target = "target",
        /// 变更提案: not part of the catalog until applied.
        Proposal = "proposal",
    }
}

impl From<EntryKind> for ChangedEntryKind {
    fn from(kind: EntryKind) -> Self {
        match kind {
            EntryKind::RecognitionItem => Self::RecognitionItem,
            EntryKind::StandardItem => Self::StandardItem,
            EntryKind::Scenario => Self::Scenario,
        }
    }
}

impl From<SharedEntryKind> for ChangedEntryKind {
    fn from(kind: SharedEntryKind) -> Self {
        match kind {
            SharedEntryKind::RecognitionItem => Self::RecognitionItem,
            SharedEntryKind::StandardItem => Self::StandardItem,
            SharedEntryKind::Scenario => Self::Scenario,
            SharedEntryKind::Target => Self::Target,
        }
    }
}

/// A change about to be recorded: the feed gives it its number and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChange {
    /// What happened.
    pub kind: ChangeKind,
    /// The kind of thing it happened to.
    pub entry_kind: ChangedEntryKind,
    /// Its code (a proposal's id, for proposals).
    pub entry_code: String,
    /// The region whose side or acceptance changed, for regional changes.
    pub region: Option<RegionCode>,
    /// The entry's version after the change (the local part's, for a local part; the
    /// proposal's, for a proposal; 1 for a batch).
    pub version: i64,
    /// The proposal that made the change, or whose state changed.
    pub proposal: Option<i64>,
    /// A proposal's new state.
    pub state: Option<ProposalState>,
    /// The token subject (`sub`) that made a regional change, for the entry's history.
    pub actor: Option<String>,
}

impl NewChange {
    /// A change to an entry of the catalog.
    pub fn entry(kind: ChangeKind, entry_kind: ChangedEntryKind, code: &str, version: i64) -> Self {
        Self {
            kind,
            entry_kind,
            entry_code: code.to_owned(),
            region: None,
            version,
            proposal: None,
            state: None,
            actor: None,
        }
    }

    /// The same change, made by region `region`.
    pub fn in_region(mut self, region: &RegionCode) -> Self {
        self.region = Some(region.clone());
        self
    }

    /// The same change, made by the token subject `subject`.
    pub fn by_actor(mut self, subject: Option<&str>) -> Self {
        self.actor = subject.map(str::to_owned);
        self
    }

    /// The same change, made by proposal `id`.
    pub fn by_proposal(mut self, id: i64) -> Self {
        self.proposal = Some(id);
        self
    }

    /// A proposal entered `state`.
    pub fn proposal(id: i64, version: i64, state: ProposalState) -> Self {
        Self {
            kind: ChangeKind::ProposalStateChanged,
            entry_kind: ChangedEntryKind::Proposal,
            entry_code: id.to_string(),
            region: None,
            version,
            proposal: Some(id),
            state: Some(state),
            actor: None,
        }
    }
}

/// One change as the feed returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 1042, "recorded_at": "2026-12-01T08:15:02.123456Z", "kind": "local_part_changed",
    "entry_kind": "recognition_item", "entry_code": "RI-0001", "region": "TJ",
    "version": 7, "proposal": null, "state": null
}))]
pub struct Change {
    /// Its place in the feed: 1, 2, 3, … in commit order, without gaps.
    pub seq: i64,
    /// When it was committed (UTC, to the microsecond).
    pub recorded_at: DateTime<Utc>,
    /// What happened.
    pub kind: ChangeKind,
    /// The kind of thing it happened to.
    pub entry_kind: ChangedEntryKind,
    /// Its code (a proposal's id, for proposals).
    pub entry_code: String,
    /// The region whose side or acceptance changed; `null` for shared changes.
    #[schema(value_type = Option<String>, example = "TJ")]
    pub region: Option<RegionCode>,
    /// The version after the change: the entry's; a local part's for
    /// `local_part_changed`; the proposal's for proposals; 1 for a batch.
    pub version: i64,
    /// The proposal that made the change, or whose state changed.
    pub proposal: Option<i64>,
    /// A proposal's new state, for `proposal_state_changed`.
    pub state: Option<ProposalState>,
}
