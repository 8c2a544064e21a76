//! Liveness and readiness probes.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::problem::{ApiError, ProblemDetails};
use crate::registry::Registry;

/// Probe answer.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct HealthStatus {
    /// Always `ok` when the probe succeeds.
    pub status: &'static str,
}

/// Liveness probe.
///
/// Answers 200 while the process is up and serving HTTP. Does not touch the database.
#[utoipa::path(
    tag = "service",
    operation_id = "healthz",
    responses((status = 200, description = "The process is up.", body = HealthStatus))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(HealthStatus { status: "ok" })
}

/// Readiness probe.
///
/// Answers 200 when the database answers a query, 503 otherwise. Load balancers should
/// route traffic only to instances that answer 200 here.
#[utoipa::path(
    tag = "service",
    operation_id = "readyz",
    responses(
        (status = 200, description = "The database is reachable.", body = HealthStatus),
        (status = 503, description = "The database is not reachable.", body = ProblemDetails, content_type = "application/problem+json",
            example = json!({"type": "urn:jjj-registry:problem:service-unavailable", "title": "Service unavailable", "status": 503,
                "detail": "The registry cannot serve this request right now; try again shortly.", "request_id": "5f0c6d1e-2b7a-4c1e-9a53-8d2f0e6b7c41"})),
    )
)]
#[get("/readyz")]
pub async fn readyz(registry: web::Data<Registry>) -> Result<HttpResponse, ApiError> {
    // Whatever the failure (refused, timed out, connection lost), the instance is not ready.
    if let Err(error) = registry.check_database().await {
        tracing::warn!(error = %error, "readiness check failed");
        return Err(ApiError::Unavailable(
            "The database is not reachable.".into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(HealthStatus { status: "ok" }))
}
