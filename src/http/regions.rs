//! Reference data: regions and sectors.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::catalog::NoParams;
use super::conditional::json_response;
use super::problem::ApiError;
use crate::domain::catalog::Sector;
use crate::domain::region::Region;
use crate::registry::Registry;

/// All member regions.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionList {
    /// Regions in display order.
    pub items: Vec<Region>,
}

/// All sectors.
#[derive(Debug, Serialize, ToSchema)]
pub struct SectorList {
    /// Sectors in display order.
    pub items: Vec<Sector>,
}

/// Lists the member regions (辖区).
///
/// Each region with its GB/T 2260 code and names. Region codes are what every other
/// endpoint takes in `region`, `issued_in` and `used_in`.
#[utoipa::path(
    tag = "reference",
    operation_id = "list_regions",
    responses(
        (status = 200, description = "The member regions.", body = RegionList, headers(("ETag" = String, description = "Entity tag for conditional requests"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/regions")]
pub async fn list_regions(
    _no_params: web::Query<NoParams>,
    req: HttpRequest,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = registry.catalog();
    json_response(
        &req,
        &RegionList {
            items: catalog.regions().to_vec(),
        },
    )
}

/// Lists the sectors (领域).
///
/// Sector codes are what the `sector` filter of the item lists takes.
#[utoipa::path(
    tag = "reference",
    operation_id = "list_sectors",
    responses(
        (status = 200, description = "The sectors.", body = SectorList, headers(("ETag" = String, description = "Entity tag for conditional requests"))),
        (status = 304, description = "Not modified since the `If-None-Match` tag."),
    )
)]
#[get("/sectors")]
pub async fn list_sectors(
    _no_params: web::Query<NoParams>,
    req: HttpRequest,
    registry: web::Data<Registry>,
) -> Result<HttpResponse, ApiError> {
    let catalog = registry.catalog();
    json_response(
        &req,
        &SectorList {
            items: catalog.sectors().to_vec(),
        },
    )
}
