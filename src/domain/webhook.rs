//! Webhooks (变更推送): a subscriber names a URL, the kinds of change it wants and the
//! regions, sectors and programmes it cares about; the registry posts each matching
//! change of the feed to it, signed, in feed order, retrying until the receiver
//! acknowledges.
//!
//! The change feed is the outbox: a change's feed row is written in the transaction
//! that makes the change, and each subscription keeps the sequence number up to which
//! its receiver has acknowledged (`delivered_through`). A crash after a commit loses no
//! delivery; a crash after a receiver answered but before that was recorded sends the
//! same events again, so receivers drop events whose `seq` they already hold.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use super::change::{Change, ChangeKind, ChangedEntryKind};
use super::governance::{InvalidEdit, Principal, Refusal, Role, require_role};
use super::read_model::Catalog;
use super::region::RegionCode;
use super::text_enum;

/// Most events in one delivery.
pub const MAX_EVENTS_PER_DELIVERY: usize = 100;
/// The header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "X-Registry-Signature";
/// The header naming the delivery: `<subscription>-<first seq>-<last seq>`, the same
/// on every retry of it.
pub const DELIVERY_HEADER: &str = "X-Registry-Delivery";
/// Longest wait between two attempts, however many failed.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);
/// Shortest and longest secret accepted (bytes of UTF-8).
pub const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=256;
/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// Most values in one filter.
pub const MAX_FILTER_VALUES: usize = 64;

text_enum! {
    /// Whether a subscription is being delivered to.
    pub enum SubscriptionState {
        /// Deliveries are made (and retried after failures).
        Active = "active",
        /// Too many attempts in a row failed: nothing is sent until an administrator of
        /// its region resumes it, which delivers everything since the last acknowledged
        /// change.
        Failing = "failing",
    }
}

/// What a subscriber asks for. Every filter left empty means "any"; the filters given
/// must all match.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://sync.tj.example/registry-events",
    "events": ["local_part_changed", "acceptance_suspended", "acceptance_reinstated"],
    "regions": ["TJ"],
    "secret": "5d1c0e6b8f2a4c7e9b3d1f0a2c4e6b8d",
    "description": "天津市政务服务平台同步"
}))]
pub struct SubscriptionRequest {
    /// Where deliveries are posted: `https://` or `http://`, on a host the registry's
    /// operator allows (`REGISTRY_WEBHOOK_HOSTS`); no user name or password in it.
    #[schema(example = "https://sync.tj.example/registry-events")]
    pub url: String,
    /// The kinds of change wanted; empty: every kind.
    #[serde(default)]
    pub events: Vec<ChangeKind>,
    /// Only changes concerning these regions: a regional change (a local part, a
    /// suspension) concerns its region; a shared one every participating region of its
    /// entry (every region, for a batch). An editor's subscription concerns its own
    /// region, which is filled in when left empty.
    #[serde(default)]
    #[schema(value_type = Vec<String>, example = json!(["TJ"]))]
    pub regions: Vec<RegionCode>,
    /// Only changes to entries of these sectors (recognition and service items).
    #[serde(default)]
    pub sectors: Vec<String>,
    /// Only changes to entries of these programmes (service items by membership,
    /// targets and batches by the programme they name).
    #[serde(default)]
    pub programmes: Vec<String>,
    /// The key deliveries are signed with (24 to 256 bytes). Stored, never shown again.
    #[schema(example = "5d1c0e6b8f2a4c7e9b3d1f0a2c4e6b8d")]
    pub secret: String,
    /// What the subscription is for, for the people who manage it.
    #[serde(default)]
    pub description: String,
}

/// A subscription as the registry records it (its secret is never shown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 1, "version": 1, "region": "TJ", "created_by": "editor@tj",
    "url": "https://sync.tj.example/registry-events",
    "events": ["local_part_changed"], "regions": ["TJ"], "sectors": [], "programmes": [],
    "description": "天津市政务服务平台同步", "state": "active", "delivered_through": 1042,
    "failures": 0, "next_attempt_at": null, "last_error": null,
    "last_delivered_at": "2026-12-02T08:15:03.120000Z",
    "created_at": "2026-12-01T09:00:00Z", "updated_at": "2026-12-02T08:15:03.120000Z"
}))]
pub struct Subscription {
    /// Its number.
    pub id: i64,
    /// Its version: resuming or changing it adds one (for `If-Match`).
    pub version: i64,
    /// The region it belongs to: the region of the token that made it.
    #[schema(value_type = String, example = "TJ")]
    pub region: RegionCode,
    /// Who made it (the token's `sub`).
    pub created_by: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The kinds of change wanted (empty: every kind).
    pub events: Vec<ChangeKind>,
    /// The regions filter (empty: any).
    #[schema(value_type = Vec<String>, example = json!(["TJ"]))]
    pub regions: Vec<RegionCode>,
    /// The sectors filter (empty: any).
    pub sectors: Vec<String>,
    /// The programmes filter (empty: any).
    pub programmes: Vec<String>,
    /// What it is for.
    pub description: String,
    /// Whether it is being delivered to.
    pub state: SubscriptionState,
    /// The last change of the feed its receiver acknowledged (or that did not match);
    /// deliveries resume after it.
    pub delivered_through: i64,
    /// Attempts that failed in a row since the last acknowledged one.
    pub failures: i32,
    /// When the next attempt is due after a failure; `null` when none failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed; `null` after a success.
    pub last_error: Option<String>,
    /// When a receiver last acknowledged a delivery.
    pub last_delivered_at: Option<DateTime<Utc>>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed (state, progress or settings).
    pub updated_at: DateTime<Utc>,
}

impl Subscription {
    /// Its filters.
    pub fn interest(&self) -> Interest<'_> {
        Interest {
            events: &self.events,
            regions: &self.regions,
            sectors: &self.sectors,
            programmes: &self.programmes,
        }
    }

    /// Who may manage it: an administrator, or an editor of its region.
    pub fn authorize(&self, principal: &Principal) -> Result<(), Refusal> {
        if principal.has(Role::Admin) {
            return Ok(());
        }
        require_role(principal, Role::Editor)?;
        if principal.region != self.region {
            return Err(Refusal::OtherRegion {
                own: principal.region.clone(),
                target: self.region.clone(),
            });
        }
        Ok(())
    }
}

/// A subscription about to be recorded (its secret with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    /// The region it belongs to.
    pub region: RegionCode,
    /// Who made it.
    pub created_by: String,
    /// The request, checked (an editor's region filled in).
    pub request: SubscriptionRequest,
}

/// The hosts deliveries may go to, as the operator configured them: `host` (any port)
/// or `host:port`, compared without regard to case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    entries: Vec<(String, Option<u16>)>,
}

impl HostAllowlist {
    /// Reads a comma-separated list (`sync.tj.example, 127.0.0.1:9000`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (host, port) = split_host_port(entry)
                .ok_or_else(|| format!("`{entry}` is not a host or host:port"))?;
            entries.push((host, port));
        }
        Ok(Self { entries })
    }

    /// Whether no host at all is allowed (webhooks are then off).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `url` may be called: a plain `http(s)://host[:port]/…` URL on a host of
    /// the list.
    pub fn check(&self, url: &str) -> Result<(), String> {
        let target = WebhookTarget::parse(url)?;
        let allowed = self.entries.iter().any(|(host, port)| {
            *host == target.host && port.is_none_or(|port| port == target.port)
        });
        if allowed {
            Ok(())
        } else if self.is_empty() {
            Err("webhooks are off: the operator allows no host (REGISTRY_WEBHOOK_HOSTS)".into())
        } else {
            Err(format!(
                "host `{}` port {} is not among the hosts the operator allows for webhooks",
                target.host, target.port
            ))
        }
    }
}

/// The parts of a webhook URL the allowlist looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WebhookTarget {
    host: String,
    port: u16,
}

impl WebhookTarget {
    fn parse(url: &str) -> Result<Self, String> {
        if url.chars().count() > MAX_URL_CHARS {
            return Err(format!("is longer than {MAX_URL_CHARS} characters"));
        }
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err("contains spaces or control characters".into());
        }
        let lower = url.to_ascii_lowercase();
        let (rest, default_port) = if let Some(rest) = lower.strip_prefix("https://") {
            (rest, 443)
        } else if let Some(rest) = lower.strip_prefix("http://") {
            (rest, 80)
        } else {
            return Err("must start with https:// or http://".into());
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("must not carry a user name or password".into());
        }
        let (host, port) = split_host_port(authority)
            .ok_or_else(|| format!("`{authority}` is not a host or host:port"))?;
        Ok(Self {
            host,
            port: port.unwrap_or(default_port),
        })
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, the host lower-cased.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (format!("[{host}]"), port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (text.to_owned(), None),
        }
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c));
    if !valid_host {
        return None;
    }
    let port = match port {
        Some(port) => Some(port.parse::<u16>().ok().filter(|p| *p > 0)?),
        None => None,
    };
    Some((host.to_ascii_lowercase(), port))
}

/// Checks a subscription request of `principal`: the URL on an allowed host, a secret
/// of a usable length, filters naming what the catalog knows. An editor subscribes for
/// its own region only (filled in when left out); an administrator for anything.
pub fn check_subscription(
    principal: &Principal,
    mut request: SubscriptionRequest,
    catalog: &Catalog,
    allowlist: &HostAllowlist,
) -> Result<NewSubscription, SubscriptionError> {
    if !principal.has(Role::Admin) {
        require_role(principal, Role::Editor)?;
        if let Some(other) = request.regions.iter().find(|r| **r != principal.region) {
            return Err(Refusal::OtherRegion {
                own: principal.region.clone(),
                target: other.clone(),
            }
            .into());
        }
        if request.regions.is_empty() {
            request.regions.push(principal.region.clone());
        }
    }
    let mut problems = Vec::new();
    if let Err(problem) = allowlist.check(&request.url) {
        problems.push(("url".to_owned(), problem));
    }
    if !SECRET_BYTES.contains(&request.secret.len()) {
        problems.push((
            "secret".to_owned(),
            format!(
                "must be {} to {} bytes long",
                SECRET_BYTES.start(),
                SECRET_BYTES.end()
            ),
        ));
    }
    if request.description.chars().count() > 200
        || request.description.chars().any(char::is_control)
    {
        problems.push((
            "description".to_owned(),
            "is at most 200 characters without control characters".to_owned(),
        ));
    }
    let unknown = |field: &str, values: &[String], known: &dyn Fn(&str) -> bool| {
        values.iter().find(|value| !known(value)).map(|value| {
            (
                field.to_owned(),
                format!("`{value}` is not a known {field} code"),
            )
        })
    };
    let known_sector = |code: &str| catalog.sectors().iter().any(|s| s.code == code);
    let known_programme = |code: &str| catalog.programmes().iter().any(|p| p.code == code);
    problems.extend(unknown("sectors", &request.sectors, &known_sector));
    problems.extend(unknown("programmes", &request.programmes, &known_programme));
    if let Some(region) = request.regions.iter().find(|r| !catalog.has_region(r)) {
        problems.push((
            "regions".to_owned(),
            format!("`{region}` is not a member region"),
        ));
    }
    for (field, count) in [
        ("events", request.events.len()),
        ("regions", request.regions.len()),
        ("sectors", request.sectors.len()),
        ("programmes", request.programmes.len()),
    ] {
        if count > MAX_FILTER_VALUES {
            problems.push((
                field.to_owned(),
                format!("names more than {MAX_FILTER_VALUES} values"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(SubscriptionError::Invalid(InvalidEdit { problems }));
    }
    for list in [&mut request.sectors, &mut request.programmes] {
        list.sort();
        list.dedup();
    }
    request.events.sort();
    request.events.dedup();
    request.regions.sort();
    request.regions.dedup();
    Ok(NewSubscription {
        region: principal.region.clone(),
        created_by: principal.subject.clone(),
        request,
    })
}

/// The fields of a subscription the registry alone sets, named when a request tries to
/// set them (rather than as merely unknown).
const SERVER_OWNED: &[&str] = &[
    "id",
    "version",
    "region",
    "created_by",
    "state",
    "delivered_through",
    "failures",
    "next_attempt_at",
    "last_error",
    "last_delivered_at",
    "created_at",
    "updated_at",
];

/// The problems of a request body that sets fields only the server sets.
pub fn server_owned_fields(body: &serde_json::Value) -> Option<InvalidEdit> {
    let problems: Vec<(String, String)> = SERVER_OWNED
        .iter()
        .filter(|field| body.get(**field).is_some())
        .map(|field| {
            (
                (*field).to_owned(),
                "is set by the server and cannot be changed".to_owned(),
            )
        })
        .collect();
    (!problems.is_empty()).then_some(InvalidEdit { problems })
}

/// Why a subscription request is refused.
#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    /// The token may not make it (403).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// It is not a usable subscription (400).
    #[error("the subscription is invalid")]
    Invalid(InvalidEdit),
}

/// A subscription's filters.
#[derive(Debug, Clone, Copy)]
pub struct Interest<'a> {
    events: &'a [ChangeKind],
    regions: &'a [RegionCode],
    sectors: &'a [String],
    programmes: &'a [String],
}

impl Interest<'_> {
    /// Whether `change`, whose entry `facts` describe, is wanted.
    pub fn matches(&self, change: &Change, facts: &EntryFacts) -> bool {
        let wanted = |filter: &[String], values: &[String]| {
            filter.is_empty() || values.iter().any(|v| filter.contains(v))
        };
        let concerned = match &change.region {
            Some(region) => self.regions.contains(region),
            None if facts.regions.is_empty() => true,
            None => facts.regions.iter().any(|r| self.regions.contains(r)),
        };
        (self.events.is_empty() || self.events.contains(&change.kind))
            && (self.regions.is_empty() || concerned)
            && wanted(self.sectors, &facts.sectors)
            && wanted(self.programmes, &facts.programmes)
    }
}

/// What the filters look at in the entry a change names. No regions means every
/// region (a batch concerns the whole programme).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryFacts {
    /// Participating regions.
    pub regions: Vec<RegionCode>,
    /// Sectors.
    pub sectors: Vec<String>,
    /// Programmes.
    pub programmes: Vec<String>,
}

impl EntryFacts {
    /// The facts of the catalog entry `change` names, as `catalog` holds it (nothing
    /// for a proposal, whose facts come from the proposal itself).
    pub fn of(catalog: &Catalog, change: &Change) -> Self {
        let code = change.entry_code.as_str();
        let mut facts = Self::default();
        match change.entry_kind {
            ChangedEntryKind::RecognitionItem => {
                if let Some(item) = catalog.recognition_item(code) {
                    facts.regions = item.regions.clone();
                    facts.sectors.push(item.sector.clone());
                }
            }
            ChangedEntryKind::StandardItem => {
                if let Some(item) = catalog.standard_item(code) {
                    facts.regions = item.local_parts.iter().map(|p| p.region.clone()).collect();
                    facts.sectors.push(item.sector.clone());
                    facts.programmes = item
                        .programmes
                        .iter()
                        .map(|m| m.programme.clone())
                        .collect();
                }
            }
            ChangedEntryKind::Scenario => {
                if let Some(scenario) = catalog.scenario(code) {
                    facts.regions = scenario.regions.clone();
                }
            }
            ChangedEntryKind::Target => {
                if let Some(target) = catalog.target(code) {
                    facts.regions.extend(target.metric.region.clone());
                    facts.programmes.extend(target.metric.programme.clone());
                }
            }
            ChangedEntryKind::Batch => {
                if let Some(batch) = catalog.batch(code) {
                    facts.programmes = batch.programmes.clone();
                }
            }
            ChangedEntryKind::Proposal => {}
        }
        facts
    }
}

/// The body of one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Delivery {
    /// The delivery's name, as in the `X-Registry-Delivery` header.
    pub delivery: String,
    /// The subscription.
    pub subscription: i64,
    /// The changes, in feed order (as `GET /api/v1/changes` returns them).
    pub events: Vec<Change>,
}

impl Delivery {
    /// A delivery of `events` (at least one) to subscription `subscription`.
    pub fn new(subscription: i64, events: Vec<Change>) -> Self {
        let first = events.first().map_or(0, |e| e.seq);
        let last = events.last().map_or(0, |e| e.seq);
        Self {
            delivery: format!("{subscription}-{first}-{last}"),
            subscription,
            events,
        }
    }
}

/// The signature header value of `body` sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex of HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", super::audit::hex(&digest))
}

/// HMAC-SHA256 keyed with `secret`, fed `"<timestamp>.<body>"`.
fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// What a receiver does with a delivery: true when `header` signs `body` with `secret`
/// and its time is within `tolerance` of `now` (Unix seconds). Compared in constant time.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now - timestamp).abs() > tolerance {
        return false;
    }
    signatures.iter().any(|candidate| {
        let Some(bytes) = from_hex(candidate) else {
            return false;
        };
        mac(secret, timestamp, body).verify_slice(&bytes).is_ok()
    })
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// How long to wait after the `failures`-th failure in a row: `base`, doubled after
/// each further failure, at most [`MAX_RETRY_DELAY`].
pub fn retry_delay(base: Duration, failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    base.saturating_mul(1 << doublings).min(MAX_RETRY_DELAY)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::proposal::ProposalState;
    use crate::domain::test_support::{principal, region, sample};

    fn request(value: serde_json::Value) -> SubscriptionRequest {
        serde_json::from_value(value).expect("request")
    }

    fn allow(text: &str) -> HostAllowlist {
        HostAllowlist::parse(text).expect("allowlist")
    }

    fn change(
        kind: ChangeKind,
        entry_kind: ChangedEntryKind,
        code: &str,
        region: Option<&str>,
    ) -> Change {
        Change {
            seq: 7,
            recorded_at: Utc::now(),
            kind,
            entry_kind,
            entry_code: code.into(),
            region: region.map(self::region),
            version: 2,
            proposal: None,
            state: None,
        }
    }

    #[test]
    fn only_allowed_hosts_and_ports_can_be_called() {
        let list = allow("sync.tj.example, 127.0.0.1:9000, [::1]:8443");
        assert_eq!(list.check("https://SYNC.tj.example/hook?x=1"), Ok(()));
        assert_eq!(list.check("http://sync.tj.example:8080/"), Ok(()));
        assert_eq!(list.check("http://127.0.0.1:9000/events"), Ok(()));
        assert_eq!(list.check("https://[::1]:8443/e"), Ok(()));
        assert_eq!(
            list.check("http://127.0.0.1:9001/events"),
            Err("host `127.0.0.1` port 9001 is not among the hosts the operator allows for webhooks".into())
        );
        assert_eq!(
            list.check("http://127.0.0.1/events"),
            Err(
                "host `127.0.0.1` port 80 is not among the hosts the operator allows for webhooks"
                    .into()
            )
        );
        assert_eq!(
            list.check("https://sync.tj.example@evil.example/"),
            Err("must not carry a user name or password".into())
        );
        assert_eq!(
            list.check("https://evil.example/sync.tj.example"),
            Err("host `evil.example` port 443 is not among the hosts the operator allows for webhooks".into())
        );
        assert_eq!(
            list.check("ftp://sync.tj.example/"),
            Err("must start with https:// or http://".into())
        );
        assert_eq!(
            list.check("https://sync.tj.example/a b"),
            Err("contains spaces or control characters".into())
        );
        assert_eq!(
            list.check("https://sync.tj.example:0/"),
            Err("`sync.tj.example:0` is not a host or host:port".into())
        );
        assert_eq!(
            list.check("https://sync.tj.example:99999/"),
            Err("`sync.tj.example:99999` is not a host or host:port".into())
        );
        assert_eq!(
            HostAllowlist::default().check("https://sync.tj.example/"),
            Err("webhooks are off: the operator allows no host (REGISTRY_WEBHOOK_HOSTS)".into())
        );
        assert_eq!(
            HostAllowlist::parse("a.example, b c"),
            Err("`b c` is not a host or host:port".into())
        );
        assert!(HostAllowlist::parse(" , ").expect("empty").is_empty());
    }

    #[test]
    fn an_editor_subscribes_for_its_own_region_and_an_admin_for_any() {
        let catalog = Catalog::build(sample()).expect("sample");
        let list = allow("sync.tj.example");
        let body = json!({"url": "https://sync.tj.example/e", "secret": "s".repeat(24), "sectors": ["construction", "construction"], "events": ["entry_changed", "entry_created", "entry_changed"]});
        let made = check_subscription(
            &principal("TJ", &[Role::Editor]),
            request(body.clone()),
            &catalog,
            &list,
        )
        .expect("editor");
        assert_eq!(made.region, region("TJ"));
        assert_eq!(made.created_by, "someone");
        assert_eq!(made.request.regions, vec![region("TJ")]);
        assert_eq!(made.request.sectors, vec!["construction".to_owned()]);
        assert_eq!(
            made.request.events,
            vec![ChangeKind::EntryCreated, ChangeKind::EntryChanged]
        );
        let admin = check_subscription(
            &principal("BJ", &[Role::Admin]),
            request(body.clone()),
            &catalog,
            &list,
        )
        .expect("admin");
        assert!(admin.request.regions.is_empty());

        let mut other = body.clone();
        other["regions"] = json!(["TJ", "BJ"]);
        let refused = check_subscription(
            &principal("TJ", &[Role::Editor]),
            request(other.clone()),
            &catalog,
            &list,
        );
        assert!(
            matches!(
                refused,
                Err(SubscriptionError::Refused(Refusal::OtherRegion { .. }))
            ),
            "{refused:?}"
        );
        assert!(
            check_subscription(
                &principal("BJ", &[Role::Admin]),
                request(other),
                &catalog,
                &list
            )
            .is_ok()
        );
        let approver = check_subscription(
            &principal("TJ", &[Role::Approver]),
            request(body),
            &catalog,
            &list,
        );
        assert!(matches!(
            approver,
            Err(SubscriptionError::Refused(Refusal::MissingRole {
                needed: Role::Editor,
                ..
            }))
        ));
    }

    #[test]
    fn every_problem_of_a_request_is_named() {
        let catalog = Catalog::build(sample()).expect("sample");
        let body = json!({"url": "https://elsewhere.example/e", "secret": "short", "sectors": ["nope"], "programmes": ["none"], "description": "x\u{7}"});
        let Err(SubscriptionError::Invalid(invalid)) = check_subscription(
            &principal("BJ", &[Role::Admin]),
            request(body),
            &catalog,
            &allow("sync.tj.example"),
        ) else {
            panic!("accepted");
        };
        assert_eq!(
            invalid.problems,
            vec![
                ("url".to_owned(), "host `elsewhere.example` port 443 is not among the hosts the operator allows for webhooks".to_owned()),
                ("secret".to_owned(), "must be 24 to 256 bytes long".to_owned()),
                ("description".to_owned(), "is at most 200 characters without control characters".to_owned()),
                ("sectors".to_owned(), "`nope` is not a known sectors code".to_owned()),
                ("programmes".to_owned(), "`none` is not a known programmes code".to_owned()),
            ]
        );
    }

    #[test]
    fn filters_select_changes_by_kind_region_sector_and_programme() {
        let catalog = Catalog::build(sample()).expect("sample");
        let item = catalog
            .recognition_items()
            .first()
            .expect("an item")
            .clone();
        let outsider = ["BJ", "TJ", "HE"]
            .into_iter()
            .map(region)
            .find(|r| !item.regions.contains(r));
        let edited = change(
            ChangeKind::EntryChanged,
            ChangedEntryKind::RecognitionItem,
            &item.code,
            None,
        );
        let facts = EntryFacts::of(&catalog, &edited);
        assert_eq!(facts.regions, item.regions);
        assert_eq!(facts.sectors, vec![item.sector.clone()]);
        let sub = |events: Vec<ChangeKind>, regions: Vec<RegionCode>, sectors: Vec<String>| {
            Subscription {
                id: 1,
                version: 1,
                region: region("TJ"),
                created_by: String::new(),
                url: String::new(),
                events,
                regions,
                sectors,
                programmes: vec![],
                description: String::new(),
                state: SubscriptionState::Active,
                delivered_through: 0,
                failures: 0,
                next_attempt_at: None,
                last_error: None,
                last_delivered_at: None,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            }
        };
        assert!(
            sub(vec![], vec![], vec![])
                .interest()
                .matches(&edited, &facts)
        );
        assert!(
            sub(
                vec![ChangeKind::EntryChanged],
                vec![item.regions[0].clone()],
                vec![item.sector.clone()]
            )
            .interest()
            .matches(&edited, &facts)
        );
        assert!(
            !sub(vec![ChangeKind::EntryCreated], vec![], vec![])
                .interest()
                .matches(&edited, &facts)
        );
        assert!(
            !sub(vec![], vec![], vec!["no-such-sector".into()])
                .interest()
                .matches(&edited, &facts)
        );
        if let Some(outsider) = outsider {
            assert!(
                !sub(vec![], vec![outsider], vec![])
                    .interest()
                    .matches(&edited, &facts)
            );
        }
        // A regional change concerns its region only.
        let local = change(
            ChangeKind::LocalPartChanged,
            ChangedEntryKind::RecognitionItem,
            &item.code,
            Some("TJ"),
        );
        assert!(
            sub(vec![], vec![region("TJ")], vec![])
                .interest()
                .matches(&local, &facts)
        );
        assert!(
            !sub(vec![], vec![region("BJ")], vec![])
                .interest()
                .matches(&local, &facts)
        );
        // A batch concerns every region; a proposal has no sector.
        let batch = catalog.batches().first().expect("a batch");
        let published = change(
            ChangeKind::EntryCreated,
            ChangedEntryKind::Batch,
            &batch.code,
            None,
        );
        assert!(
            sub(vec![], vec![region("HE")], vec![])
                .interest()
                .matches(&published, &EntryFacts::of(&catalog, &published))
        );
        let mut decided = change(
            ChangeKind::ProposalStateChanged,
            ChangedEntryKind::Proposal,
            "3",
            None,
        );
        decided.state = Some(ProposalState::Applied);
        assert_eq!(EntryFacts::of(&catalog, &decided), EntryFacts::default());
        assert!(
            !sub(vec![], vec![], vec![item.sector.clone()])
                .interest()
                .matches(&decided, &EntryFacts::default())
        );
    }

    #[test]
    fn service_items_scenarios_and_targets_name_their_programmes() {
        let catalog = Catalog::build(sample()).expect("sample");
        let member = catalog
            .standard_items()
            .iter()
            .find(|i| !i.programmes.is_empty())
            .expect("a member");
        let facts = EntryFacts::of(
            &catalog,
            &change(
                ChangeKind::EntryChanged,
                ChangedEntryKind::StandardItem,
                &member.code,
                None,
            ),
        );
        assert_eq!(
            facts.programmes,
            member
                .programmes
                .iter()
                .map(|m| m.programme.clone())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            facts.regions,
            member
                .local_parts
                .iter()
                .map(|p| p.region.clone())
                .collect::<Vec<_>>()
        );
        let scenario = catalog.scenarios().first().expect("a scenario");
        let facts = EntryFacts::of(
            &catalog,
            &change(
                ChangeKind::EntryChanged,
                ChangedEntryKind::Scenario,
                &scenario.code,
                None,
            ),
        );
        assert_eq!(facts.regions, scenario.regions);
        assert!(facts.programmes.is_empty() && facts.sectors.is_empty());
        let target = catalog.targets().first().expect("a target");
        let facts = EntryFacts::of(
            &catalog,
            &change(
                ChangeKind::EntryChanged,
                ChangedEntryKind::Target,
                &target.code,
                None,
            ),
        );
        assert_eq!(
            facts.programmes,
            target.metric.programme.iter().cloned().collect::<Vec<_>>()
        );
        assert_eq!(
            EntryFacts::of(
                &catalog,
                &change(
                    ChangeKind::EntryChanged,
                    ChangedEntryKind::Target,
                    "NO-SUCH",
                    None
                )
            ),
            EntryFacts::default()
        );
    }

    #[test]
    fn signatures_verify_only_with_the_secret_the_body_and_a_recent_time() {
        let body = br#"{"events":[]}"#;
        let header = signature(b"k".repeat(24).as_slice(), 1_764_662_400, body);
        assert!(header.starts_with("t=1764662400,v1="));
        assert_eq!(header.len(), "t=1764662400,v1=".len() + 64);
        let key = b"k".repeat(24);
        assert!(verify_signature(
            &key,
            &header,
            body,
            1_764_662_400 + 300,
            300
        ));
        assert!(!verify_signature(
            &key,
            &header,
            body,
            1_764_662_400 + 301,
            300
        ));
        assert!(!verify_signature(
            &key,
            &header,
            b"{\"events\":[1]}",
            1_764_662_400,
            300
        ));
        assert!(!verify_signature(
            &b"j".repeat(24),
            &header,
            body,
            1_764_662_400,
            300
        ));
        assert!(!verify_signature(
            &key,
            &header.replace("t=1764662400", "t=1764662401"),
            body,
            1_764_662_400,
            300
        ));
        assert!(!verify_signature(&key, "v1=00", body, 1_764_662_400, 300));
        assert!(!verify_signature(
            &key,
            "t=1764662400,v1=zz",
            body,
            1_764_662_400,
            300
        ));
    }

    #[test]
    fn the_signature_is_the_standard_hmac_sha256() {
        // Computed independently: `printf '1.{}' | openssl dgst -sha256 -hmac Jefe`.
        assert_eq!(
            signature(b"Jefe", 1, b"{}"),
            "t=1,v1=dc7943cccf20f64327d263db5e2aca27c2b8175e8e6e7ea04f482091bf456b0f"
        );
    }

    #[test]
    fn retries_back_off_exponentially_to_an_hour() {
        let base = Duration::from_secs(1);
        let delays: Vec<u64> = (1..=5).map(|n| retry_delay(base, n).as_secs()).collect();
        assert_eq!(delays, vec![1, 2, 4, 8, 16]);
        assert_eq!(retry_delay(base, 13), MAX_RETRY_DELAY);
        assert_eq!(retry_delay(base, u32::MAX), MAX_RETRY_DELAY);
        assert_eq!(
            retry_delay(Duration::from_millis(50), 0),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn a_delivery_is_named_by_its_subscription_and_first_and_last_change() {
        let events = vec![
            change(
                ChangeKind::EntryChanged,
                ChangedEntryKind::Target,
                "T1",
                None,
            ),
            Change {
                seq: 9,
                ..change(
                    ChangeKind::EntryChanged,
                    ChangedEntryKind::Target,
                    "T2",
                    None,
                )
            },
        ];
        assert_eq!(Delivery::new(4, events).delivery, "4-7-9");
    }
}
