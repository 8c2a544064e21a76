//! Proposal rows: the proposal with its planned changes (JSON), its votes, and the
//! entries it touches. Call these inside a transaction that took
//! [`lock_catalog_for_write`](super::catalog::lock_catalog_for_write): ids are handed
//! out under that lock.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::catalog::to_json;
use super::schema::{proposal_entries, proposal_votes, proposals};
use super::{DbConnection, StorageError};
use crate::domain::proposal::{Ballot, Proposal, ProposalState, Proposer, Vote};
use crate::domain::region::RegionCode;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = proposals)]
struct ProposalRow {
    id: i64,
    version: i64,
    state: String,
    title: String,
    rationale: String,
    proposer_issuer: String,
    proposer_subject: String,
    proposer_region: String,
    participants: String,
    batch: Option<String>,
    changes: String,
    created_at: NaiveDateTime,
    decided_at: Option<NaiveDateTime>,
    outcome: String,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = proposal_votes)]
struct VoteRow {
    proposal_id: i64,
    region_code: String,
    ballot: String,
    voter: String,
    comment: String,
    cast_at: NaiveDateTime,
}

fn corrupt(id: i64, what: &str) -> StorageError {
    StorageError::Corrupt(format!("proposal {id}: invalid {what}"))
}

impl ProposalRow {
    fn into_domain(self, votes: Vec<Vote>) -> Result<Proposal, StorageError> {
        let id = self.id;
        Ok(Proposal {
            id,
            version: self.version,
            state: ProposalState::parse(&self.state).ok_or_else(|| corrupt(id, "state"))?,
            title: self.title,
            rationale: self.rationale,
            proposer: Proposer {
                region: RegionCode::parse(&self.proposer_region)
                    .map_err(|_| corrupt(id, "proposer region"))?,
                issuer: self.proposer_issuer,
                subject: self.proposer_subject,
            },
            participants: serde_json::from_str(&self.participants)
                .map_err(|_| corrupt(id, "participants"))?,
            votes,
            batch: self
                .batch
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|_| corrupt(id, "batch"))?,
            changes: serde_json::from_str(&self.changes).map_err(|_| corrupt(id, "changes"))?,
            created_at: self.created_at.and_utc(),
            decided_at: self.decided_at.map(|t| t.and_utc()),
            outcome: self.outcome,
        })
    }
}

impl VoteRow {
    fn into_domain(self) -> Result<Vote, StorageError> {
        let id = self.proposal_id;
        Ok(Vote {
            region: RegionCode::parse(&self.region_code).map_err(|_| corrupt(id, "vote region"))?,
            ballot: Ballot::parse(&self.ballot).ok_or_else(|| corrupt(id, "ballot"))?,
            voter: self.voter,
            comment: self.comment,
            cast_at: self.cast_at.and_utc(),
        })
    }
}

/// The id the next proposal gets.
pub fn next_id(conn: &mut DbConnection) -> Result<i64, StorageError> {
    let last: Option<i64> = proposals::table
        .select(diesel::dsl::max(proposals::id))
        .first(conn)?;
    Ok(last.unwrap_or(0) + 1)
}

/// Records a new proposal (no votes yet) and the entries it touches.
pub fn insert(conn: &mut DbConnection, proposal: &Proposal) -> Result<(), StorageError> {
    diesel::insert_into(proposals::table)
        .values(ProposalRow {
            id: proposal.id,
            version: proposal.version,
            state: proposal.state.as_str().to_owned(),
            title: proposal.title.clone(),
            rationale: proposal.rationale.clone(),
            proposer_issuer: proposal.proposer.issuer.clone(),
            proposer_subject: proposal.proposer.subject.clone(),
            proposer_region: proposal.proposer.region.to_string(),
            participants: to_json(&proposal.participants)?,
            batch: proposal.batch.as_ref().map(to_json).transpose()?,
            changes: to_json(&proposal.changes)?,
            created_at: proposal.created_at.naive_utc(),
            decided_at: proposal.decided_at.map(|t| t.naive_utc()),
            outcome: proposal.outcome.clone(),
        })
        .execute(conn)?;
    for change in &proposal.changes {
        diesel::insert_into(proposal_entries::table)
            .values((
                proposal_entries::proposal_id.eq(proposal.id),
                proposal_entries::entry_kind.eq(change.kind.as_str()),
                proposal_entries::entry_code.eq(&change.code),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One proposal with its votes.
pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Proposal>, StorageError> {
    let Some(row) = proposals::table
        .find(id)
        .select(ProposalRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let votes = votes_of(conn, &[id])?;
    Ok(Some(row.into_domain(
        votes.into_iter().map(|(_, v)| v).collect(),
    )?))
}

fn votes_of(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<(i64, Vote)>, StorageError> {
    proposal_votes::table
        .filter(proposal_votes::proposal_id.eq_any(ids))
        .order((proposal_votes::proposal_id, proposal_votes::cast_at))
        .select(VoteRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| Ok((row.proposal_id, row.into_domain()?)))
        .collect()
}

/// Which proposals to list.
#[derive(Debug, Clone, Default)]
pub struct ProposalFilter {
    /// Only in this state.
    pub state: Option<ProposalState>,
    /// Only those touching entries of this kind.
    pub kind: Option<String>,
    /// Only those touching an entry with this code.
    pub code: Option<String>,
    /// Only those with an id above this.
    pub after: i64,
}

/// Proposals in id order, at most `limit`, with their votes.
pub fn list(
    conn: &mut DbConnection,
    filter: &ProposalFilter,
    limit: i64,
) -> Result<Vec<Proposal>, StorageError> {
    let mut query = proposals::table
        .filter(proposals::id.gt(filter.after))
        .order(proposals::id)
        .limit(limit)
        .select(ProposalRow::as_select())
        .into_boxed();
    if let Some(state) = filter.state {
        query = query.filter(proposals::state.eq(state.as_str()));
    }
    let entries = proposal_entries::table.select(proposal_entries::proposal_id);
    let touching: Option<Vec<i64>> = match (&filter.kind, &filter.code) {
        (None, None) => None,
        (Some(kind), None) => Some(
            entries
                .filter(proposal_entries::entry_kind.eq(kind))
                .load(conn)?,
        ),
        (None, Some(code)) => Some(
            entries
                .filter(proposal_entries::entry_code.eq(code))
                .load(conn)?,
        ),
        (Some(kind), Some(code)) => Some(
            entries
                .filter(proposal_entries::entry_kind.eq(kind))
                .filter(proposal_entries::entry_code.eq(code))
                .load(conn)?,
        ),
    };
    if let Some(touching) = touching {
        query = query.filter(proposals::id.eq_any(touching));
    }
    let rows = query.load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut votes: HashMap<i64, Vec<Vote>> = HashMap::new();
    for (id, vote) in votes_of(conn, &ids)? {
        votes.entry(id).or_default().push(vote);
    }
    rows.into_iter()
        .map(|row| {
            let mine = votes.remove(&row.id).unwrap_or_default();
            row.into_domain(mine)
        })
        .collect()
}

/// Open proposals other than `except` that touch any of `entries` (kind, code).
pub fn open_touching(
    conn: &mut DbConnection,
    entries: &[(String, String)],
    except: i64,
) -> Result<Vec<i64>, StorageError> {
    let mut ids = Vec::new();
    for (kind, code) in entries {
        let found: Vec<i64> = proposal_entries::table
            .inner_join(proposals::table)
            .filter(proposal_entries::entry_kind.eq(kind))
            .filter(proposal_entries::entry_code.eq(code))
            .filter(proposals::state.eq(ProposalState::Open.as_str()))
            .filter(proposals::id.ne(except))
            .select(proposals::id)
            .load(conn)?;
        ids.extend(found);
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Records a region's vote.
pub fn insert_vote(conn: &mut DbConnection, id: i64, vote: &Vote) -> Result<(), StorageError> {
    diesel::insert_into(proposal_votes::table)
        .values(VoteRow {
            proposal_id: id,
            region_code: vote.region.to_string(),
            ballot: vote.ballot.as_str().to_owned(),
            voter: vote.voter.clone(),
            comment: vote.comment.clone(),
            cast_at: vote.cast_at.naive_utc(),
        })
        .execute(conn)?;
    Ok(())
}

/// Moves a proposal on from `expected_version` (one more vote, or a new state); `false`
/// when another write moved it first.
pub fn advance(
    conn: &mut DbConnection,
    id: i64,
    expected_version: i64,
    state: ProposalState,
    decided_at: Option<NaiveDateTime>,
    outcome: &str,
) -> Result<bool, StorageError> {
    let updated = diesel::update(
        proposals::table
            .find(id)
            .filter(proposals::version.eq(expected_version)),
    )
    .set((
        proposals::version.eq(expected_version + 1),
        proposals::state.eq(state.as_str()),
        proposals::decided_at.eq(decided_at),
        proposals::outcome.eq(outcome),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}
