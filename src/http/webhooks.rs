//! Webhook subscriptions (变更推送订阅): subscribe, read, resume, unsubscribe. The rules
//! live in [`crate::domain::webhook`], the use cases and the delivery loop in
//! [`crate::application::webhooks`].

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::NoParams;
use super::editing::{BodyLimit, authorization, write_request};
use super::problem::ApiError;
use crate::application::UseCases;
use crate::application::webhooks::subscription_etag;
use crate::domain::webhook::{Subscription, SubscriptionRequest};

/// The path of one subscription.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SubscriptionPath {
    /// The subscription's number.
    #[param(pattern = "^[1-9][0-9]{0,17}$", example = "1")]
    pub id: String,
}

/// The subscriptions a token manages.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"items": [{
    "id": 1, "version": 1, "region": "TJ", "created_by": "editor@tj",
    "url": "https://sync.tj.example/registry-events",
    "events": ["local_part_changed"], "regions": ["TJ"], "sectors": [], "programmes": [],
    "description": "天津市政务服务平台同步", "state": "active", "delivered_through": 1042,
    "failures": 0, "next_attempt_at": null, "last_error": null,
    "last_delivered_at": "2026-12-02T08:15:03.120000Z",
    "created_at": "2026-12-01T09:00:00Z", "updated_at": "2026-12-02T08:15:03.120000Z"
}]}))]
pub struct SubscriptionList {
    /// By number.
    pub items: Vec<Subscription>,
}

fn subscription_response(
    status: StatusCode,
    subscription: &Subscription,
) -> Result<HttpResponse, ApiError> {
    let etag = HeaderValue::from_str(&subscription_etag(subscription))
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if status == StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            format!("/api/v1/webhooks/{}", subscription.id),
        ));
    }
    Ok(response.json(subscription))
}

/// Subscribes a URL to changes.
///
/// From the next change of the feed on, every change the filters select is posted to
/// `url` in feed order, up to 100 to a delivery, signed with the secret
/// (`X-Registry-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) and
/// retried with exponential back-off until the receiver answers 2xx. The URL's host
/// must be one the operator allows. An `admin` subscribes for anything; an `editor`
/// for its own region's changes. Audited; the secret is never shown again.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "create_webhook_subscription",
    request_body(
        content = SubscriptionRequest,
        description = "Where to post, which changes, and the signing secret.",
        example = json!({
            "url": "https://sync.tj.example/registry-events",
            "events": ["local_part_changed", "acceptance_suspended", "acceptance_reinstated"],
            "regions": ["TJ"],
            "secret": "5d1c0e6b8f2a4c7e9b3d1f0a2c4e6b8d",
            "description": "天津市政务服务平台同步"
        })
    ),
    responses(
        (status = 201, description = "Subscribed; the subscription as recorded.", body = Subscription),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks")]
pub async fn create_webhook_subscription(
    req: HttpRequest,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], false).await;
    let subscription = use_cases.subscribe(request).await?;
    subscription_response(StatusCode::CREATED, &subscription)
}

/// Lists webhook subscriptions.
///
/// An `admin` sees every subscription; an `editor` its own region's. Each shows how far
/// its receiver has acknowledged the change feed and, after failures, why and when the
/// next attempt is due.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "list_webhook_subscriptions",
    responses(
        (status = 200, description = "The subscriptions.", body = SubscriptionList),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks")]
pub async fn list_webhook_subscriptions(
    req: HttpRequest,
    _query: web::Query<NoParams>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let items = use_cases.subscriptions(&authorization(&req)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SubscriptionList { items }))
}

/// Reads one webhook subscription.
///
/// For an `admin`, or an `editor` of the subscription's region. The `ETag` is what a
/// resumption or deletion names in `If-Match`.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "get_webhook_subscription",
    params(SubscriptionPath),
    responses(
        (status = 200, description = "The subscription.", body = Subscription),
    ),
    security(("bearer" = []))
)]
#[get("/webhooks/{id}")]
pub async fn get_webhook_subscription(
    req: HttpRequest,
    path: web::Path<SubscriptionPath>,
    _query: web::Query<NoParams>,
    use_cases: web::Data<UseCases>,
) -> Result<HttpResponse, ApiError> {
    let subscription = use_cases
        .subscription(&authorization(&req), path.into_inner().id)
        .await?;
    subscription_response(StatusCode::OK, &subscription)
}

/// Resumes a failing subscription.
///
/// After too many failed deliveries in a row a subscription is `failing` and nothing is
/// sent. Resuming it (an `admin`, or an `editor` of its region, against the version
/// read) delivers everything since the last change its receiver acknowledged: nothing
/// is lost while it was failing. Takes no body. Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "resume_webhook_subscription",
    params(
        SubscriptionPath,
        ("If-Match" = String, Header, description = "The `ETag` of the subscription as read", example = "\"webhook.1.2\""),
    ),
    responses(
        (status = 200, description = "Active again; the subscription as it now stands.", body = Subscription),
    ),
    security(("bearer" = []))
)]
#[post("/webhooks/{id}/resumption")]
pub async fn resume_webhook_subscription(
    req: HttpRequest,
    path: web::Path<SubscriptionPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], true).await;
    let subscription = use_cases
        .resume_subscription(request, path.into_inner().id)
        .await?;
    subscription_response(StatusCode::OK, &subscription)
}

/// Deletes a webhook subscription.
///
/// Nothing more is delivered to it (a delivery already under way still completes). An
/// `admin`, or an `editor` of its region, against the version read. Audited.
#[utoipa::path(
    tag = "webhooks",
    operation_id = "delete_webhook_subscription",
    params(
        SubscriptionPath,
        ("If-Match" = String, Header, description = "The `ETag` of the subscription as read", example = "\"webhook.1.1\""),
    ),
    responses(
        (status = 204, description = "Deleted."),
    ),
    security(("bearer" = []))
)]
#[delete("/webhooks/{id}")]
pub async fn delete_webhook_subscription(
    req: HttpRequest,
    path: web::Path<SubscriptionPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], true).await;
    use_cases.unsubscribe(request, path.into_inner().id).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
