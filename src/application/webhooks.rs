//! Use cases of webhook subscriptions (subscribe, read, resume, unsubscribe; audited
//! like every write) and the delivery loop every instance runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::Value;

use super::{UseCaseError, UseCases, WriteRequest, action, now, printable, required_if_match};
use crate::domain::audit::{AuditEntry, Outcome};
use crate::domain::change::{Change, ChangedEntryKind};
use crate::domain::governance::{InvalidEdit, Principal, Role, parse_body, require_role};
use crate::domain::read_model::Catalog;
use crate::domain::webhook::{
    DELIVERY_HEADER, Delivery, EntryFacts, MAX_EVENTS_PER_DELIVERY, SIGNATURE_HEADER, Subscription,
    SubscriptionError, SubscriptionRequest, check_subscription, retry_delay, server_owned_fields,
    signature,
};
use crate::registry::Registry;
use crate::settings::WebhookSettings;
use crate::storage::catalog::lock_catalog_for_write;
use crate::storage::webhooks::{self, Failure};
use crate::storage::{DbConnection, StorageError, audit, changes, proposals};

/// The kind of thing the audit log names for webhook actions.
const AUDITED_KIND: &str = "webhook_subscription";

impl From<SubscriptionError> for UseCaseError {
    fn from(error: SubscriptionError) -> Self {
        match error {
            SubscriptionError::Refused(refusal) => Self::Forbidden(refusal),
            SubscriptionError::Invalid(invalid) => Self::InvalidChange(invalid),
        }
    }
}

/// The strong entity tag of a subscription version, for `ETag` and `If-Match`.
pub fn subscription_etag(subscription: &Subscription) -> String {
    format!("\"webhook.{}.{}\"", subscription.id, subscription.version)
}

/// What a management act does to a subscription it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Resume,
    Unsubscribe,
}

impl UseCases {
    /// Subscribes the URL a request names to the changes it asks for, from the next
    /// change of the feed on: an administrator for anything, an editor for its own
    /// region. Audited (without the secret).
    pub async fn subscribe(&self, request: WriteRequest) -> Result<Subscription, UseCaseError> {
        self.fresh_keys(&request.authorization).await;
        let audit = self.audit_entry_in_token_region(&request, action::SUBSCRIBE_WEBHOOK, None);
        let catalog = self.registry.catalog();
        let allowlist = &self.webhooks.allowed_hosts;
        let check = || -> Result<_, UseCaseError> {
            let principal = self.admit(&request)?;
            let body = request.body()?;
            if let Some(invalid) = server_owned_fields(&body) {
                return Err(UseCaseError::InvalidChange(invalid));
            }
            let asked: SubscriptionRequest =
                parse_body(&body).map_err(UseCaseError::InvalidChange)?;
            Ok(check_subscription(&principal, asked, &catalog, allowlist)?)
        };
        self.carry_out(audit, check, |conn, new, mut audit| {
            lock_catalog_for_write(conn)?;
            let now = now();
            let head = changes::head(conn)?;
            let subscription = webhooks::insert(conn, &new, head, now)?;
            audit.entry = Some((AUDITED_KIND, subscription.id.to_string()));
            accept(conn, audit, 201, "", &subscription)?;
            Ok((subscription, None))
        })
        .await
    }

    /// The subscriptions a token may manage: all for an administrator, its region's for
    /// an editor.
    pub async fn subscriptions(
        &self,
        authorization: &[Vec<u8>],
    ) -> Result<Vec<Subscription>, UseCaseError> {
        let principal = self.manager(authorization).await?;
        let region = (!principal.has(Role::Admin)).then(|| principal.region.clone());
        Ok(self
            .registry
            .database()
            .run(move |conn| webhooks::list(conn, region.as_ref()))
            .await?)
    }

    /// One subscription, for an administrator or an editor of its region.
    pub async fn subscription(
        &self,
        authorization: &[Vec<u8>],
        id: String,
    ) -> Result<Subscription, UseCaseError> {
        let principal = self.manager(authorization).await?;
        let id = parse_id(&id)?;
        let found = self
            .registry
            .database()
            .run(move |conn| webhooks::find(conn, id))
            .await?
            .ok_or_else(|| not_found(id))?;
        found.authorize(&principal)?;
        Ok(found)
    }

    /// Makes a `failing` subscription active again: everything since the last change its
    /// receiver acknowledged is delivered. Against the version read (`If-Match`).
    pub async fn resume_subscription(
        &self,
        request: WriteRequest,
        id: String,
    ) -> Result<Subscription, UseCaseError> {
        self.manage(request, id, Act::Resume).await?.ok_or_else(|| {
            UseCaseError::Storage(StorageError::Corrupt(
                "a resumed subscription vanished".into(),
            ))
        })
    }

    /// Deletes a subscription: nothing more is delivered to it. Against the version
    /// read (`If-Match`).
    pub async fn unsubscribe(&self, request: WriteRequest, id: String) -> Result<(), UseCaseError> {
        self.manage(request, id, Act::Unsubscribe).await.map(|_| ())
    }

    async fn manage(
        &self,
        request: WriteRequest,
        id: String,
        act: Act,
    ) -> Result<Option<Subscription>, UseCaseError> {
        self.fresh_keys(&request.authorization).await;
        let name = match act {
            Act::Resume => action::RESUME_WEBHOOK,
            Act::Unsubscribe => action::UNSUBSCRIBE_WEBHOOK,
        };
        let audit =
            self.audit_entry_in_token_region(&request, name, Some((AUDITED_KIND, printable(&id))));
        let check = || -> Result<_, UseCaseError> {
            let principal = self.admit(&request)?;
            let id = parse_id(&id)?;
            let if_match = required_if_match(
                &request,
                "send If-Match with the ETag of the subscription you read",
            )?;
            match request.body()? {
                Value::Object(fields) if fields.is_empty() => {}
                _ => {
                    return Err(UseCaseError::InvalidChange(InvalidEdit::one(
                        "body",
                        "this request takes no body (or `{}`)",
                    )));
                }
            }
            Ok((principal, id, if_match))
        };
        self.carry_out(audit, check, move |conn, (principal, id, if_match), mut audit| {
            lock_catalog_for_write(conn)?;
            let found = webhooks::find(conn, id)?.ok_or_else(|| not_found(id))?;
            audit.target_region = Some(found.region.to_string());
            found.authorize(&principal)?;
            let current = subscription_etag(&found);
            if !if_match.split(',').any(|tag| tag.trim() == current) {
                return Err(UseCaseError::PreconditionFailed {
                    message: format!(
                        "If-Match {if_match} is not the current version of subscription {id} (now {current}); read it again"
                    ),
                    current_etag: current,
                });
            }
            let before = to_text(&found)?;
            let answer = match act {
                Act::Resume => {
                    webhooks::resume(conn, id, found.version, now())?;
                    let resumed = webhooks::find(conn, id)?.ok_or_else(|| not_found(id))?;
                    accept(conn, audit, 200, &before, &resumed)?;
                    Some(resumed)
                }
                Act::Unsubscribe => {
                    webhooks::delete(conn, id, found.version)?;
                    audit.change = Some((before, String::new()));
                    accept_text(conn, audit, 204)?;
                    None
                }
            };
            Ok((answer, None))
        })
        .await
    }

    /// The audit record of an attempt on the token's own region's subscriptions (the
    /// subscription's region, once known, replaces it).
    fn audit_entry_in_token_region(
        &self,
        request: &WriteRequest,
        action: &'static str,
        entry: Option<(&'static str, String)>,
    ) -> AuditEntry {
        let mut audit = self.audit_entry(request, action, entry, None);
        audit.target_region = audit.actor.as_ref().map(|actor| actor.region.clone());
        audit
    }

    /// The token of someone who may read subscriptions: an administrator or an editor.
    async fn manager(&self, authorization: &[Vec<u8>]) -> Result<Principal, UseCaseError> {
        self.fresh_keys(authorization).await;
        let principal = self.authenticate(authorization)?;
        if !principal.has(Role::Admin) {
            require_role(&principal, Role::Editor)?;
        }
        Ok(principal)
    }
}

fn parse_id(text: &str) -> Result<i64, UseCaseError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0 && !text.starts_with('+'))
        .ok_or_else(|| {
            UseCaseError::InvalidParameter(
                "id",
                format!("`{}` is not a subscription number", printable(text)),
            )
        })
}

fn not_found(id: i64) -> UseCaseError {
    UseCaseError::NotFound(format!("There is no webhook subscription {id}."))
}

fn to_text(subscription: &Subscription) -> Result<String, UseCaseError> {
    serde_json::to_string(subscription)
        .map_err(|e| UseCaseError::Storage(StorageError::Corrupt(e.to_string())))
}

fn accept(
    conn: &mut DbConnection,
    mut audit: AuditEntry,
    status: u16,
    before: &str,
    after: &Subscription,
) -> Result<(), UseCaseError> {
    audit.change = Some((before.to_owned(), to_text(after)?));
    accept_text(conn, audit, status)
}

fn accept_text(
    conn: &mut DbConnection,
    mut audit: AuditEntry,
    status: u16,
) -> Result<(), UseCaseError> {
    audit.recorded_at = now();
    audit.outcome = Outcome::Accepted;
    audit.status = status;
    audit::append(conn, audit)?;
    Ok(())
}

/// How long a delivery in progress is held against other instances: longer than any
/// delivery may take (the time limit covers the whole request), short enough that the
/// deliveries of an instance that died holding it resume soon.
fn lease_length(settings: &WebhookSettings) -> TimeDelta {
    TimeDelta::from_std(settings.timeout * 2 + Duration::from_secs(5))
        .unwrap_or(TimeDelta::minutes(10))
}

/// Most changes of the feed looked at in one round for one subscription.
const SCAN: i64 = 1000;

/// Delivers webhooks for as long as the server runs: every `interval`, each active
/// subscription with changes its receiver has not acknowledged (up to what this
/// instance's read model has applied) gets its next delivery, unless another instance
/// holds it.
pub async fn deliver_webhooks(
    registry: Arc<Registry>,
    settings: WebhookSettings,
    interval: Duration,
) {
    let agent = delivery_agent(&settings);
    let mut ticks = actix_web::rt::time::interval(interval);
    let mut failing = false;
    loop {
        ticks.tick().await;
        let round = {
            let registry = Arc::clone(&registry);
            let settings = settings.clone();
            let agent = agent.clone();
            actix_web::rt::task::spawn_blocking(move || deliver_due(&registry, &settings, &agent))
                .await
        };
        match round {
            Ok(Ok(())) if failing => {
                failing = false;
                tracing::info!("webhook deliveries work again");
            }
            Ok(Ok(())) => {}
            Ok(Err(error)) if !failing => {
                failing = true;
                tracing::warn!(error = %error, "webhook deliveries cannot read the database; retrying");
            }
            Ok(Err(_)) => {}
            Err(error) => tracing::error!(error = %error, "a webhook delivery round failed"),
        }
    }
}

/// The HTTP client of deliveries: no redirects (a receiver cannot send the registry to
/// another host), no proxy from the environment, bounded time.
fn delivery_agent(settings: &WebhookSettings) -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(settings.timeout))
        .user_agent("jjj-registry-webhooks/1")
        .build()
        .into()
}

fn deliver_due(
    registry: &Registry,
    settings: &WebhookSettings,
    agent: &ureq::Agent,
) -> Result<(), StorageError> {
    let applied = registry.applied();
    let due = registry
        .database()
        .run_here(|conn| webhooks::due(conn, applied, now()))?;
    for id in due {
        if let Err(error) = deliver_one(registry, settings, agent, id, applied) {
            tracing::warn!(subscription = id, error = %error, "a webhook delivery could not be recorded");
        }
    }
    Ok(())
}

/// The next delivery of subscription `id`, of changes up to `applied`.
fn deliver_one(
    registry: &Registry,
    settings: &WebhookSettings,
    agent: &ureq::Agent,
    id: i64,
    applied: i64,
) -> Result<(), StorageError> {
    let database = registry.database();
    let Some((subscription, secret)) =
        database.run_here(|conn| webhooks::find_with_secret(conn, id))?
    else {
        return Ok(());
    };
    let from = subscription.delivered_through;
    let started = now();
    let taken = database.run_here(|conn| {
        webhooks::lease(conn, id, from, started, started + lease_length(settings))
    })?;
    if !taken {
        return Ok(());
    }
    let scanned = database.run_here(|conn| changes::after(conn, from, SCAN.min(applied - from)))?;
    let catalog = registry.catalog();
    let (events, through) =
        database.run_here(|conn| wanted(conn, &catalog, &subscription, scanned))?;
    if events.is_empty() {
        return database.run_here(|conn| webhooks::advance(conn, id, from, through, None, now()));
    }
    let outcome = match settings.allowed_hosts.check(&subscription.url) {
        Ok(()) => post(
            agent,
            &subscription,
            secret.as_bytes(),
            Delivery::new(id, events),
        ),
        Err(refused) => Err(format!("not sent: {refused}")),
    };
    let finished = now();
    match outcome {
        Ok(()) => database
            .run_here(|conn| webhooks::advance(conn, id, from, through, Some(finished), finished)),
        Err(error) => {
            let failures = subscription.failures.saturating_add(1);
            let count = u32::try_from(failures).unwrap_or(u32::MAX);
            let failure = Failure {
                failures,
                next_attempt_at: finished
                    + TimeDelta::from_std(retry_delay(settings.retry_delay, count))
                        .unwrap_or(TimeDelta::hours(1)),
                error: printable(&error),
                gives_up: count >= settings.max_failures,
            };
            if failure.gives_up {
                tracing::warn!(subscription = id, failures, error = %failure.error, "webhook subscription is failing; deliveries stop until it is resumed");
            }
            database.run_here(|conn| webhooks::fail(conn, id, from, &failure, finished))
        }
    }
}

/// The changes of `scanned` the subscription wants (at most one delivery's worth) and
/// the last change that delivery accounts for.
fn wanted(
    conn: &mut DbConnection,
    catalog: &Catalog,
    subscription: &Subscription,
    scanned: Vec<Change>,
) -> Result<(Vec<Change>, i64), StorageError> {
    let interest = subscription.interest();
    let mut through = subscription.delivered_through;
    let mut events = Vec::new();
    for change in scanned {
        let facts = if change.entry_kind == ChangedEntryKind::Proposal {
            let participants = match change.proposal {
                Some(id) => proposals::find(conn, id)?.map(|p| p.participants),
                None => None,
            };
            EntryFacts {
                regions: participants.unwrap_or_default(),
                ..EntryFacts::default()
            }
        } else {
            EntryFacts::of(catalog, &change)
        };
        through = change.seq;
        if interest.matches(&change, &facts) {
            events.push(change);
            if events.len() == MAX_EVENTS_PER_DELIVERY {
                break;
            }
        }
    }
    Ok((events, through))
}

/// Posts one delivery; `Err` says why it does not count as received.
fn post(
    agent: &ureq::Agent,
    subscription: &Subscription,
    secret: &[u8],
    delivery: Delivery,
) -> Result<(), String> {
    let body = serde_json::to_vec(&delivery).map_err(|e| e.to_string())?;
    let signed = signature(secret, Utc::now().timestamp(), &body);
    let response = agent
        .post(&subscription.url)
        .header("Content-Type", "application/json")
        .header(SIGNATURE_HEADER, &signed)
        .header(DELIVERY_HEADER, &delivery.delivery)
        .send(&body[..])
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the receiver answered {status}"))
    }
}
