//! The one unilateral act (暂停/恢复互认): an accepting region's approver suspends its own
//! acceptance of an item, at once and with a reason, and later lifts it. Nothing any
//! other region agreed to changes; only the answers for that accepting region do.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::catalog::{AcceptanceSuspension, RecognitionItem};
use super::governance::{MAX_FIELD_CHARS, Principal, Refusal, Role, require_role};
use super::region::RegionCode;

/// A suspension as declared.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspensionNotice {
    /// The accepting region suspending: the token's own.
    #[schema(value_type = String, example = "TJ")]
    pub used_in: RegionCode,
    /// Only credentials issued in this region; left out or `null`: from every region.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "HE")]
    pub issued_in: Option<RegionCode>,
    /// Why, as the notice says (1–2000 characters).
    #[schema(example = "电子证照核验接口升级维护，暂停受理")]
    pub reason: String,
    /// The first day suspended: today (China Standard Time) when left out; never a past
    /// day, since answers already given for past days stand.
    #[serde(default)]
    pub effective_from: Option<NaiveDate>,
}

/// A lifting as declared.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftingNotice {
    /// Why acceptance is back (1–2000 characters).
    #[schema(example = "核验接口已恢复")]
    pub reason: String,
    /// The first day acceptance is back: today when left out; never a past day.
    #[serde(default)]
    pub lifted_on: Option<NaiveDate>,
}

/// Why a suspension or lifting is refused although the token is valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuspensionError {
    /// The token's role or region does not allow it (403).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The notice is malformed or makes no sense for this item (400), naming the field.
    #[error("{1}")]
    Invalid(&'static str, String),
    /// It collides with the suspensions in place (409).
    #[error("{0}")]
    Conflict(String),
    /// No such suspension of this item (404).
    #[error("{0}")]
    NotFound(String),
}

fn check_reason(field: &'static str, reason: &str) -> Result<(), SuspensionError> {
    let chars = reason.trim().chars().count();
    if chars == 0 || reason.chars().count() > MAX_FIELD_CHARS {
        return Err(SuspensionError::Invalid(
            field,
            format!("a reason is 1 to {MAX_FIELD_CHARS} characters"),
        ));
    }
    Ok(())
}

fn not_in_the_past(
    field: &'static str,
    day: NaiveDate,
    today: NaiveDate,
) -> Result<(), SuspensionError> {
    if day < today {
        return Err(SuspensionError::Invalid(
            field,
            format!("{day} is past (today is {today}); answers already given for past days stand"),
        ));
    }
    Ok(())
}

/// The suspension `principal` declares on `item` with `notice`, numbered `id`; checked
/// against the item's arrangements and the suspensions already in place.
pub fn suspend(
    item: &RecognitionItem,
    principal: &Principal,
    notice: &SuspensionNotice,
    id: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<AcceptanceSuspension, SuspensionError> {
    if principal.region != notice.used_in {
        return Err(Refusal::OtherRegion {
            own: principal.region.clone(),
            target: notice.used_in.clone(),
        }
        .into());
    }
    require_role(principal, Role::Approver)?;
    check_reason("reason", &notice.reason)?;
    let effective_from = notice.effective_from.unwrap_or(today);
    not_in_the_past("effective_from", effective_from, today)?;
    if notice.issued_in.as_ref() == Some(&notice.used_in) {
        return Err(SuspensionError::Invalid(
            "issued_in",
            "a region does not recognise its own credentials; name another issuing region".into(),
        ));
    }
    let accepts = item.arrangements.iter().any(|a| {
        a.used_in == notice.used_in && notice.issued_in.as_ref().is_none_or(|i| &a.issued_in == i)
    });
    if !accepts {
        let from = notice
            .issued_in
            .as_ref()
            .map_or(String::new(), |i| format!(" from {i}"));
        return Err(SuspensionError::Invalid(
            "used_in",
            format!(
                "{} has no arrangement accepting {}{from}; there is nothing to suspend",
                notice.used_in, item.code
            ),
        ));
    }
    if let Some(existing) = item.suspensions.iter().find(|s| {
        s.lifted_on.is_none()
            && s.used_in == notice.used_in
            && (s.issued_in.is_none() || s.issued_in == notice.issued_in)
    }) {
        return Err(SuspensionError::Conflict(format!(
            "suspension {} of {} already stops this acceptance from {}; lift it first",
            existing.id, item.code, existing.effective_from
        )));
    }
    Ok(AcceptanceSuspension {
        id,
        used_in: notice.used_in.clone(),
        issued_in: notice.issued_in.clone(),
        reason: notice.reason.trim().to_owned(),
        effective_from,
        suspended_by: principal.subject.clone(),
        recorded_at: now,
        lifted_on: None,
        lift_reason: None,
        lifted_by: None,
    })
}

/// The suspension `id` of `item` as `principal` lifts it with `notice`.
pub fn lift(
    item: &RecognitionItem,
    id: i64,
    principal: &Principal,
    notice: &LiftingNotice,
    today: NaiveDate,
) -> Result<AcceptanceSuspension, SuspensionError> {
    let Some(suspension) = item.suspensions.iter().find(|s| s.id == id) else {
        return Err(SuspensionError::NotFound(format!(
            "{} has no suspension {id}.",
            item.code
        )));
    };
    if principal.region != suspension.used_in {
        return Err(Refusal::OtherRegion {
            own: principal.region.clone(),
            target: suspension.used_in.clone(),
        }
        .into());
    }
    require_role(principal, Role::Approver)?;
    check_reason("reason", &notice.reason)?;
    if let Some(day) = suspension.lifted_on {
        return Err(SuspensionError::Conflict(format!(
            "suspension {id} was lifted from {day} already"
        )));
    }
    let lifted_on = notice.lifted_on.unwrap_or(today);
    not_in_the_past("lifted_on", lifted_on, today)?;
    Ok(AcceptanceSuspension {
        lifted_on: Some(lifted_on),
        lift_reason: Some(notice.reason.trim().to_owned()),
        lifted_by: Some(principal.subject.clone()),
        ..suspension.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::{day, region, sample};

    fn approver(code: &str) -> Principal {
        Principal {
            issuer: "https://id.example".into(),
            subject: format!("approver@{code}"),
            region: region(code),
            roles: vec![Role::Approver],
        }
    }

    fn item() -> RecognitionItem {
        sample()
            .recognition_items
            .into_iter()
            .find(|i| i.code == "RI-CON-002")
            .unwrap()
    }

    fn notice(issued_in: Option<&str>, from: Option<&str>) -> SuspensionNotice {
        SuspensionNotice {
            used_in: region("TJ"),
            issued_in: issued_in.map(region),
            reason: " 维护 ".into(),
            effective_from: from.map(day),
        }
    }

    const TODAY: &str = "2026-12-01";

    #[test]
    fn a_suspension_starts_today_unless_a_later_day_is_given_and_never_in_the_past() {
        let item = item();
        let made = suspend(
            &item,
            &approver("TJ"),
            &notice(Some("HE"), None),
            7,
            day(TODAY),
            DateTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!(
            made,
            AcceptanceSuspension {
                id: 7,
                used_in: region("TJ"),
                issued_in: Some(region("HE")),
                reason: "维护".into(),
                effective_from: day(TODAY),
                suspended_by: "approver@TJ".into(),
                recorded_at: DateTime::UNIX_EPOCH,
                lifted_on: None,
                lift_reason: None,
                lifted_by: None,
            }
        );
        let today = suspend(
            &item,
            &approver("TJ"),
            &notice(None, Some(TODAY)),
            1,
            day(TODAY),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(today.unwrap().effective_from, day(TODAY));
        let past = suspend(
            &item,
            &approver("TJ"),
            &notice(None, Some("2026-11-30")),
            1,
            day(TODAY),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(
            past,
            Err(SuspensionError::Invalid(
                "effective_from",
                "2026-11-30 is past (today is 2026-12-01); answers already given for past days stand".into()
            ))
        );
    }

    #[test]
    fn only_the_accepting_regions_approver_with_a_reason_suspends_what_it_accepts() {
        let item = item();
        let other = suspend(
            &item,
            &approver("HE"),
            &notice(None, None),
            1,
            day(TODAY),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(
            other,
            Err(SuspensionError::Refused(Refusal::OtherRegion {
                own: region("HE"),
                target: region("TJ")
            }))
        );
        let mut editor = approver("TJ");
        editor.roles = vec![Role::Editor];
        assert!(matches!(
            suspend(
                &item,
                &editor,
                &notice(None, None),
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH
            ),
            Err(SuspensionError::Refused(Refusal::MissingRole {
                needed: Role::Approver,
                ..
            }))
        ));
        let mut blank = notice(None, None);
        blank.reason = " ".into();
        assert!(matches!(
            suspend(
                &item,
                &approver("TJ"),
                &blank,
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH
            ),
            Err(SuspensionError::Invalid("reason", _))
        ));
        let mut long = notice(None, None);
        long.reason = "因".repeat(MAX_FIELD_CHARS);
        assert!(
            suspend(
                &item,
                &approver("TJ"),
                &long,
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH
            )
            .is_ok()
        );
        long.reason.push('因');
        assert!(
            suspend(
                &item,
                &approver("TJ"),
                &long,
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH
            )
            .is_err()
        );
        assert!(matches!(
            suspend(
                &item,
                &approver("TJ"),
                &notice(Some("TJ"), None),
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH
            ),
            Err(SuspensionError::Invalid("issued_in", _))
        ));
        let mut one_way = item.clone();
        one_way
            .arrangements
            .retain(|a| !(a.used_in == region("TJ") && a.issued_in == region("HE")));
        assert_eq!(
            suspend(
                &one_way,
                &approver("TJ"),
                &notice(Some("HE"), None),
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH
            ),
            Err(SuspensionError::Invalid(
                "used_in",
                "TJ has no arrangement accepting RI-CON-002 from HE; there is nothing to suspend"
                    .into()
            ))
        );
        assert!(
            suspend(
                &one_way,
                &approver("TJ"),
                &notice(Some("BJ"), None),
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH
            )
            .is_ok()
        );
    }

    #[test]
    fn a_suspension_in_place_covers_the_same_or_a_narrower_scope_until_lifted() {
        let mut item = item();
        let wide = suspend(
            &item,
            &approver("TJ"),
            &notice(None, None),
            1,
            day(TODAY),
            DateTime::UNIX_EPOCH,
        )
        .unwrap();
        item.suspensions.push(wide);
        let narrow = suspend(
            &item,
            &approver("TJ"),
            &notice(Some("HE"), None),
            2,
            day(TODAY),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(
            narrow,
            Err(SuspensionError::Conflict(
                "suspension 1 of RI-CON-002 already stops this acceptance from 2026-12-01; lift it first".into()
            ))
        );
        let mut other_region = notice(None, None);
        other_region.used_in = region("BJ");
        assert!(
            suspend(
                &item,
                &approver("BJ"),
                &other_region,
                2,
                day(TODAY),
                DateTime::UNIX_EPOCH
            )
            .is_ok()
        );
        item.suspensions[0].lifted_on = Some(day(TODAY));
        assert!(
            suspend(
                &item,
                &approver("TJ"),
                &notice(Some("HE"), None),
                2,
                day(TODAY),
                DateTime::UNIX_EPOCH
            )
            .is_ok()
        );
        // A narrow one in place does not stop a wider one.
        let mut item = self::item();
        item.suspensions.push(
            suspend(
                &item,
                &approver("TJ"),
                &notice(Some("HE"), None),
                1,
                day(TODAY),
                DateTime::UNIX_EPOCH,
            )
            .unwrap(),
        );
        assert!(
            suspend(
                &item,
                &approver("TJ"),
                &notice(None, None),
                2,
                day(TODAY),
                DateTime::UNIX_EPOCH
            )
            .is_ok()
        );
        assert!(
            suspend(
                &item,
                &approver("TJ"),
                &notice(Some("BJ"), None),
                2,
                day(TODAY),
                DateTime::UNIX_EPOCH
            )
            .is_ok()
        );
    }

    #[test]
    fn only_the_suspending_regions_approver_lifts_once_and_not_in_the_past() {
        let mut item = item();
        item.suspensions.push(
            suspend(
                &item,
                &approver("TJ"),
                &notice(None, None),
                3,
                day(TODAY),
                DateTime::UNIX_EPOCH,
            )
            .unwrap(),
        );
        let lifting = |reason: &str, on: Option<&str>| LiftingNotice {
            reason: reason.into(),
            lifted_on: on.map(day),
        };
        assert_eq!(
            lift(&item, 4, &approver("TJ"), &lifting("ok", None), day(TODAY)),
            Err(SuspensionError::NotFound(
                "RI-CON-002 has no suspension 4.".into()
            ))
        );
        assert!(matches!(
            lift(&item, 3, &approver("HE"), &lifting("ok", None), day(TODAY)),
            Err(SuspensionError::Refused(Refusal::OtherRegion { .. }))
        ));
        assert!(matches!(
            lift(&item, 3, &approver("TJ"), &lifting("", None), day(TODAY)),
            Err(SuspensionError::Invalid("reason", _))
        ));
        assert!(matches!(
            lift(
                &item,
                3,
                &approver("TJ"),
                &lifting("ok", Some("2026-11-30")),
                day(TODAY)
            ),
            Err(SuspensionError::Invalid("lifted_on", _))
        ));
        let lifted = lift(
            &item,
            3,
            &approver("TJ"),
            &lifting(" 恢复 ", None),
            day(TODAY),
        )
        .unwrap();
        assert_eq!(
            (
                lifted.lifted_on,
                lifted.lift_reason.as_deref(),
                lifted.lifted_by.as_deref(),
                lifted.reason.as_str()
            ),
            (Some(day(TODAY)), Some("恢复"), Some("approver@TJ"), "维护")
        );
        let later = lift(
            &item,
            3,
            &approver("TJ"),
            &lifting("ok", Some("2026-12-05")),
            day(TODAY),
        )
        .unwrap();
        assert_eq!(later.lifted_on, Some(day("2026-12-05")));
        item.suspensions[0] = lifted;
        assert_eq!(
            lift(&item, 3, &approver("TJ"), &lifting("ok", None), day(TODAY)),
            Err(SuspensionError::Conflict(
                "suspension 3 was lifted from 2026-12-01 already".into()
            ))
        );
    }
}
