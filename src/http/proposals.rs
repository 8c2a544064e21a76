//! Proposals of shared changes (变更提案): propose, list, read, vote, withdraw. The
//! rules live in [`crate::domain::proposal`] and the use cases in
//! [`crate::application`]; these handlers translate HTTP to them and back.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::NoParams;
use super::editing::{BodyLimit, write_request};
use super::problem::ApiError;
use crate::application::{UseCases, VoteBody, WithdrawalBody, proposal_etag};
use crate::domain::catalog::Batch;
use crate::domain::proposal::{
    ChangeAction, FieldChange, Proposal, ProposalDraft, ProposalState, Proposer, SharedEntryKind,
    Vote, diff,
};
use crate::domain::region::RegionCode;
use crate::storage::proposals::ProposalFilter;

/// A proposal with its votes, the regions still awaited, and each change as a diff.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalResource {
    /// Sequential number.
    #[schema(example = 1)]
    pub id: i64,
    /// Moves on with every vote or change of state; the `ETag` names it.
    #[schema(example = 1)]
    pub version: i64,
    /// Where it stands.
    pub state: ProposalState,
    /// What it does, in one line.
    pub title: String,
    /// Why; empty when not given.
    pub rationale: String,
    /// Who proposed it.
    pub proposer: Proposer,
    /// Every region whose approval it needs.
    #[schema(value_type = Vec<String>, example = json!(["BJ", "TJ", "HE"]))]
    pub participants: Vec<RegionCode>,
    /// The participating regions that have not voted yet (empty once decided).
    #[schema(value_type = Vec<String>, example = json!(["HE"]))]
    pub awaiting: Vec<RegionCode>,
    /// The votes cast, in order.
    pub votes: Vec<Vote>,
    /// The batch the proposal publishes, or `null`.
    pub batch: Option<Batch>,
    /// The changes, each with the exact difference it makes.
    pub changes: Vec<ChangeResource>,
    /// When it was proposed.
    pub created_at: DateTime<Utc>,
    /// When it was applied, rejected, withdrawn or found conflicted; `null` while open.
    pub decided_at: Option<DateTime<Utc>>,
    /// How it ended (the versions it made, the rejecting region, the conflicts); empty
    /// while open.
    pub outcome: String,
}

/// One change of a proposal.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeResource {
    /// What the change does.
    pub action: ChangeAction,
    /// The kind of entry.
    pub kind: SharedEntryKind,
    /// The entry's code.
    #[schema(example = "RI-CON-002")]
    pub code: String,
    /// The entry version the change was written against; `null` for a new entry.
    pub base_version: Option<i64>,
    /// The fields it changes, with their values before and after (shared fields only;
    /// a new entry lists every field).
    pub diff: Vec<FieldChange>,
    /// Sides of regions joining the entry (every side of a new entry).
    #[schema(value_type = Vec<Object>)]
    pub added_local_parts: Vec<serde_json::Value>,
}

impl From<Proposal> for ProposalResource {
    fn from(proposal: Proposal) -> Self {
        let awaiting = proposal.awaiting();
        Self {
            id: proposal.id,
            version: proposal.version,
            state: proposal.state,
            title: proposal.title,
            rationale: proposal.rationale,
            proposer: proposal.proposer,
            participants: proposal.participants,
            awaiting,
            votes: proposal.votes,
            batch: proposal.batch,
            changes: proposal
                .changes
                .into_iter()
                .map(|change| ChangeResource {
                    // A new entry: every field is new.
                    diff: diff(
                        &change
                            .before
                            .clone()
                            .unwrap_or_else(|| serde_json::Value::Object(Default::default())),
                        &change.after,
                    ),
                    action: change.action,
                    kind: change.kind,
                    code: change.code,
                    base_version: change.base_version,
                    added_local_parts: change.added_local_parts,
                })
                .collect(),
            created_at: proposal.created_at,
            decided_at: proposal.decided_at,
            outcome: proposal.outcome,
        }
    }
}

/// The path of one proposal.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProposalPath {
    /// The proposal's number.
    #[param(pattern = "^[1-9][0-9]{0,17}$", example = "1")]
    pub id: String,
}

fn proposal_response(
    status: actix_web::http::StatusCode,
    proposal: Proposal,
) -> Result<HttpResponse, ApiError> {
    let etag = HeaderValue::from_str(&proposal_etag(proposal.id, proposal.version))
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let location = format!("/api/v1/proposals/{}", proposal.id);
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if status == actix_web::http::StatusCode::CREATED {
        response.insert_header((header::LOCATION, location));
    }
    Ok(response.json(ProposalResource::from(proposal)))
}

/// Proposes a shared change.
///
/// Creating an entry, changing its shared fields (names, legal basis, arrangements
/// between regions…), retiring it, or publishing a batch of such changes under one
/// document. An `editor` of a region taking part; each change names the entry version
/// it was written against. The changes are checked against every catalog rule now, and
/// again when the last region approves. Every participating region's `approver` then
/// votes, the proposing region's too.
#[utoipa::path(
    tag = "proposals",
    operation_id = "create_proposal",
    request_body(
        content = ProposalDraft,
        description = "What to change and why.",
        example = json!({
            "title": "天津 accepts 河北 Grade II constructor certificates under revised conditions",
            "rationale": "Joint notice of the three offices, 2026-11.",
            "changes": [{
                "action": "update",
                "kind": "recognition_item",
                "code": "RI-CON-002",
                "base_version": 1,
                "patch": {"legal_basis": "《注册建造师管理规定》；京津冀三地联合通知（2026）"}
            }]
        })
    ),
    responses(
        (status = 201, description = "Recorded as an open proposal awaiting every participating region's vote.", body = ProposalResource),
    ),
    security(("bearer" = []))
)]
#[post("/proposals")]
pub async fn create_proposal(
    req: HttpRequest,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], false).await;
    let proposal = use_cases.propose(request).await?;
    proposal_response(actix_web::http::StatusCode::CREATED, proposal)
}

/// Which proposals to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    /// Only proposals in this state.
    #[param(example = "open")]
    pub state: Option<ProposalState>,
    /// Only open proposals still awaiting this region's vote.
    #[param(pattern = "^[A-Za-z][A-Za-z0-9_]{1,15}$", example = "HE")]
    pub awaiting: Option<String>,
    /// Only proposals changing an entry with this code.
    #[param(
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,64}$",
        example = "RI-CON-002"
    )]
    pub entry: Option<String>,
    /// Only proposals changing entries of this kind.
    #[param(example = "recognition_item")]
    pub kind: Option<SharedEntryKind>,
    /// Proposals numbered above this (default 0: from the first).
    #[param(minimum = 0, example = 0)]
    pub after: Option<i64>,
    /// How many at most, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
}

/// A page of proposals.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProposalPage {
    /// Proposals in order of their number.
    pub items: Vec<ProposalResource>,
    /// Pass as `after` for the next page; `null` when this page is the last so far.
    pub next_after: Option<i64>,
}

/// Lists proposals.
///
/// In order of their number, filtered by state, by the region whose vote is awaited,
/// and by the entries they change (code, kind, or both). Public, like every read.
#[utoipa::path(
    tag = "proposals",
    operation_id = "list_proposals",
    params(ProposalQuery),
    responses(
        (status = 200, description = "A page of proposals.", body = ProposalPage),
    )
)]
#[get("/proposals")]
pub async fn list_proposals(
    query: web::Query<ProposalQuery>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::parameter(
            "after",
            "expected a proposal number of 0 or more",
        ));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::parameter(
            "limit",
            format!("expected a whole number from 1 to 200, got `{limit}`"),
        ));
    }
    let awaiting = query
        .awaiting
        .as_deref()
        .map(RegionCode::parse)
        .transpose()
        .map_err(|message| ApiError::parameter("awaiting", message))?;
    if query.entry.as_deref().is_some_and(|code| {
        code.is_empty() || code.chars().count() > 64 || code.chars().any(char::is_control)
    }) {
        return Err(ApiError::parameter(
            "entry",
            "an entry code is 1 to 64 characters without control characters",
        ));
    }
    let filter = ProposalFilter {
        state: query.state,
        kind: query.kind.map(|kind| kind.as_str().to_owned()),
        code: query.entry,
        after,
    };
    let found = use_cases.proposals(filter, awaiting, limit).await?;
    let next_after = (found.len() as i64 == limit)
        .then(|| found.last().map(|p| p.id))
        .flatten();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ProposalPage {
            items: found.into_iter().map(ProposalResource::from).collect(),
            next_after,
        }))
}

/// Reads one proposal.
///
/// With its votes, the regions still awaited, and each change as the exact difference
/// it makes. The `ETag` is what a vote or withdrawal names in `If-Match`.
#[utoipa::path(
    tag = "proposals",
    operation_id = "get_proposal",
    params(ProposalPath),
    responses(
        (status = 200, description = "The proposal.", body = ProposalResource),
    )
)]
#[get("/proposals/{id}")]
pub async fn get_proposal(
    path: web::Path<ProposalPath>,
    _query: web::Query<NoParams>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let proposal = use_cases.proposal(path.into_inner().id).await?;
    proposal_response(actix_web::http::StatusCode::OK, proposal)
}

/// Votes on a proposal.
///
/// An `approver` of a participating region votes once for the region, against the
/// proposal version read (`If-Match`). A rejection ends the proposal; the last approval
/// applies it at once, unless an entry it was based on has changed since, in which case
/// it becomes `conflicted` and changes nothing.
#[utoipa::path(
    tag = "proposals",
    operation_id = "vote_on_proposal",
    params(
        ProposalPath,
        ("If-Match" = String, Header, description = "The `ETag` of the proposal as read", example = "\"P1.1\""),
    ),
    request_body(
        content = VoteBody,
        description = "The region's vote.",
        example = json!({"ballot": "approve", "comment": "河北省住建厅同意。"})
    ),
    responses(
        (status = 200, description = "Counted; the proposal as it now stands (`applied` after the last approval).", body = ProposalResource),
    ),
    security(("bearer" = []))
)]
#[post("/proposals/{id}/votes")]
pub async fn vote_on_proposal(
    req: HttpRequest,
    path: web::Path<ProposalPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], false).await;
    let proposal = use_cases.vote(request, path.into_inner().id).await?;
    proposal_response(actix_web::http::StatusCode::OK, proposal)
}

/// Withdraws a proposal.
///
/// An `editor` or `approver` of the proposing region takes back an open proposal,
/// against the version read (`If-Match`). The body (a reason) may be left out.
#[utoipa::path(
    tag = "proposals",
    operation_id = "withdraw_proposal",
    params(
        ProposalPath,
        ("If-Match" = String, Header, description = "The `ETag` of the proposal as read", example = "\"P1.1\""),
    ),
    request_body(
        content = WithdrawalBody,
        description = "Why, for the record.",
        example = json!({"reason": "Superseded by a joint notice."})
    ),
    responses(
        (status = 200, description = "Withdrawn; the proposal as it now stands.", body = ProposalResource),
    ),
    security(("bearer" = []))
)]
#[post("/proposals/{id}/withdrawal")]
pub async fn withdraw_proposal(
    req: HttpRequest,
    path: web::Path<ProposalPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], true).await;
    let proposal = use_cases.withdraw(request, path.into_inner().id).await?;
    proposal_response(actix_web::http::StatusCode::OK, proposal)
}
