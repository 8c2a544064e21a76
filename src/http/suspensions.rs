//! The accepting region's own suspensions of acceptance (暂停互认): declare, read, lift.
//! The rules live in [`crate::domain::suspension`]; the use cases in
//! [`crate::application`].

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::catalog::NoParams;
use super::editing::{BodyLimit, write_request};
use super::problem::ApiError;
use crate::application::UseCases;
use crate::domain::catalog::AcceptanceSuspension;
use crate::domain::suspension::{LiftingNotice, SuspensionNotice};
use crate::registry::Registry;

/// The path of a recognition item's suspensions.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SuspensionsPath {
    /// Recognition item code.
    #[param(
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,64}$",
        example = "RI-CON-002"
    )]
    pub code: String,
}

/// The path of one suspension.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SuspensionPath {
    /// Recognition item code.
    #[param(
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,64}$",
        example = "RI-CON-002"
    )]
    pub code: String,
    /// The suspension's number.
    #[param(pattern = "^[1-9][0-9]{0,17}$", example = "1")]
    pub id: String,
}

fn suspension_response(
    status: StatusCode,
    code: &str,
    suspension: &AcceptanceSuspension,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            format!(
                "/api/v1/recognition-items/{code}/suspensions/{}",
                suspension.id
            ),
        ));
    }
    response.json(suspension)
}

/// Suspends the token's region's acceptance of an item.
///
/// The one act a region takes alone: its `approver` stops accepting the item's
/// credentials (from every issuing region, or from one) at once or from a later day,
/// with the reason its notice gives — a verification interface down, an outbreak
/// closing a route. Status answers for that accepting region say `suspended` with this
/// suspension until it is lifted; nothing else changes. Audited.
#[utoipa::path(
    tag = "suspensions",
    operation_id = "suspend_acceptance",
    params(SuspensionsPath),
    request_body(
        content = SuspensionNotice,
        description = "Which acceptance, from when, and why.",
        example = json!({"used_in": "TJ", "issued_in": "HE", "reason": "电子证照核验接口升级维护，暂停受理"})
    ),
    responses(
        (status = 201, description = "Suspended; the suspension as recorded.", body = AcceptanceSuspension),
    ),
    security(("bearer" = []))
)]
#[post("/recognition-items/{code}/suspensions")]
pub async fn suspend_acceptance(
    req: HttpRequest,
    path: web::Path<SuspensionsPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], false).await;
    let code = path.into_inner().code;
    let suspension = use_cases.suspend_acceptance(request, code.clone()).await?;
    Ok(suspension_response(StatusCode::CREATED, &code, &suspension))
}

/// Reads one suspension.
///
/// As recorded, with its lifting once lifted. Every suspension of an item is also in
/// the item's `suspensions`.
#[utoipa::path(
    tag = "suspensions",
    operation_id = "get_suspension",
    params(SuspensionPath),
    responses(
        (status = 200, description = "The suspension.", body = AcceptanceSuspension),
    )
)]
#[get("/recognition-items/{code}/suspensions/{id}")]
pub async fn get_suspension(
    path: web::Path<SuspensionPath>,
    _query: web::Query<NoParams>,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let path = path.into_inner();
    let catalog = registry.catalog();
    let found = catalog.recognition_item(&path.code).and_then(|item| {
        item.suspensions
            .iter()
            .find(|s| s.id.to_string() == path.id)
    });
    let suspension = found.ok_or_else(|| {
        ApiError::NotFound(format!("{} has no suspension {}.", path.code, path.id))
    })?;
    Ok(suspension_response(StatusCode::OK, &path.code, suspension))
}

/// Lifts a suspension.
///
/// An `approver` of the region that suspended restores its acceptance, today or from a
/// later day, with a reason. Audited.
#[utoipa::path(
    tag = "suspensions",
    operation_id = "lift_suspension",
    params(SuspensionPath),
    request_body(
        content = LiftingNotice,
        description = "Why, and from when.",
        example = json!({"reason": "核验接口已恢复"})
    ),
    responses(
        (status = 200, description = "Lifted; the suspension as it now stands.", body = AcceptanceSuspension),
    ),
    security(("bearer" = []))
)]
#[post("/recognition-items/{code}/suspensions/{id}/lifting")]
pub async fn lift_suspension(
    req: HttpRequest,
    path: web::Path<SuspensionPath>,
    payload: web::Payload,
    use_cases: web::Data<UseCases>,
    limit: web::Data<BodyLimit>,
) -> Result<HttpResponse, ApiError> {
    let request = write_request(&req, payload, limit.0, &["application/json"], false).await;
    let path = path.into_inner();
    let suspension = use_cases
        .lift_suspension(request, path.code.clone(), path.id)
        .await?;
    Ok(suspension_response(StatusCode::OK, &path.code, &suspension))
}
