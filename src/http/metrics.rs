//! `/metrics` in the OpenMetrics text format Prometheus scrapes (`prometheus-client`):
//! requests by route, method and status with their latency; rate-limit refusals; and,
//! read at each scrape, the database pool, the read model's place in the change feed,
//! the webhook outbox and the audit chain's head.

use std::net::IpAddr;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, get, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::problem::ApiError;
use super::rate_limit::Limit;
use crate::application::UseCases;
use crate::application::operations::OperationalFigures;
use crate::settings::Networks;

/// The media type of the exposition.
pub const OPENMETRICS_TEXT: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

/// 0.1 ms to about 3.3 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

type IntGauge = Gauge<i64, AtomicI64>;

/// The metrics of one server, shared by its workers.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    rate_limited: Family<LimitLabels, Counter>,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    read_model_sequence: IntGauge,
    database_up: IntGauge,
    feed_head: IntGauge,
    read_model_lag: IntGauge,
    audit_head: IntGauge,
    webhook_backlog: IntGauge,
    webhooks_failing: IntGauge,
    readers: Networks,
}

impl Metrics {
    /// Registers every metric; `readers` may scrape them.
    pub fn new(readers: Networks) -> Self {
        let mut registry = Registry::with_prefix("registry");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its answer, by route template and method",
            latency.clone(),
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        // Both series exist from the start, at 0, so that a rule on them has data.
        for limit in [Limit::Read, Limit::Write] {
            drop(rate_limited.get_or_create(&LimitLabels {
                limit: limit.as_str(),
            }));
        }
        registry.register(
            "rate_limited_requests",
            "Requests refused with 429, by limit (read or write)",
            rate_limited.clone(),
        );
        let mut gauge = |name: &str, help: &str| {
            let gauge = IntGauge::default();
            registry.register(name, help, gauge.clone());
            gauge
        };
        Self {
            pool_connections: gauge("db_pool_connections", "Database connections in the pool"),
            pool_idle: gauge(
                "db_pool_idle_connections",
                "Idle database connections in the pool",
            ),
            read_model_sequence: gauge(
                "read_model_sequence",
                "Last change of the feed this instance's read model includes",
            ),
            database_up: gauge(
                "database_up",
                "1 when the database answered this scrape within the timeout, 0 otherwise",
            ),
            feed_head: gauge(
                "change_feed_head",
                "Last change committed to the change feed",
            ),
            read_model_lag: gauge(
                "read_model_lag_changes",
                "Changes committed that this instance's read model does not include yet",
            ),
            audit_head: gauge("audit_chain_head", "Number of the last audit record"),
            webhook_backlog: gauge(
                "webhook_backlog_changes",
                "Changes after active subscriptions' last acknowledged ones, summed",
            ),
            webhooks_failing: gauge(
                "webhook_failing_subscriptions",
                "Webhook subscriptions marked failing",
            ),
            registry,
            requests,
            latency,
            rate_limited,
            readers,
        }
    }

    /// Counts one answered request. `route` is the matched template (bounded in number),
    /// never the raw path.
    pub fn observe(&self, route: Option<&str>, method: &Method, status: u16, took: Duration) {
        let method = method_label(method);
        let mut labels = RouteLabels {
            route: route.unwrap_or("unmatched").to_owned(),
            method,
        };
        self.latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        let route = std::mem::take(&mut labels.route);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }

    /// Counts one request refused by a rate limit.
    pub fn rate_limited(&self, limit: Limit) {
        self.rate_limited
            .get_or_create(&LimitLabels {
                limit: limit.as_str(),
            })
            .inc();
    }

    /// The exposition with these figures.
    fn render(&self, figures: &OperationalFigures) -> String {
        self.pool_connections.set(figures.pool_connections.into());
        self.pool_idle.set(figures.pool_idle.into());
        self.read_model_sequence.set(figures.read_model_sequence);
        self.database_up.set(i64::from(figures.database.is_some()));
        if let Some(database) = &figures.database {
            self.feed_head.set(database.feed_head);
            self.read_model_lag
                .set((database.feed_head - figures.read_model_sequence).max(0));
            self.audit_head.set(database.audit_head);
            self.webhook_backlog.set(database.webhook_backlog);
            self.webhooks_failing.set(database.webhooks_failing);
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    fn may_read(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|address| self.readers.contains(&address))
    }
}

/// Methods by name; anything else under one label, so a client cannot grow the series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Operational metrics.
///
/// The instance's metrics in the OpenMetrics text format, for Prometheus: requests by
/// route template, method and status, their latency, rate-limit refusals, the database
/// pool, the read model's place in the change feed and its lag, the webhook outbox and
/// the audit chain's head. Only clients in `REGISTRY_METRICS_FROM` may read it (the
/// TCP peer's address; forwarding headers are not believed here).
#[utoipa::path(
    tag = "service",
    operation_id = "get_metrics",
    responses(
        (status = 200, description = "The metrics.", body = String, content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8",
            example = json!("# HELP registry_read_model_sequence Last change of the feed this instance's read model includes.\n# TYPE registry_read_model_sequence gauge\nregistry_read_model_sequence 152\n# EOF\n")),
        (status = 403, description = "This client's address may not read the metrics.", body = super::problem::ProblemDetails, content_type = "application/problem+json",
            example = json!({"type": "urn:jjj-registry:problem:forbidden", "title": "Forbidden", "status": 403,
                "detail": "Metrics are served only to the addresses in REGISTRY_METRICS_FROM.", "request_id": "5f0c6d1e-2b7a-4c1e-9a53-8d2f0e6b7c41"})),
    )
)]
#[get("/metrics")]
pub async fn get_metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    if !metrics.may_read(req.peer_addr().map(|a| a.ip())) {
        return Err(ApiError::Forbidden(
            "Metrics are served only to the addresses in REGISTRY_METRICS_FROM.".into(),
        ));
    }
    let figures = use_cases.operational_figures().await;
    Ok(HttpResponse::Ok()
        .insert_header(("content-type", OPENMETRICS_TEXT))
        .insert_header(("cache-control", "no-store"))
        .body(metrics.render(&figures)))
}
