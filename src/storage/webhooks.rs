//! Webhook subscriptions and their delivery progress. The events themselves are the
//! change feed's rows ([`super::changes`]); a subscription records only how far its
//! receiver acknowledged them, so an update here never races a catalog write.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::webhook_subscriptions as subs;
use super::{DbConnection, StorageError};
use crate::domain::region::RegionCode;
use crate::domain::webhook::{NewSubscription, Subscription, SubscriptionState};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = subs)]
struct SubscriptionRow {
    id: i64,
    version: i64,
    region_code: String,
    created_by: String,
    url: String,
    events: String,
    regions: String,
    sectors: String,
    programmes: String,
    description: String,
    state: String,
    delivered_through: i64,
    failures: i32,
    next_attempt_at: Option<NaiveDateTime>,
    last_error: Option<String>,
    last_delivered_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl SubscriptionRow {
    fn into_domain(self) -> Result<Subscription, StorageError> {
        let id = self.id;
        let corrupt = |what: &str| {
            StorageError::Corrupt(format!("webhook subscription {id}: invalid {what}"))
        };
        Ok(Subscription {
            id,
            version: self.version,
            region: RegionCode::parse(&self.region_code).map_err(|_| corrupt("region"))?,
            created_by: self.created_by,
            url: self.url,
            events: serde_json::from_str(&self.events).map_err(|_| corrupt("events"))?,
            regions: serde_json::from_str(&self.regions).map_err(|_| corrupt("regions"))?,
            sectors: serde_json::from_str(&self.sectors).map_err(|_| corrupt("sectors"))?,
            programmes: serde_json::from_str(&self.programmes)
                .map_err(|_| corrupt("programmes"))?,
            description: self.description,
            state: SubscriptionState::parse(&self.state).ok_or_else(|| corrupt("state"))?,
            delivered_through: self.delivered_through,
            failures: self.failures,
            next_attempt_at: self.next_attempt_at.map(|t| t.and_utc()),
            last_error: self.last_error,
            last_delivered_at: self.last_delivered_at.map(|t| t.and_utc()),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt(e.to_string()))
}

/// Records `new` as delivering the changes after `delivered_through`; returns it.
/// Call inside a transaction that serialises writers (the next id is the largest + 1).
pub fn insert(
    conn: &mut DbConnection,
    new: &NewSubscription,
    delivered_through: i64,
    now: DateTime<Utc>,
) -> Result<Subscription, StorageError> {
    let last: Option<i64> = subs::table.select(diesel::dsl::max(subs::id)).first(conn)?;
    let id = last.unwrap_or(0) + 1;
    let request = &new.request;
    let now = now.naive_utc();
    diesel::insert_into(subs::table)
        .values((
            subs::id.eq(id),
            subs::version.eq(1),
            subs::region_code.eq(new.region.as_str()),
            subs::created_by.eq(&new.created_by),
            subs::url.eq(&request.url),
            subs::events.eq(to_json(&request.events)?),
            subs::regions.eq(to_json(&request.regions)?),
            subs::sectors.eq(to_json(&request.sectors)?),
            subs::programmes.eq(to_json(&request.programmes)?),
            subs::description.eq(&request.description),
            subs::secret.eq(&request.secret),
            subs::state.eq(SubscriptionState::Active.as_str()),
            subs::delivered_through.eq(delivered_through),
            subs::failures.eq(0),
            subs::created_at.eq(now),
            subs::updated_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, id)?.ok_or_else(|| StorageError::Corrupt(format!("subscription {id} vanished")))
}

/// Every subscription, or those of one region, by id.
pub fn list(
    conn: &mut DbConnection,
    region: Option<&RegionCode>,
) -> Result<Vec<Subscription>, StorageError> {
    let mut query = subs::table
        .order(subs::id)
        .select(SubscriptionRow::as_select())
        .into_boxed();
    if let Some(region) = region {
        query = query.filter(subs::region_code.eq(region.as_str().to_owned()));
    }
    query
        .load(conn)?
        .into_iter()
        .map(SubscriptionRow::into_domain)
        .collect()
}

/// One subscription.
pub fn find(conn: &mut DbConnection, id: i64) -> Result<Option<Subscription>, StorageError> {
    subs::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?
        .map(SubscriptionRow::into_domain)
        .transpose()
}

/// One subscription with the secret its deliveries are signed with.
pub fn find_with_secret(
    conn: &mut DbConnection,
    id: i64,
) -> Result<Option<(Subscription, String)>, StorageError> {
    subs::table
        .find(id)
        .select((SubscriptionRow::as_select(), subs::secret))
        .first::<(SubscriptionRow, String)>(conn)
        .optional()?
        .map(|(row, secret)| Ok((row.into_domain()?, secret)))
        .transpose()
}

/// Deletes subscription `id` at `version`; false when it is not at that version.
pub fn delete(conn: &mut DbConnection, id: i64, version: i64) -> Result<bool, StorageError> {
    let deleted =
        diesel::delete(subs::table.filter(subs::id.eq(id).and(subs::version.eq(version))))
            .execute(conn)?;
    Ok(deleted == 1)
}

/// Makes subscription `id` (at `version`) active again with no failures, due at once;
/// false when it is not at that version.
pub fn resume(
    conn: &mut DbConnection,
    id: i64,
    version: i64,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let updated =
        diesel::update(subs::table.filter(subs::id.eq(id).and(subs::version.eq(version))))
            .set((
                subs::version.eq(version + 1),
                subs::state.eq(SubscriptionState::Active.as_str()),
                subs::failures.eq(0),
                subs::next_attempt_at.eq(None::<NaiveDateTime>),
                subs::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
    Ok(updated == 1)
}

/// The active subscriptions with changes up to `head` still to deliver, whose next
/// attempt is due at `now` and which no one is delivering.
pub fn due(
    conn: &mut DbConnection,
    head: i64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StorageError> {
    let now = now.naive_utc();
    Ok(subs::table
        .filter(subs::state.eq(SubscriptionState::Active.as_str()))
        .filter(subs::delivered_through.lt(head))
        .filter(
            subs::next_attempt_at
                .is_null()
                .or(subs::next_attempt_at.le(now)),
        )
        .filter(subs::lease_until.is_null().or(subs::lease_until.lt(now)))
        .order(subs::id)
        .select(subs::id)
        .load(conn)?)
}

/// Takes the delivery of subscription `id` from `through` until `until`, unless another
/// instance holds it or has moved it on; false when not taken.
pub fn lease(
    conn: &mut DbConnection,
    id: i64,
    through: i64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let now = now.naive_utc();
    let taken = diesel::update(
        subs::table
            .filter(subs::id.eq(id))
            .filter(subs::state.eq(SubscriptionState::Active.as_str()))
            .filter(subs::delivered_through.eq(through))
            .filter(subs::lease_until.is_null().or(subs::lease_until.lt(now))),
    )
    .set(subs::lease_until.eq(Some(until.naive_utc())))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Records that the changes of subscription `id` after `from` up to `to` were
/// acknowledged (`delivered_at`: when a receiver took them; `None`: none matched) and
/// gives up the lease.
pub fn advance(
    conn: &mut DbConnection,
    id: i64,
    from: i64,
    to: i64,
    delivered_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let target = subs::table.filter(subs::id.eq(id).and(subs::delivered_through.eq(from)));
    let now = now.naive_utc();
    match delivered_at {
        Some(at) => diesel::update(target)
            .set((
                subs::delivered_through.eq(to),
                subs::failures.eq(0),
                subs::next_attempt_at.eq(None::<NaiveDateTime>),
                subs::last_error.eq(None::<String>),
                subs::last_delivered_at.eq(Some(at.naive_utc())),
                subs::lease_until.eq(None::<NaiveDateTime>),
                subs::updated_at.eq(now),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set((
                subs::delivered_through.eq(to),
                subs::lease_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?,
    };
    Ok(())
}

/// What a failed attempt leaves behind.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Failures in a row, this one included.
    pub failures: i32,
    /// When to try again.
    pub next_attempt_at: DateTime<Utc>,
    /// Why it failed.
    pub error: String,
    /// Whether this was one failure too many: the subscription stops.
    pub gives_up: bool,
}

/// Records a failed attempt of subscription `id` (still at `from`) and gives up the
/// lease; a subscription that gives up becomes `failing` at a new version.
pub fn fail(
    conn: &mut DbConnection,
    id: i64,
    from: i64,
    failure: &Failure,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let target = subs::table.filter(subs::id.eq(id).and(subs::delivered_through.eq(from)));
    let state = if failure.gives_up {
        SubscriptionState::Failing
    } else {
        SubscriptionState::Active
    };
    diesel::update(target)
        .set((
            subs::failures.eq(failure.failures),
            subs::next_attempt_at.eq(Some(failure.next_attempt_at.naive_utc())),
            subs::last_error.eq(Some(&failure.error)),
            subs::state.eq(state.as_str()),
            subs::version.eq(subs::version + i64::from(failure.gives_up)),
            subs::lease_until.eq(None::<NaiveDateTime>),
            subs::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}
