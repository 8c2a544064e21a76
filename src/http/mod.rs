//! HTTP: routing, extractors, problem responses, conditional GET, pagination and the
//! OpenAPI description. Handlers stay thin: parse into domain types, ask the read model
//! or storage, map to a response.

pub mod body_deadline;
pub mod catalog;
pub mod changes;
pub mod conditional;
pub mod cors;
pub mod docs;
pub mod editing;
pub mod exchange;
pub mod health;
pub mod history;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod programme;
pub mod proposals;
pub mod rate_limit;
pub mod recognition_status;
pub mod regions;
pub mod routes;
pub mod suspensions;
pub mod webhooks;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented endpoint. The same function serves the running server
/// and the `openapi` command, so the spec cannot miss a route.
///
/// Order matters for speed: actix tries routes in registration order and matches
/// `{param}` patterns with a regex, so the hot status query and the static paths come
/// before the parameterised ones.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(metrics::get_metrics)
        .service(
            scope::scope("/api/v1")
                .service(recognition_status::get_recognition_status)
                .service(recognition_status::post_recognition_status_batch)
                .service(regions::list_regions)
                .service(regions::list_sectors)
                .service(catalog::list_recognition_items)
                .service(catalog::list_standard_items)
                .service(catalog::list_scenarios)
                .service(catalog::get_deviation_report)
                .service(catalog::get_stats)
                .service(programme::list_programmes)
                .service(programme::list_batches)
                .service(programme::list_targets)
                .service(catalog::get_recognition_item)
                .service(history::list_recognition_item_versions)
                .service(history::get_recognition_item_version)
                .service(history::diff_recognition_item_versions)
                .service(history::list_standard_item_versions)
                .service(history::get_standard_item_version)
                .service(history::diff_standard_item_versions)
                .service(history::list_scenario_versions)
                .service(history::get_scenario_version)
                .service(history::diff_scenario_versions)
                .service(history::list_target_versions)
                .service(history::get_target_version)
                .service(history::diff_target_versions)
                .service(suspensions::suspend_acceptance)
                .service(suspensions::get_suspension)
                .service(suspensions::lift_suspension)
                .service(catalog::get_standard_item)
                .service(catalog::get_standard_item_deviations)
                .service(catalog::get_scenario)
                .service(programme::get_batch)
                .service(programme::get_target)
                .service(changes::list_changes)
                .service(exchange::get_import_template)
                .service(exchange::get_sheet_template)
                .service(exchange::export_catalog)
                .service(exchange::export_sheet)
                .service(exchange::import_file)
                .service(exchange::import_sheet)
                .service(editing::verify_audit_log)
                .service(editing::list_audit_records)
                .service(proposals::list_proposals)
                .service(proposals::create_proposal)
                .service(proposals::get_proposal)
                .service(proposals::vote_on_proposal)
                .service(proposals::withdraw_proposal)
                .service(webhooks::list_webhook_subscriptions)
                .service(webhooks::create_webhook_subscription)
                .service(webhooks::get_webhook_subscription)
                .service(webhooks::resume_webhook_subscription)
                .service(webhooks::delete_webhook_subscription)
                .service(editing::get_recognition_local_part)
                .service(editing::put_recognition_local_part)
                .service(editing::patch_recognition_local_part)
                .service(editing::get_standard_local_part)
                .service(editing::put_standard_local_part)
                .service(editing::patch_standard_local_part),
        );
}
