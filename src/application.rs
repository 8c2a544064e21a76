//! Use cases: what a caller asks the registry to do, checked, carried out and audited
//! in one place. The HTTP handlers and the command line both call these; neither
//! decides who may do what, nor writes audit records, on its own.

use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{Authenticator, InvalidToken};
use crate::domain::audit::{Actor, AuditEntry, AuditRecord, BrokenLink, ChainCheck, Outcome};
use crate::domain::catalog::{EntryKind, RecognitionLocalPart, StandardLocalPart};
use crate::domain::change::{ChangeKind, NewChange};
use crate::domain::governance::{
    EditMethod, InvalidEdit, LocalPart, Principal, Refusal, Role, authorize_local_edit,
    edited_local_part, require_role,
};
use crate::domain::region::RegionCode;
use crate::registry::Registry;
use crate::settings::WebhookSettings;
use crate::storage::catalog::{
    lock_catalog_for_write, recognition_local_part, replace_recognition_local_part,
    replace_standard_local_part, standard_local_part,
};
use crate::storage::{DbConnection, StorageError, audit, changes};

/// The action names written to the audit log.
pub mod action {
    /// A region changed its own side of an entry.
    pub const EDIT_LOCAL_PART: &str = "edit_local_part";
    /// A region proposed a shared change.
    pub const PROPOSE: &str = "propose";
    /// A region voted on a proposal.
    pub const VOTE: &str = "vote";
    /// The proposing region withdrew its proposal.
    pub const WITHDRAW_PROPOSAL: &str = "withdraw_proposal";
    /// An approved proposal changed an entry (one record per entry, with before/after).
    pub const APPLY_PROPOSAL: &str = "apply_proposal";
    /// An accepting region suspended its own acceptance of an item.
    pub const SUSPEND_ACCEPTANCE: &str = "suspend_acceptance";
    /// An accepting region lifted its suspension.
    pub const LIFT_SUSPENSION: &str = "lift_suspension";
    /// A region imported a file (its own sides directly, the shared changes as one
    /// proposal, recorded under `propose`).
    pub const IMPORT: &str = "import";
    /// A region (or an administrator) subscribed a URL to changes.
    pub const SUBSCRIBE_WEBHOOK: &str = "subscribe_webhook";
    /// A subscription was made active again after failing.
    pub const RESUME_WEBHOOK: &str = "resume_webhook";
    /// A subscription was deleted.
    pub const UNSUBSCRIBE_WEBHOOK: &str = "unsubscribe_webhook";
}

pub mod exchange;
mod history;
pub mod operations;
mod proposals;
mod suspensions;
pub mod webhooks;
pub use proposals::{VoteBody, WithdrawalBody, proposal_etag};

/// Why a request was not carried out. Each is answered with its own status; every one
/// of them is audited (a refused write changes nothing but the audit log).
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    /// No acceptable token (401).
    #[error("{0}")]
    Unauthenticated(#[from] InvalidToken),
    /// The token may not do this (403).
    #[error("{0}")]
    Forbidden(#[from] Refusal),
    /// The token's region takes no part in what it asks to do (403).
    #[error("{0}")]
    NotAllowed(String),
    /// A path parameter is malformed (400).
    #[error("{1}")]
    InvalidParameter(&'static str, String),
    /// No such entry, or no such side of it (404).
    #[error("{0}")]
    NotFound(String),
    /// A write without `If-Match` (428).
    #[error("{0}")]
    PreconditionRequired(String),
    /// `If-Match` names a version that is no longer current (412).
    #[error("{message}")]
    PreconditionFailed {
        /// What happened.
        message: String,
        /// The current entity tag, so the client can re-read and retry.
        current_etag: String,
    },
    /// The body cannot be read as asked (413, 415, or 400 for malformed JSON).
    #[error("{1}")]
    Body(BodyProblem, String),
    /// The body is JSON but not a valid change (400).
    #[error("the change is invalid")]
    InvalidChange(InvalidEdit),
    /// The change collides with another entry (409), e.g. a local code already in use.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<diesel::result::Error> for UseCaseError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Storage(StorageError::Query(error))
    }
}

/// What is wrong with a request body before it is even looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProblem {
    /// Larger than the limit (413).
    TooLarge,
    /// Not JSON (415).
    UnsupportedMediaType,
    /// Not well-formed JSON (400).
    Malformed,
    /// Not all there within the time allowed (408).
    TimedOut,
}

impl UseCaseError {
    /// The HTTP status this error is answered with (recorded in the audit log).
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated(_) => 401,
            Self::Forbidden(_) | Self::NotAllowed(_) => 403,
            Self::InvalidParameter(..) | Self::InvalidChange(_) => 400,
            Self::Body(BodyProblem::TooLarge, _) => 413,
            Self::Body(BodyProblem::UnsupportedMediaType, _) => 415,
            Self::Body(BodyProblem::Malformed, _) => 400,
            Self::Body(BodyProblem::TimedOut, _) => 408,
            Self::NotFound(_) => 404,
            Self::PreconditionRequired(_) => 428,
            Self::PreconditionFailed { .. } => 412,
            Self::Conflict(_) => 409,
            Self::Storage(e) if e.is_unavailable() => 503,
            Self::Storage(_) => 500,
        }
    }

    fn audit_reason(&self) -> String {
        match self {
            Self::InvalidChange(invalid) => invalid
                .problems
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect::<Vec<_>>()
                .join("; "),
            Self::Storage(_) => "storage failure".to_owned(),
            other => other.to_string(),
        }
    }
}

/// The registry's use cases: the read model and database, and who is trusted.
#[derive(Debug, Clone)]
pub struct UseCases {
    registry: Arc<Registry>,
    authenticator: Arc<Authenticator>,
    webhooks: WebhookSettings,
}

/// A request to change one region's side of an entry.
#[derive(Debug)]
pub struct LocalPartEdit {
    /// Who asks, with which precondition and body.
    pub request: WriteRequest,
    /// Recognition item or service item.
    pub kind: EntryKind,
    /// The entry's code, from the path.
    pub code: String,
    /// The region, from the path, as sent.
    pub region: String,
    /// Replace or merge-patch.
    pub method: EditMethod,
}

/// What every write request carries besides its path: who asks, with which
/// precondition and body.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The request id, for the audit log.
    pub request_id: String,
    /// Every `Authorization` header value sent.
    pub authorization: Vec<Vec<u8>>,
    /// The `If-Match` header (several lines joined), if sent.
    pub if_match: Option<String>,
    /// The query string, which a write does not take (refused and audited when sent).
    pub query: String,
    /// The body as JSON (`{}` when left out where that is allowed), or why it could not be
    /// read.
    pub body: Result<Value, (BodyProblem, String)>,
}

impl WriteRequest {
    /// The body, or why it could not be read.
    fn body(&self) -> Result<Value, UseCaseError> {
        self.body
            .clone()
            .map_err(|(problem, message)| UseCaseError::Body(problem, message))
    }
}

/// One region's side of an entry with its version, as returned to editors.
#[derive(Debug, Clone, Serialize)]
pub struct VersionedLocalPart<P> {
    /// The entry's code.
    pub item_code: String,
    /// The local part's version: every accepted change adds one.
    pub version: i64,
    /// The local part.
    #[serde(flatten)]
    pub part: P,
}

impl<P> VersionedLocalPart<P> {
    /// The entity tag of this version, for `ETag` and `If-Match`.
    pub fn etag(&self, region: &RegionCode) -> String {
        local_part_etag(&self.item_code, region, self.version)
    }
}

/// The strong entity tag of a local part version.
pub fn local_part_etag(code: &str, region: &RegionCode, version: i64) -> String {
    format!("\"{code}.{region}.{version}\"")
}

/// The result of checking the audit chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"intact": true, "records": 1234, "first_broken": null}))]
pub struct AuditVerification {
    /// Whether every record links to its predecessor and matches its hash.
    pub intact: bool,
    /// How many records were checked before the verdict.
    pub records: i64,
    /// The first link that does not hold; `null` when the chain is intact.
    pub first_broken: Option<BrokenLink>,
}

impl UseCases {
    /// Use cases over `registry`, trusting `authenticator`'s issuers, subscribing
    /// webhooks as `webhooks` allows.
    pub fn new(
        registry: Arc<Registry>,
        authenticator: Arc<Authenticator>,
        webhooks: WebhookSettings,
    ) -> Self {
        Self {
            registry,
            authenticator,
            webhooks,
        }
    }

    /// Fetches the keys of the token's issuer again, off the async workers, when the
    /// token names a key the issuer's `jwks_url` may have gained since (at most once a
    /// minute per issuer). Called before a request is authenticated.
    pub async fn fresh_keys(&self, authorization: &[Vec<u8>]) {
        let values: Vec<&[u8]> = authorization.iter().map(Vec::as_slice).collect();
        if !self.authenticator.wants_fresh_keys(&values) {
            return;
        }
        let authenticator = Arc::clone(&self.authenticator);
        let authorization = authorization.to_vec();
        let fetched = actix_web::rt::task::spawn_blocking(move || {
            let values: Vec<&[u8]> = authorization.iter().map(Vec::as_slice).collect();
            authenticator.refresh_keys(&values);
        })
        .await;
        if let Err(error) = fetched {
            tracing::warn!(error = %error, "fetching an issuer's keys failed");
        }
    }

    /// Who the request's token says is asking.
    pub fn authenticate(&self, authorization: &[Vec<u8>]) -> Result<Principal, InvalidToken> {
        let values: Vec<&[u8]> = authorization.iter().map(Vec::as_slice).collect();
        self.authenticator.authenticate(&values)
    }

    /// Reads one region's side of a recognition item with its version.
    pub async fn recognition_local_part(
        &self,
        code: String,
        region: String,
    ) -> Result<VersionedLocalPart<RecognitionLocalPart>, UseCaseError> {
        self.read_local_part(
            EntryKind::RecognitionItem,
            code,
            region,
            recognition_local_part,
        )
        .await
    }

    /// Reads one region's side of a service item with its version.
    pub async fn standard_local_part(
        &self,
        code: String,
        region: String,
    ) -> Result<VersionedLocalPart<StandardLocalPart>, UseCaseError> {
        self.read_local_part(EntryKind::StandardItem, code, region, standard_local_part)
            .await
    }

    async fn read_local_part<P: Send + 'static>(
        &self,
        kind: EntryKind,
        code: String,
        region: String,
        read: ReadPart<P>,
    ) -> Result<VersionedLocalPart<P>, UseCaseError> {
        let code = parse_code(&code)?;
        let region = parse_region(&region)?;
        self.registry
            .database()
            .run(move |conn| read_versioned(conn, kind, &code, &region, read))
            .await
    }

    /// Changes one region's side of a recognition item or service item: only an editor
    /// of that region, only against the current version; audited either way. The read
    /// model reflects the change when this returns.
    pub async fn edit_local_part(
        &self,
        edit: LocalPartEdit,
    ) -> Result<(Value, String), UseCaseError> {
        self.fresh_keys(&edit.request.authorization).await;
        let audit = self.audit_entry(
            &edit.request,
            action::EDIT_LOCAL_PART,
            Some((edit.kind.as_str(), printable(&edit.code))),
            // As the path names it, in the canonical form when it is a region code, so
            // that a region reading the log finds the attempts on its data.
            Some(
                RegionCode::parse(&edit.region).map_or(printable(&edit.region), |r| r.to_string()),
            ),
        );
        // Every check that needs no database, in the order a client is told about them.
        let check = || -> Result<_, UseCaseError> {
            let principal = self.admit(&edit.request)?;
            let code = parse_code(&edit.code)?;
            let region = parse_region(&edit.region)?;
            authorize_local_edit(&principal, &region)?;
            let if_match = required_if_match(
                &edit.request,
                "send If-Match with the ETag of the local part you read; a region's side is changed only against the version it was based on",
            )?;
            let body = edit.request.body()?;
            Ok((code, region, if_match, body))
        };
        let (kind, method) = (edit.kind, edit.method);
        self.carry_out(
            audit,
            check,
            move |conn, (code, region, if_match, body), accepted| {
                let written = match kind {
                    EntryKind::StandardItem => write_local_part(
                        conn,
                        kind,
                        &code,
                        &region,
                        &if_match,
                        method,
                        &body,
                        accepted,
                        standard_local_part,
                        replace_standard_local_part,
                    ),
                    EntryKind::RecognitionItem => write_local_part(
                        conn,
                        kind,
                        &code,
                        &region,
                        &if_match,
                        method,
                        &body,
                        accepted,
                        recognition_local_part,
                        replace_recognition_local_part,
                    ),
                    EntryKind::Scenario => Err(UseCaseError::NotFound(
                        "Scenarios have no regional sides to edit.".into(),
                    )),
                }?;
                Ok(((written.body, written.etag), Some(written.generation)))
            },
        )
        .await
    }

    /// Up to `limit` changes of the feed after `after`, in order (public), as far as
    /// this instance's read model has applied them: whoever reads change N here reads
    /// the entries as of N or later here too. Nothing new costs no database query.
    pub async fn changes(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<crate::domain::change::Change>, UseCaseError> {
        let applied = self.registry.applied();
        if after >= applied {
            return Ok(Vec::new());
        }
        let limit = limit.min(applied - after);
        Ok(self
            .registry
            .database()
            .run(move |conn| changes::after(conn, after, limit))
            .await?)
    }

    /// Checks the whole audit chain (admins only).
    pub async fn verify_audit(
        &self,
        authorization: &[Vec<u8>],
    ) -> Result<AuditVerification, UseCaseError> {
        self.fresh_keys(authorization).await;
        let principal = self.authenticate(authorization)?;
        require_role(&principal, Role::Admin)?;
        Ok(self.registry.database().run(verify_audit_chain).await?)
    }

    /// Audit records after `after` (at most `limit`): an admin sees all; anyone else
    /// with a valid token sees the records of their own region's actions, of actions
    /// on their region's data, and of the shared actions (proposals and votes).
    pub async fn audit_records(
        &self,
        authorization: &[Vec<u8>],
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditRecord>, UseCaseError> {
        self.fresh_keys(authorization).await;
        let principal = self.authenticate(authorization)?;
        let region = (!principal.has(Role::Admin)).then(|| principal.region.to_string());
        Ok(self
            .registry
            .database()
            .run(move |conn| audit::records(conn, after, limit, region.as_deref()))
            .await?)
    }

    /// The audit record of an attempt, refused until shown otherwise.
    fn audit_entry(
        &self,
        request: &WriteRequest,
        action: &'static str,
        entry: Option<(&'static str, String)>,
        target_region: Option<String>,
    ) -> AuditEntry {
        let principal = self.authenticate(&request.authorization);
        AuditEntry {
            recorded_at: Utc::now(),
            request_id: request.request_id.clone(),
            actor: principal.as_ref().ok().map(actor),
            action,
            entry,
            target_region,
            outcome: Outcome::Refused,
            status: 0,
            reason: String::new(),
            change: None,
        }
    }

    /// The checks every write begins with: a valid token and no query string.
    fn admit(&self, request: &WriteRequest) -> Result<Principal, UseCaseError> {
        let principal = self.authenticate(&request.authorization)?;
        if !request.query.is_empty() {
            return Err(UseCaseError::InvalidParameter(
                "query",
                format!("a write takes no query parameters, got `{}`", request.query),
            ));
        }
        Ok(principal)
    }

    /// Carries out one write: `check` (no database) gives what the write needs or the
    /// refusal; `write` runs in one transaction with the audit record of acceptance and
    /// gives the answer and, when the catalog changed, the generation it committed,
    /// which this instance's read model reaches before the answer goes out. Any refusal
    /// is audited in a transaction of its own.
    async fn carry_out<R, T>(
        &self,
        mut audit: AuditEntry,
        check: impl FnOnce() -> Result<R, UseCaseError>,
        write: impl FnOnce(&mut DbConnection, R, AuditEntry) -> Result<(T, Option<i64>), UseCaseError>
        + Send
        + 'static,
    ) -> Result<T, UseCaseError>
    where
        R: Send + 'static,
        T: Send + 'static,
    {
        let ready = match check() {
            Ok(ready) => ready,
            Err(error) => return Err(self.refused(audit, error).await),
        };
        let accepted = audit.clone();
        let result = self
            .registry
            .database()
            .write(move |conn| write(conn, ready, accepted))
            .await;
        match result {
            Ok((answer, generation)) => {
                if let Some(generation) = generation
                    && let Err(error) = self.registry.refresh_to(generation).await
                {
                    tracing::warn!(error = %error, "read model not rebuilt after a write; the next refresh will");
                }
                Ok(answer)
            }
            Err(error) => {
                audit.recorded_at = Utc::now();
                Err(self.refused(audit, error).await)
            }
        }
    }

    /// Records a refusal; when even that fails, the answer is the storage failure
    /// (503/500), never a refusal that left no trace.
    async fn refused(&self, mut audit: AuditEntry, error: UseCaseError) -> UseCaseError {
        audit.status = error.status();
        audit.reason = printable(&error.audit_reason());
        audit.outcome = Outcome::Refused;
        audit.change = None;
        match self
            .registry
            .database()
            .run(move |conn| audit::append_alone(conn, audit))
            .await
        {
            Ok(_) => error,
            Err(failure) => {
                tracing::error!(error = %failure, refused = %error, "a refused write could not be audited");
                UseCaseError::Storage(failure)
            }
        }
    }
}

/// The `If-Match` a write names, refused with `missing` when left out, and when `*`
/// (a write names the version it read).
fn required_if_match(request: &WriteRequest, missing: &str) -> Result<String, UseCaseError> {
    match request.if_match.as_deref().map(str::trim) {
        None | Some("") => Err(UseCaseError::PreconditionRequired(missing.to_owned())),
        Some("*") => Err(UseCaseError::PreconditionRequired(
            "If-Match must name the ETag you read, not `*`".into(),
        )),
        Some(tags) => Ok(tags.to_owned()),
    }
}

/// The current time as stored: to the microsecond, as both databases keep it, so that
/// what a write answers is what a later read returns.
fn now() -> chrono::DateTime<Utc> {
    crate::domain::audit::truncate_to_micros(Utc::now())
}

/// Text as the audit log keeps it: control characters (NUL, which PostgreSQL refuses in
/// text, among them) become U+FFFD, so that text a client sent can never stop its
/// attempt from being recorded.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

fn actor(principal: &Principal) -> Actor {
    Actor {
        issuer: printable(&principal.issuer),
        subject: printable(&principal.subject),
        region: principal.region.to_string(),
        roles: principal
            .roles
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect(),
    }
}

/// An entry code from a path: plain text of at most 64 characters. A control character
/// (NUL, which PostgreSQL refuses outright) can never be part of a code.
fn parse_code(text: &str) -> Result<String, UseCaseError> {
    if text.is_empty() || text.chars().count() > 64 || text.chars().any(char::is_control) {
        return Err(UseCaseError::InvalidParameter(
            "code",
            "an entry code is 1 to 64 characters without control characters".into(),
        ));
    }
    Ok(text.to_owned())
}

fn parse_region(text: &str) -> Result<RegionCode, UseCaseError> {
    RegionCode::parse(text).map_err(|message| UseCaseError::InvalidParameter("region", message))
}

type ReadPart<P> =
    fn(&mut DbConnection, &str, &RegionCode) -> Result<Option<(P, i64)>, StorageError>;
type ReplacePart<P> = fn(
    &mut DbConnection,
    &str,
    &P,
    i64,
    chrono::NaiveDateTime,
) -> Result<Option<i64>, StorageError>;

fn read_versioned<P>(
    conn: &mut DbConnection,
    kind: EntryKind,
    code: &str,
    region: &RegionCode,
    read: ReadPart<P>,
) -> Result<VersionedLocalPart<P>, UseCaseError> {
    let (part, version) = read(conn, code, region)?.ok_or_else(|| not_found(kind, code, region))?;
    Ok(VersionedLocalPart {
        item_code: code.to_owned(),
        version,
        part,
    })
}

fn not_found(kind: EntryKind, code: &str, region: &RegionCode) -> UseCaseError {
    let what = match kind {
        EntryKind::StandardItem => "service item",
        _ => "recognition item",
    };
    UseCaseError::NotFound(format!("No {what} `{code}` has a local part for {region}."))
}

#[allow(clippy::too_many_arguments)]
fn write_local_part<P: LocalPart>(
    conn: &mut DbConnection,
    kind: EntryKind,
    code: &str,
    region: &RegionCode,
    if_match: &str,
    method: EditMethod,
    body: &Value,
    mut audit: AuditEntry,
    read: ReadPart<P>,
    replace: ReplacePart<P>,
) -> Result<Written, UseCaseError> {
    lock_catalog_for_write(conn)?;
    let current = read_versioned(conn, kind, code, region, read)?;
    // A body that is wrong whatever the version is refused as such (400) before the
    // version is compared: resending it with a fresh ETag would not help.
    let part =
        edited_local_part(&current.part, method, body).map_err(UseCaseError::InvalidChange)?;
    let current_etag = current.etag(region);
    let matches = if_match.split(',').any(|tag| tag.trim() == current_etag);
    if !matches {
        return Err(UseCaseError::PreconditionFailed {
            message: format!(
                "If-Match {if_match} is not the current version of {region}'s side of {code} (now {current_etag}); read it again and reapply the change"
            ),
            current_etag,
        });
    }
    let now = Utc::now();
    let version = replace(conn, code, &part, current.version, now.naive_utc())
        .map_err(|error| {
            if error.is_unique_violation() {
                UseCaseError::Conflict(format!(
                    "another entry already uses this local code in {region}"
                ))
            } else {
                UseCaseError::Storage(error)
            }
        })?
        .ok_or_else(|| UseCaseError::PreconditionFailed {
            message: format!(
                "{region}'s side of {code} changed while this write was being made; read it again"
            ),
            current_etag: current_etag.clone(),
        })?;
    let change = NewChange::entry(ChangeKind::LocalPartChanged, kind.into(), code, version)
        .in_region(region)
        .by_actor(audit.actor.as_ref().map(|actor| actor.subject.as_str()));
    let generation = changes::record(conn, &[change], now)?;
    let written = VersionedLocalPart {
        item_code: code.to_owned(),
        version,
        part,
    };
    let to_text =
        |value: &P| serde_json::to_string(value).map_err(|e| StorageError::Corrupt(e.to_string()));
    audit.recorded_at = now;
    audit.outcome = Outcome::Accepted;
    audit.status = 200;
    audit.change = Some((to_text(&current.part)?, to_text(&written.part)?));
    audit::append(conn, audit)?;
    let etag = written.etag(region);
    let body = serde_json::to_value(&written).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    Ok(Written {
        body,
        etag,
        generation,
    })
}

/// An accepted write: the answer, its entity tag, and the catalog generation it made.
struct Written {
    body: Value,
    etag: String,
    generation: i64,
}

/// Walks the whole audit log in pages against its head, on one snapshot: a record
/// beyond the head (appended without moving it) breaks the chain as surely as a
/// missing one.
pub fn verify_audit_chain(conn: &mut DbConnection) -> Result<AuditVerification, StorageError> {
    crate::storage::connection::in_snapshot(conn, verify_snapshot)
}

fn verify_snapshot(conn: &mut DbConnection) -> Result<AuditVerification, StorageError> {
    const PAGE: i64 = 1000;
    let (head_seq, head_hash) = audit::head(conn)?;
    let mut check = ChainCheck::default();
    let mut after = 0;
    loop {
        let page = audit::records(conn, after, PAGE, None)?;
        for record in &page {
            check.push(record);
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = last.seq,
            _ => break,
        }
    }
    Ok(match check.finish(head_seq, &head_hash) {
        Ok(records) => AuditVerification {
            intact: true,
            records,
            first_broken: None,
        },
        Err(broken) => AuditVerification {
            intact: false,
            records: head_seq,
            first_broken: Some(broken),
        },
    })
}
