//! The recognition decision: is a credential of item X issued in region A recognised
//! in region B on day D?

use super::catalog::{
    AcceptanceSuspension, Arrangement, ArrangementStatus, EntryStatus, RecognitionItem,
};
use super::region::RegionCode;
use super::text_enum;
use chrono::{NaiveDate, TimeDelta, Utc};

text_enum! {
    /// The answer to a recognition-status question.
    pub enum Decision {
        /// An arrangement is in force on the day: the credential is recognised (see mode and conditions).
        Recognised = "recognised",
        /// Recognition was revoked, or the item is retired.
        NotRecognised = "not_recognised",
        /// An arrangement exists but starts after the day.
        NotYetInForce = "not_yet_in_force",
        /// The last arrangement ended before the day.
        Expired = "expired",
        /// Recognition is suspended on the day (the arrangement or the whole item).
        Suspended = "suspended",
        /// No arrangement exists for this issuer → acceptor pair.
        NoArrangement = "no_arrangement",
    }
}

/// Today's date in China Standard Time (UTC+8, no daylight saving): the day questions
/// default to, since recognition dates are Beijing dates.
pub fn today_in_china() -> NaiveDate {
    day_in_china(Utc::now())
}

/// The day in China Standard Time at moment `at`.
pub fn day_in_china(at: chrono::DateTime<Utc>) -> NaiveDate {
    (at + TimeDelta::hours(8)).date_naive()
}

/// A decision together with the arrangement period it rests on, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome<'a> {
    /// The decision.
    pub decision: Decision,
    /// The period that decided it: the one in force, the next one, or the last one.
    pub arrangement: Option<&'a Arrangement>,
    /// A one-sentence explanation in English.
    pub explanation: &'static str,
    /// The accepting region's own suspension that decided it, if one did.
    pub suspension: Option<&'a AcceptanceSuspension>,
}

/// A question that cannot be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuestionError {
    /// Issuer and accepting region are the same region.
    SameRegion,
}

/// Decides recognition of `item` issued in `issued_in` and used in `used_in` on `on`.
///
/// - The item's own `suspended` / `retired` status counts from `status_since` (from
///   always, when that day is unknown); earlier days are decided by the arrangements.
/// - A period covering the day decides: revoked → `not_recognised`, suspended →
///   `suspended`, active → `recognised`. Periods are inclusive at both ends.
/// - Otherwise the most recent past period gives `expired` (`not_recognised` if it was
///   revoked); failing that, the next future period gives `not_yet_in_force`
///   (`suspended` / `not_recognised` if that period is suspended / revoked).
pub fn decide<'a>(
    item: &'a RecognitionItem,
    issued_in: &RegionCode,
    used_in: &RegionCode,
    on: NaiveDate,
) -> Result<Outcome<'a>, QuestionError> {
    if issued_in == used_in {
        return Err(QuestionError::SameRegion);
    }
    // An item has a handful of periods: scanning them costs less than collecting and sorting.
    let periods = || {
        item.arrangements
            .iter()
            .filter(|a| &a.issued_in == issued_in && &a.used_in == used_in)
    };
    let outcome = |decision, arrangement, explanation| Outcome {
        decision,
        arrangement,
        explanation,
        suspension: None,
    };
    let current = periods().find(|a| a.covers(on));
    let item_status_applies =
        item.status != EntryStatus::Active && item.status_since.is_none_or(|since| since <= on);

    if item_status_applies && item.status == EntryStatus::Retired {
        return Ok(outcome(
            Decision::NotRecognised,
            current,
            "The item had been retired from the mutual-recognition catalog by this date.",
        ));
    }
    if periods().next().is_none() {
        return Ok(outcome(
            Decision::NoArrangement,
            None,
            "There is no recognition arrangement for this issuer and accepting region.",
        ));
    }
    if let Some(arrangement) = current {
        return Ok(match arrangement.status {
            ArrangementStatus::Revoked => outcome(
                Decision::NotRecognised,
                current,
                "Recognition under this arrangement has been revoked.",
            ),
            ArrangementStatus::Suspended => outcome(
                Decision::Suspended,
                current,
                "Recognition under this arrangement is suspended.",
            ),
            ArrangementStatus::Active if item_status_applies => outcome(
                Decision::Suspended,
                current,
                "The whole item was suspended on this date.",
            ),
            ArrangementStatus::Active => match item
                .suspensions
                .iter()
                .find(|s| s.covers(issued_in, used_in, on))
            {
                Some(suspension) => Outcome {
                    suspension: Some(suspension),
                    ..outcome(
                        Decision::Suspended,
                        current,
                        "The accepting region has suspended its acceptance on this date (see `suspension`).",
                    )
                },
                None => outcome(
                    Decision::Recognised,
                    current,
                    "An arrangement is in force on this date.",
                ),
            },
        });
    }
    if let Some(last_past) = periods()
        .filter(|a| a.effective_to.is_some_and(|to| to < on))
        .max_by_key(|a| a.effective_from)
    {
        return Ok(match last_past.status {
            ArrangementStatus::Revoked => outcome(
                Decision::NotRecognised,
                Some(last_past),
                "The most recent arrangement was revoked.",
            ),
            _ => outcome(
                Decision::Expired,
                Some(last_past),
                "The most recent arrangement ended before this date.",
            ),
        });
    }
    let next = periods()
        .filter(|a| a.effective_from > on)
        .min_by_key(|a| a.effective_from);
    Ok(match next.map(|a| a.status) {
        Some(ArrangementStatus::Revoked) => outcome(
            Decision::NotRecognised,
            next,
            "The only arrangement, due to start later, has been revoked.",
        ),
        Some(ArrangementStatus::Suspended) => outcome(
            Decision::Suspended,
            next,
            "The arrangement, due to start later, is suspended.",
        ),
        _ => outcome(
            Decision::NotYetInForce,
            next,
            "An arrangement exists but is not yet in force on this date.",
        ),
    })
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::domain::catalog::{ItemKind, RecognitionLocalPart, RecognitionMode};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn region(code: &str) -> RegionCode {
        RegionCode::parse(code).unwrap()
    }

    fn period(
        from: &str,
        to: Option<&str>,
        mode: RecognitionMode,
        status: ArrangementStatus,
    ) -> Arrangement {
        Arrangement {
            issued_in: region("HE"),
            used_in: region("TJ"),
            mode,
            conditions_zh: None,
            conditions_en: None,
            effective_from: day(from),
            effective_to: to.map(day),
            status,
        }
    }

    fn item(arrangements: Vec<Arrangement>) -> RecognitionItem {
        RecognitionItem {
            code: "RI-T-001".into(),
            version: 1,
            name_zh: "测试".into(),
            name_en: "Test".into(),
            aliases: vec![],
            kind: ItemKind::PersonalQualification,
            sector: "construction".into(),
            legal_basis: "x".into(),
            status: EntryStatus::Active,
            status_since: None,
            batch: "B".into(),
            last_verified_on: day("2025-01-01"),
            regions: vec![region("HE"), region("TJ")],
            arrangements,
            suspensions: vec![],
            local_parts: ["HE", "TJ"]
                .into_iter()
                .map(|r| RecognitionLocalPart {
                    region: region(r),
                    local_code: None,
                    issuing_department: None,
                    accepting_department: None,
                    contact: None,
                    online_url: None,
                    notes: None,
                    verification: None,
                })
                .collect(),
            updated_at: DateTime::UNIX_EPOCH,
            superseded_by: None,
        }
    }

    fn decision_on(item: &RecognitionItem, on: &str) -> Decision {
        decide(item, &region("HE"), &region("TJ"), day(on))
            .unwrap()
            .decision
    }

    #[test]
    fn effective_dates_are_inclusive_at_both_ends() {
        let item = item(vec![period(
            "2024-03-01",
            Some("2024-12-31"),
            RecognitionMode::Direct,
            ArrangementStatus::Active,
        )]);
        assert_eq!(decision_on(&item, "2024-02-29"), Decision::NotYetInForce);
        assert_eq!(decision_on(&item, "2024-03-01"), Decision::Recognised);
        assert_eq!(decision_on(&item, "2024-12-31"), Decision::Recognised);
        assert_eq!(decision_on(&item, "2025-01-01"), Decision::Expired);
    }

    #[test]
    fn a_follow_up_period_takes_over_from_an_expired_one() {
        let item = item(vec![
            period(
                "2025-01-01",
                None,
                RecognitionMode::Direct,
                ArrangementStatus::Active,
            ),
            period(
                "2022-01-01",
                Some("2024-12-31"),
                RecognitionMode::Conditional,
                ArrangementStatus::Active,
            ),
        ]);
        let before = decide(&item, &region("HE"), &region("TJ"), day("2024-12-31")).unwrap();
        assert_eq!(
            before.arrangement.unwrap().mode,
            RecognitionMode::Conditional
        );
        let after = decide(&item, &region("HE"), &region("TJ"), day("2025-01-01")).unwrap();
        assert_eq!(after.decision, Decision::Recognised);
        assert_eq!(after.arrangement.unwrap().mode, RecognitionMode::Direct);
    }

    #[test]
    fn a_gap_between_periods_reports_the_expired_one() {
        let item = item(vec![
            period(
                "2022-01-01",
                Some("2023-12-31"),
                RecognitionMode::Direct,
                ArrangementStatus::Active,
            ),
            period(
                "2027-01-01",
                None,
                RecognitionMode::Direct,
                ArrangementStatus::Active,
            ),
        ]);
        let outcome = decide(&item, &region("HE"), &region("TJ"), day("2025-06-01")).unwrap();
        assert_eq!(outcome.decision, Decision::Expired);
        assert_eq!(
            outcome.arrangement.unwrap().effective_to,
            Some(day("2023-12-31"))
        );
        assert_eq!(decision_on(&item, "2021-12-31"), Decision::NotYetInForce);
    }

    #[test]
    fn suspended_and_revoked_periods_decide_accordingly() {
        let suspended = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Suspended,
        )]);
        assert_eq!(decision_on(&suspended, "2025-01-01"), Decision::Suspended);
        let revoked = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Revoked,
        )]);
        assert_eq!(decision_on(&revoked, "2025-01-01"), Decision::NotRecognised);
    }

    #[test]
    fn item_status_overrides_an_active_arrangement() {
        let mut suspended = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Active,
        )]);
        suspended.status = EntryStatus::Suspended;
        assert_eq!(decision_on(&suspended, "2025-01-01"), Decision::Suspended);
        let mut retired = suspended.clone();
        retired.status = EntryStatus::Retired;
        assert_eq!(decision_on(&retired, "2025-01-01"), Decision::NotRecognised);
    }

    #[test]
    fn an_item_status_counts_only_from_its_date() {
        let mut retired = item(vec![period(
            "2022-01-01",
            Some("2022-12-31"),
            RecognitionMode::Direct,
            ArrangementStatus::Active,
        )]);
        retired.status = EntryStatus::Retired;
        retired.status_since = Some(day("2023-01-01"));
        assert_eq!(decision_on(&retired, "2022-06-01"), Decision::Recognised);
        assert_eq!(decision_on(&retired, "2023-01-01"), Decision::NotRecognised);
        let mut suspended = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Active,
        )]);
        suspended.status = EntryStatus::Suspended;
        suspended.status_since = Some(day("2026-06-01"));
        assert_eq!(decision_on(&suspended, "2026-05-31"), Decision::Recognised);
        assert_eq!(decision_on(&suspended, "2026-06-01"), Decision::Suspended);
    }

    #[test]
    fn uncovered_days_respect_the_status_of_the_nearest_period() {
        let revoked = item(vec![period(
            "2024-12-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Revoked,
        )]);
        assert_eq!(decision_on(&revoked, "2023-01-01"), Decision::NotRecognised);
        let suspended = item(vec![period(
            "2027-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Suspended,
        )]);
        assert_eq!(decision_on(&suspended, "2026-01-01"), Decision::Suspended);
        let revoked_past = item(vec![period(
            "2022-01-01",
            Some("2023-12-31"),
            RecognitionMode::Direct,
            ArrangementStatus::Revoked,
        )]);
        assert_eq!(
            decision_on(&revoked_past, "2025-01-01"),
            Decision::NotRecognised
        );
        let suspended_past = item(vec![period(
            "2022-01-01",
            Some("2023-12-31"),
            RecognitionMode::Direct,
            ArrangementStatus::Suspended,
        )]);
        assert_eq!(
            decision_on(&suspended_past, "2025-01-01"),
            Decision::Expired
        );
    }

    #[test]
    fn recognition_is_directional() {
        let item = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Active,
        )]);
        let reverse = decide(&item, &region("TJ"), &region("HE"), day("2025-01-01")).unwrap();
        assert_eq!(reverse.decision, Decision::NoArrangement);
        assert!(reverse.arrangement.is_none());
    }

    #[test]
    fn the_nearest_period_decides_when_several_lie_on_one_side_of_the_day() {
        // Two past periods of different status: the later one decides.
        let past = item(vec![
            period(
                "2020-01-01",
                Some("2020-12-31"),
                RecognitionMode::Direct,
                ArrangementStatus::Revoked,
            ),
            period(
                "2022-01-01",
                Some("2022-12-31"),
                RecognitionMode::Filing,
                ArrangementStatus::Active,
            ),
        ]);
        let outcome = decide(&past, &region("HE"), &region("TJ"), day("2024-01-01")).unwrap();
        assert_eq!(outcome.decision, Decision::Expired);
        assert_eq!(outcome.arrangement, Some(&past.arrangements[1]));
        assert_eq!(
            outcome.explanation,
            "The most recent arrangement ended before this date."
        );
        // Two future periods of different status: the earlier one decides.
        let future = item(vec![
            period(
                "2031-01-01",
                None,
                RecognitionMode::Direct,
                ArrangementStatus::Active,
            ),
            period(
                "2030-01-01",
                Some("2030-12-31"),
                RecognitionMode::Conditional,
                ArrangementStatus::Suspended,
            ),
        ]);
        let outcome = decide(&future, &region("HE"), &region("TJ"), day("2029-01-01")).unwrap();
        assert_eq!(outcome.decision, Decision::Suspended);
        assert_eq!(outcome.arrangement, Some(&future.arrangements[1]));
        assert_eq!(
            outcome.explanation,
            "The arrangement, due to start later, is suspended."
        );
    }

    #[test]
    fn a_retired_or_suspended_item_still_names_the_period_in_force() {
        let mut retired = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Exchange,
            ArrangementStatus::Active,
        )]);
        retired.status = EntryStatus::Retired;
        retired.status_since = Some(day("2025-01-01"));
        let outcome = decide(&retired, &region("HE"), &region("TJ"), day("2025-06-01")).unwrap();
        assert_eq!(
            (outcome.decision, outcome.arrangement, outcome.explanation),
            (
                Decision::NotRecognised,
                Some(&retired.arrangements[0]),
                "The item had been retired from the mutual-recognition catalog by this date."
            )
        );
        let mut suspended = retired.clone();
        suspended.status = EntryStatus::Suspended;
        let outcome = decide(&suspended, &region("HE"), &region("TJ"), day("2025-06-01")).unwrap();
        assert_eq!(
            (outcome.decision, outcome.arrangement, outcome.explanation),
            (
                Decision::Suspended,
                Some(&suspended.arrangements[0]),
                "The whole item was suspended on this date."
            )
        );
    }

    #[test]
    fn the_same_region_on_both_sides_is_not_a_question() {
        let item = item(vec![]);
        assert_eq!(
            decide(&item, &region("TJ"), &region("TJ"), day("2025-01-01")),
            Err(QuestionError::SameRegion)
        );
    }

    fn suspension(
        issued_in: Option<&str>,
        from: &str,
        lifted: Option<&str>,
    ) -> AcceptanceSuspension {
        AcceptanceSuspension {
            id: 1,
            used_in: region("TJ"),
            issued_in: issued_in.map(region),
            reason: "核验接口维护".into(),
            effective_from: day(from),
            suspended_by: "someone".into(),
            recorded_at: DateTime::UNIX_EPOCH,
            lifted_on: lifted.map(day),
            lift_reason: None,
            lifted_by: None,
        }
    }

    #[test]
    fn an_accepting_regions_own_suspension_holds_from_its_first_day_until_the_lifting_day() {
        let mut suspended = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Active,
        )]);
        suspended.suspensions = vec![suspension(Some("HE"), "2025-03-01", Some("2025-03-10"))];
        let decision_on = |on: &str| {
            let outcome = decide(&suspended, &region("HE"), &region("TJ"), day(on)).unwrap();
            (outcome.decision, outcome.suspension.map(|s| s.id))
        };
        assert_eq!(decision_on("2025-02-28"), (Decision::Recognised, None));
        assert_eq!(decision_on("2025-03-01"), (Decision::Suspended, Some(1)));
        assert_eq!(decision_on("2025-03-09"), (Decision::Suspended, Some(1)));
        assert_eq!(decision_on("2025-03-10"), (Decision::Recognised, None));
        let outcome = decide(&suspended, &region("HE"), &region("TJ"), day("2025-03-05")).unwrap();
        assert_eq!(
            (outcome.arrangement, outcome.explanation),
            (
                Some(&suspended.arrangements[0]),
                "The accepting region has suspended its acceptance on this date (see `suspension`)."
            )
        );
        // Only the accepting region it names, only the issuing region it names.
        let mut reverse = suspended.clone();
        reverse.arrangements[0].issued_in = region("TJ");
        reverse.arrangements[0].used_in = region("HE");
        let outcome = decide(&reverse, &region("TJ"), &region("HE"), day("2025-03-05")).unwrap();
        assert_eq!(outcome.decision, Decision::Recognised);
        let mut from_beijing = suspended.clone();
        from_beijing.arrangements[0].issued_in = region("BJ");
        let outcome = decide(
            &from_beijing,
            &region("BJ"),
            &region("TJ"),
            day("2025-03-05"),
        )
        .unwrap();
        assert_eq!(outcome.decision, Decision::Recognised);
        // Without an issuing region, every issuing region; never lifted, for good.
        from_beijing.suspensions = vec![suspension(None, "2025-03-01", None)];
        let outcome = decide(
            &from_beijing,
            &region("BJ"),
            &region("TJ"),
            day("2030-01-01"),
        )
        .unwrap();
        assert_eq!(outcome.decision, Decision::Suspended);
    }

    #[test]
    fn an_arrangement_revoked_or_suspended_by_the_regions_decides_before_any_own_suspension() {
        let mut revoked = item(vec![period(
            "2024-01-01",
            None,
            RecognitionMode::Direct,
            ArrangementStatus::Revoked,
        )]);
        revoked.suspensions = vec![suspension(None, "2024-01-01", None)];
        let outcome = decide(&revoked, &region("HE"), &region("TJ"), day("2025-01-01")).unwrap();
        assert_eq!(
            (outcome.decision, outcome.suspension),
            (Decision::NotRecognised, None)
        );
    }
}
