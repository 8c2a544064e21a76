//! Use cases of the unilateral act: an accepting region suspends, or lifts the
//! suspension of, its own acceptance of an item. Effective at once, visible to every
//! reader, audited.

use super::{UseCaseError, UseCases, WriteRequest, action, now, parse_code, printable};
use crate::domain::audit::Outcome;
use crate::domain::catalog::{AcceptanceSuspension, EntryKind};
use crate::domain::change::{ChangeKind, ChangedEntryKind, NewChange};
use crate::domain::governance::{Principal, parse_body};
use crate::domain::recognition::today_in_china;
use crate::domain::region::RegionCode;
use crate::domain::suspension::{LiftingNotice, SuspensionError, SuspensionNotice, lift, suspend};
use crate::storage::catalog::{load_catalog, lock_catalog_for_write, touch_entry};
use crate::storage::{DbConnection, audit, changes, suspensions};

impl From<SuspensionError> for UseCaseError {
    fn from(error: SuspensionError) -> Self {
        match error {
            SuspensionError::Refused(refusal) => Self::Forbidden(refusal),
            SuspensionError::Invalid(field, message) => {
                Self::InvalidChange(crate::domain::governance::InvalidEdit {
                    problems: vec![(field.to_owned(), message)],
                })
            }
            SuspensionError::Conflict(message) => Self::Conflict(message),
            SuspensionError::NotFound(message) => Self::NotFound(message),
        }
    }
}

/// What a suspension or lifting asks, once read.
enum Act {
    Suspend(SuspensionNotice),
    Lift(i64, LiftingNotice),
}

impl UseCases {
    /// Suspends acceptance in the token's region of a recognition item: an approver of
    /// that accepting region, effective at once (or from a later day).
    pub async fn suspend_acceptance(
        &self,
        request: WriteRequest,
        code: String,
    ) -> Result<AcceptanceSuspension, UseCaseError> {
        self.act_on_acceptance(request, code, None).await
    }

    /// Lifts suspension `id` of a recognition item: an approver of the region that
    /// suspended.
    pub async fn lift_suspension(
        &self,
        request: WriteRequest,
        code: String,
        id: String,
    ) -> Result<AcceptanceSuspension, UseCaseError> {
        self.act_on_acceptance(request, code, Some(id)).await
    }

    async fn act_on_acceptance(
        &self,
        request: WriteRequest,
        code: String,
        lifting: Option<String>,
    ) -> Result<AcceptanceSuspension, UseCaseError> {
        self.fresh_keys(&request.authorization).await;
        let action = if lifting.is_some() {
            action::LIFT_SUSPENSION
        } else {
            action::SUSPEND_ACCEPTANCE
        };
        // The accepting region a suspension names, so that its log shows the attempt
        // even when it is refused (a lifting's region is the suspension's, known once
        // read; the accepted record names it).
        let target = request
            .body
            .as_ref()
            .ok()
            .and_then(|body| body.get("used_in"))
            .and_then(serde_json::Value::as_str)
            .map(|region| RegionCode::parse(region).map_or(printable(region), |r| r.to_string()));
        let audit = self.audit_entry(
            &request,
            action,
            Some((EntryKind::RecognitionItem.as_str(), printable(&code))),
            target,
        );
        let check = || -> Result<(Principal, String, Act), UseCaseError> {
            let principal = self.admit(&request)?;
            let code = parse_code(&code)?;
            let body = request.body()?;
            let act = match &lifting {
                None => Act::Suspend(parse_body(&body).map_err(UseCaseError::InvalidChange)?),
                Some(id) => {
                    let id = id.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                        UseCaseError::InvalidParameter(
                            "id",
                            format!("`{}` is not a suspension number", printable(id)),
                        )
                    })?;
                    Act::Lift(id, parse_body(&body).map_err(UseCaseError::InvalidChange)?)
                }
            };
            Ok((principal, code, act))
        };
        self.carry_out(audit, check, |conn, (principal, code, act), accepted| {
            let (suspension, generation) = record_act(conn, &principal, &code, &act, accepted)?;
            Ok((suspension, Some(generation)))
        })
        .await
    }
}

fn record_act(
    conn: &mut DbConnection,
    principal: &Principal,
    code: &str,
    act: &Act,
    mut audit: crate::domain::audit::AuditEntry,
) -> Result<(AcceptanceSuspension, i64), UseCaseError> {
    lock_catalog_for_write(conn)?;
    let content = load_catalog(conn)?;
    let item = content
        .recognition_items
        .iter()
        .find(|i| i.code == code)
        .ok_or_else(|| {
            UseCaseError::NotFound(format!("No recognition item has the code `{code}`."))
        })?;
    let now = now();
    let today = today_in_china();
    let (before, suspension) = match act {
        Act::Suspend(notice) => {
            let suspension = suspend(
                item,
                principal,
                notice,
                suspensions::next_id(conn)?,
                today,
                now,
            )?;
            suspensions::insert(conn, code, &suspension)?;
            (String::new(), suspension)
        }
        Act::Lift(id, notice) => {
            let lifted = lift(item, *id, principal, notice, today)?;
            let before = item.suspensions.iter().find(|s| s.id == *id);
            let lifted_on = lifted.lifted_on.unwrap_or(today);
            if !suspensions::lift(
                conn,
                *id,
                lifted_on,
                notice.reason.trim(),
                &principal.subject,
            )? {
                return Err(UseCaseError::Conflict(format!(
                    "suspension {id} was lifted meanwhile"
                )));
            }
            (to_text(&before)?, lifted)
        }
    };
    touch_entry(conn, EntryKind::RecognitionItem, code, now.naive_utc())?;
    let kind = if before.is_empty() {
        ChangeKind::AcceptanceSuspended
    } else {
        ChangeKind::AcceptanceReinstated
    };
    let change = NewChange::entry(
        kind,
        ChangedEntryKind::RecognitionItem,
        code,
        item.version + 1,
    )
    .in_region(&suspension.used_in)
    .by_actor(audit.actor.as_ref().map(|actor| actor.subject.as_str()));
    let head = changes::record(conn, &[change], now)?;
    audit.recorded_at = now;
    audit.outcome = Outcome::Accepted;
    audit.status = if before.is_empty() { 201 } else { 200 };
    audit.target_region = Some(suspension.used_in.to_string());
    audit.change = Some((before, to_text(&suspension)?));
    audit::append(conn, audit)?;
    Ok((suspension, head))
}

fn to_text<T: serde::Serialize>(value: &T) -> Result<String, UseCaseError> {
    serde_json::to_string(value)
        .map_err(|e| UseCaseError::Storage(crate::storage::StorageError::Corrupt(e.to_string())))
}
