//! Use cases of shared changes: propose, vote, withdraw, and read proposals. A proposal
//! applies, in the transaction of the last approving vote, only while every entry it
//! was based on still reads as it did; otherwise it becomes `conflicted`.

use chrono::Utc;
use serde_json::Value;

use super::{UseCaseError, UseCases, WriteRequest, action, now, printable, required_if_match};
use crate::domain::audit::{AuditEntry, Outcome};
use crate::domain::change::{ChangeKind, ChangedEntryKind, NewChange};
use crate::domain::governance::{Principal, Role, check_text_length, parse_body, require_role};
use crate::domain::proposal::{
    Ballot, ChangeAction, MAX_CHANGES, PlanError, Proposal, ProposalCheck, ProposalDraft,
    ProposalRefusal, ProposalState, Proposer, Tally, Vote, authorize_proposal, authorize_vote,
    authorize_withdrawal, plan_up_to, replay, tally,
};
use crate::storage::catalog::{insert_batch, load_catalog, lock_catalog_for_write, save_entry};
use crate::storage::proposals::{self, ProposalFilter};
use crate::storage::{DbConnection, StorageError, audit, changes};

/// Why a vote or withdrawal without `If-Match` is refused.
const MISSING_IF_MATCH: &str = "send If-Match with the ETag of the proposal you read; a vote counts only for the proposal as its voter saw it";

/// Kind name of a proposal in the audit log.
const PROPOSAL: &str = "proposal";

/// The strong entity tag of a proposal version.
pub fn proposal_etag(id: i64, version: i64) -> String {
    format!("\"P{id}.{version}\"")
}

/// A vote as sent.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    /// Approve or reject.
    pub ballot: Ballot,
    /// Why, for the record (at most 2000 characters).
    #[serde(default)]
    pub comment: String,
}

/// A withdrawal as sent.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalBody {
    /// Why, for the record (at most 2000 characters).
    #[serde(default)]
    pub reason: String,
}

impl From<ProposalCheck> for UseCaseError {
    fn from(check: ProposalCheck) -> Self {
        match check {
            ProposalCheck::Role(refusal) => Self::Forbidden(refusal),
            ProposalCheck::Proposal(
                refusal @ (ProposalRefusal::NotParticipating { .. }
                | ProposalRefusal::NotProposer(_)),
            ) => Self::NotAllowed(refusal.to_string()),
            ProposalCheck::Proposal(refusal) => Self::Conflict(refusal.to_string()),
        }
    }
}

impl From<PlanError> for UseCaseError {
    fn from(error: PlanError) -> Self {
        match error {
            PlanError::Invalid(invalid) => Self::InvalidChange(invalid),
            PlanError::Stale(message) => Self::Conflict(message),
        }
    }
}

fn parse_id(text: &str) -> Result<i64, UseCaseError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            UseCaseError::InvalidParameter(
                "id",
                format!("`{}` is not a proposal number", printable(text)),
            )
        })
}

fn not_found(id: i64) -> UseCaseError {
    UseCaseError::NotFound(format!("No proposal {id}."))
}

fn check_comment(field: &str, text: &str) -> Result<(), UseCaseError> {
    check_text_length(field, text).map_err(UseCaseError::InvalidChange)
}

impl UseCases {
    /// Records a proposal of shared changes: an editor of a participating region, the
    /// changes planned against the current catalog and checked against every rule.
    pub async fn propose(&self, request: WriteRequest) -> Result<Proposal, UseCaseError> {
        self.fresh_keys(&request.authorization).await;
        let audit = self.audit_entry(&request, action::PROPOSE, None, None);
        let check = || -> Result<(Principal, ProposalDraft), UseCaseError> {
            let principal = self.admit(&request)?;
            require_role(&principal, Role::Editor)?;
            let draft: ProposalDraft =
                parse_body(&request.body()?).map_err(UseCaseError::InvalidChange)?;
            Ok((principal, draft))
        };
        self.carry_out(audit, check, |conn, (principal, draft), accepted| {
            Ok((record_proposal(conn, &principal, &draft, accepted)?, None))
        })
        .await
    }

    /// Casts the token's region's vote: an approver of a participating region, once,
    /// against the proposal version read. The last approval applies the proposal.
    pub async fn vote(&self, request: WriteRequest, id: String) -> Result<Proposal, UseCaseError> {
        self.fresh_keys(&request.authorization).await;
        let audit = self.audit_entry(
            &request,
            action::VOTE,
            Some((PROPOSAL, printable(&id))),
            None,
        );
        let check = || -> Result<_, UseCaseError> {
            let principal = self.admit(&request)?;
            let id = parse_id(&id)?;
            require_role(&principal, Role::Approver)?;
            let if_match = required_if_match(&request, MISSING_IF_MATCH)?;
            let vote: VoteBody =
                parse_body(&request.body()?).map_err(UseCaseError::InvalidChange)?;
            check_comment("comment", &vote.comment)?;
            Ok((id, if_match, principal, vote))
        };
        self.carry_out(
            audit,
            check,
            |conn, (id, if_match, principal, vote), accepted| {
                cast_vote(conn, id, &if_match, &principal, vote, accepted)
            },
        )
        .await
    }

    /// Withdraws an open proposal: an editor or approver of the proposing region,
    /// against the proposal version read.
    pub async fn withdraw(
        &self,
        request: WriteRequest,
        id: String,
    ) -> Result<Proposal, UseCaseError> {
        self.fresh_keys(&request.authorization).await;
        let audit = self.audit_entry(
            &request,
            action::WITHDRAW_PROPOSAL,
            Some((PROPOSAL, printable(&id))),
            None,
        );
        let check = || -> Result<_, UseCaseError> {
            let principal = self.admit(&request)?;
            let id = parse_id(&id)?;
            let if_match = required_if_match(&request, MISSING_IF_MATCH)?;
            let withdrawal: WithdrawalBody =
                parse_body(&request.body()?).map_err(UseCaseError::InvalidChange)?;
            check_comment("reason", &withdrawal.reason)?;
            Ok((id, if_match, principal, withdrawal))
        };
        self.carry_out(
            audit,
            check,
            |conn, (id, if_match, principal, withdrawal), accepted| {
                let proposal = load(conn, id)?;
                authorize_withdrawal(&principal, proposal.state, &proposal.proposer.region)?;
                check_version(&proposal, &if_match)?;
                let reason = if withdrawal.reason.is_empty() {
                    format!("withdrawn by {}", principal.region)
                } else {
                    format!("withdrawn by {}: {}", principal.region, withdrawal.reason)
                };
                advance(conn, &proposal, ProposalState::Withdrawn, &reason)?;
                let mut record = accepted;
                record.reason = reason;
                record_accepted(conn, &mut record, now())?;
                Ok((reread(conn, id)?, None))
            },
        )
        .await
    }

    /// One proposal with its votes (public).
    pub async fn proposal(&self, id: String) -> Result<Proposal, UseCaseError> {
        let id = parse_id(&id)?;
        self.registry
            .database()
            .run(move |conn| proposals::find(conn, id)?.ok_or_else(|| not_found(id)))
            .await
    }

    /// Proposals in id order (public), narrowed by `filter` and by the region still
    /// awaited, if any.
    pub async fn proposals(
        &self,
        filter: ProposalFilter,
        awaiting: Option<crate::domain::region::RegionCode>,
        limit: i64,
    ) -> Result<Vec<Proposal>, UseCaseError> {
        self.registry
            .database()
            .run(move |conn| {
                let mut filter = filter;
                if awaiting.is_some() {
                    filter.state = Some(ProposalState::Open);
                }
                let mut found = Vec::new();
                // Filtering by the awaited region happens after loading: page on until
                // `limit` match or the proposals run out.
                loop {
                    let page = proposals::list(conn, &filter, limit)?;
                    let Some(last) = page.last().map(|p| p.id) else {
                        break;
                    };
                    let exhausted = (page.len() as i64) < limit;
                    found.extend(page.into_iter().filter(|p| {
                        awaiting
                            .as_ref()
                            .is_none_or(|region| p.awaiting().contains(region))
                    }));
                    if exhausted || found.len() as i64 >= limit {
                        break;
                    }
                    filter.after = last;
                }
                found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                Ok::<_, UseCaseError>(found)
            })
            .await
    }
}

fn record_proposal(
    conn: &mut DbConnection,
    principal: &Principal,
    draft: &ProposalDraft,
    audit: AuditEntry,
) -> Result<Proposal, UseCaseError> {
    record_proposal_up_to(conn, principal, draft, audit, MAX_CHANGES)
}

/// Records a proposal of at most `max_changes` changes (an import's may carry more
/// than one sent as JSON).
pub(super) fn record_proposal_up_to(
    conn: &mut DbConnection,
    principal: &Principal,
    draft: &ProposalDraft,
    mut audit: AuditEntry,
    max_changes: usize,
) -> Result<Proposal, UseCaseError> {
    lock_catalog_for_write(conn)?;
    let content = load_catalog(conn)?;
    let plan = plan_up_to(&content, draft, max_changes)?;
    authorize_proposal(principal, &plan.participants)?;
    let now = now();
    let id = proposals::next_id(conn)?;
    let proposal = Proposal {
        id,
        version: 1,
        state: ProposalState::Open,
        title: draft.title.trim().to_owned(),
        rationale: draft.rationale.clone().unwrap_or_default(),
        proposer: Proposer {
            region: principal.region.clone(),
            issuer: principal.issuer.clone(),
            subject: principal.subject.clone(),
        },
        participants: plan.participants,
        votes: Vec::new(),
        batch: draft.batch.clone(),
        changes: plan.changes,
        created_at: now,
        decided_at: None,
        outcome: String::new(),
    };
    proposals::insert(conn, &proposal)?;
    changes::record(
        conn,
        &[NewChange::proposal(id, 1, ProposalState::Open)],
        now,
    )?;
    audit.entry = Some((PROPOSAL, id.to_string()));
    audit.recorded_at = now;
    audit.outcome = Outcome::Accepted;
    audit.status = 201;
    audit.change = Some((String::new(), changes_text(&proposal)?));
    audit::append(conn, audit)?;
    reread(conn, id)
}

fn changes_text(proposal: &Proposal) -> Result<String, StorageError> {
    serde_json::to_string(&proposal.changes).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// The proposal `id`, with the catalog locked for the write.
fn load(conn: &mut DbConnection, id: i64) -> Result<Proposal, UseCaseError> {
    lock_catalog_for_write(conn)?;
    proposals::find(conn, id)?.ok_or_else(|| not_found(id))
}

/// Refuses `if_match` unless it names the proposal's current version. Checked after
/// the rules of the action, so that a vote on a decided proposal learns that it is
/// decided (409) rather than only that it moved on (412).
fn check_version(proposal: &Proposal, if_match: &str) -> Result<(), UseCaseError> {
    let etag = proposal_etag(proposal.id, proposal.version);
    if if_match.split(',').any(|tag| tag.trim() == etag) {
        return Ok(());
    }
    Err(UseCaseError::PreconditionFailed {
        message: format!(
            "If-Match {if_match} is not the current version of proposal {} (now {etag}); read it again before acting on it",
            proposal.id
        ),
        current_etag: etag,
    })
}

fn reread(conn: &mut DbConnection, id: i64) -> Result<Proposal, UseCaseError> {
    proposals::find(conn, id)?.ok_or_else(|| not_found(id))
}

fn advance(
    conn: &mut DbConnection,
    proposal: &Proposal,
    state: ProposalState,
    outcome: &str,
) -> Result<(), UseCaseError> {
    let now = now();
    let decided = (state != ProposalState::Open).then(|| now.naive_utc());
    if proposals::advance(conn, proposal.id, proposal.version, state, decided, outcome)? {
        // A vote that leaves the proposal open is not a change of state.
        if state != ProposalState::Open {
            changes::record(
                conn,
                &[NewChange::proposal(
                    proposal.id,
                    proposal.version + 1,
                    state,
                )],
                now,
            )?;
        }
        Ok(())
    } else {
        Err(UseCaseError::PreconditionFailed {
            message: format!(
                "proposal {} changed while this request was being made; read it again",
                proposal.id
            ),
            current_etag: proposal_etag(proposal.id, proposal.version + 1),
        })
    }
}

fn record_accepted(
    conn: &mut DbConnection,
    record: &mut AuditEntry,
    now: chrono::DateTime<Utc>,
) -> Result<(), UseCaseError> {
    record.recorded_at = now;
    record.outcome = Outcome::Accepted;
    record.status = 200;
    audit::append(conn, record.clone())?;
    Ok(())
}

fn cast_vote(
    conn: &mut DbConnection,
    id: i64,
    if_match: &str,
    principal: &Principal,
    body: VoteBody,
    accepted: AuditEntry,
) -> Result<(Proposal, Option<i64>), UseCaseError> {
    let proposal = load(conn, id)?;
    authorize_vote(
        principal,
        proposal.state,
        &proposal.participants,
        &proposal.votes,
    )?;
    check_version(&proposal, if_match)?;
    let now = now();
    let vote = Vote {
        region: principal.region.clone(),
        ballot: body.ballot,
        voter: principal.subject.clone(),
        comment: body.comment,
        cast_at: now,
    };
    proposals::insert_vote(conn, id, &vote)?;
    let mut votes = proposal.votes.clone();
    votes.push(vote);
    let mut record = accepted;
    record.reason = format!("{} {}", principal.region, body.ballot);
    record_accepted(conn, &mut record, now)?;
    let mut generation = None;
    match tally(&proposal.participants, &votes) {
        Tally::Awaiting(_) => advance(conn, &proposal, ProposalState::Open, "")?,
        Tally::Rejected(region) => advance(
            conn,
            &proposal,
            ProposalState::Rejected,
            &format!("rejected by {region}"),
        )?,
        Tally::Approved => generation = apply(conn, &proposal, record)?,
    }
    Ok((reread(conn, id)?, generation))
}

/// Applies an approved proposal, or marks it conflicted when the catalog moved under
/// it; an applied proposal marks the open proposals it overtook as conflicted too.
fn apply(
    conn: &mut DbConnection,
    proposal: &Proposal,
    vote_record: AuditEntry,
) -> Result<Option<i64>, UseCaseError> {
    let content = load_catalog(conn)?;
    let (next, entries) = match replay(&content, proposal.batch.as_ref(), &proposal.changes) {
        Ok(applied) => applied,
        Err(conflicts) => {
            let outcome = format!("conflicted: {}", conflicts.join("; "));
            advance(conn, proposal, ProposalState::Conflicted, &outcome)?;
            return Ok(None);
        }
    };
    let now = now();
    let mut feed = Vec::with_capacity(entries.len() + 1);
    if let Some(batch) = &proposal.batch {
        insert_batch(conn, batch)?;
        feed.push(
            NewChange::entry(
                ChangeKind::EntryCreated,
                ChangedEntryKind::Batch,
                &batch.code,
                1,
            )
            .by_proposal(proposal.id),
        );
    }
    for (change, entry) in proposal.changes.iter().zip(&entries) {
        save_entry(conn, entry, change.action == ChangeAction::Create, now)?;
        let (code, version) = crate::domain::proposal::code_and_version(entry);
        let kind = match change.action {
            ChangeAction::Create => ChangeKind::EntryCreated,
            ChangeAction::Update => ChangeKind::EntryChanged,
            ChangeAction::Retire => ChangeKind::EntryRetired,
        };
        feed.push(
            NewChange::entry(kind, change.kind.into(), code, version).by_proposal(proposal.id),
        );
        let mut record = vote_record.clone();
        record.action = action::APPLY_PROPOSAL;
        record.entry = Some((change.kind.as_str(), change.code.clone()));
        record.reason = format!(
            "proposal {} approved by {}",
            proposal.id,
            joined(&proposal.participants)
        );
        record.change = Some((
            change
                .before
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default(),
            change.after.to_string(),
        ));
        audit::append(conn, record)?;
    }
    changes::record(conn, &feed, now)?;
    let versions: Vec<String> = entries
        .iter()
        .map(|entry| {
            let (code, version) = crate::domain::proposal::code_and_version(entry);
            format!("{code} v{version}")
        })
        .collect();
    advance(
        conn,
        proposal,
        ProposalState::Applied,
        &format!("applied: {}", versions.join(", ")),
    )?;
    // The open proposals this one overtook can never apply: say so now rather than
    // when their last vote arrives.
    let touched: Vec<(String, String)> = proposal
        .changes
        .iter()
        .map(|c| (c.kind.as_str().to_owned(), c.code.clone()))
        .collect();
    for other in proposals::open_touching(conn, &touched, proposal.id)? {
        let Some(other) = proposals::find(conn, other)? else {
            continue;
        };
        if let Err(conflicts) = replay(&next, other.batch.as_ref(), &other.changes) {
            let outcome = format!(
                "conflicted: proposal {} applied first; {}",
                proposal.id,
                conflicts.join("; ")
            );
            advance(conn, &other, ProposalState::Conflicted, &outcome)?;
        }
    }
    Ok(Some(changes::head(conn)?))
}

fn joined(regions: &[crate::domain::region::RegionCode]) -> String {
    regions
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
