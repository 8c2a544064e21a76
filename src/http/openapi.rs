//! The OpenAPI document: info block, shared problem responses, and the function that
//! builds it from the same route configuration the server runs.

use actix_web::App;
use serde_json::json;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use super::problem::{PROBLEM_JSON, problem_type};

/// Top-level document; paths come from the handlers' `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "JJJ Mutual-Recognition Registry API",
        description = "京津冀资质资格互认与政务服务“同事同标”事项目录 API。\n\n\
The authoritative, versioned catalog of qualifications, licences and certificates mutually recognised by \
Beijing (京), Tianjin (津) and Hebei (冀), and of the government services they handle “same item, same standard” (同事同标).\n\n\
Reads are public and need no token. Lists use cursor pagination (`limit`, `cursor`); entries and lists carry an `ETag` \
and answer `If-None-Match` with 304. Errors are `application/problem+json` (RFC 9457). Dates are ISO 8601 days in \
China Standard Time (UTC+8). The bundled catalog is a SAMPLE (示例数据), not the official list.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "JJJ Registry maintainers", email = "registry@example.org")
    ),
    tags(
        (name = "recognition", description = "Recognition items (资质资格互认事项) and the recognition-status query."),
        (name = "standard-items", description = "Standard items (同事同标事项) and the 四同一互 deviation check."),
        (name = "scenarios", description = "Scenarios (互认场景) bundling items."),
        (name = "reference", description = "Regions, sectors and catalog statistics."),
        (name = "service", description = "Probes for orchestration.")
    ),
    components(schemas(super::problem::ProblemDetails, super::problem::FieldError))
)]
pub struct ApiDoc;

/// Adds the shared problem responses to `components.responses` and references them
/// from every operation that can produce them, so no operation documents its errors by
/// hand differently from the others.
struct ProblemResponses;

/// (component name, status, description, example detail)
const SHARED: &[(&str, u16, &str, &str, &str)] = &[
    (
        "InvalidParameter",
        400,
        "A parameter is missing or invalid; `errors` names it.",
        "invalid-parameter",
        "`limit`: expected a whole number from 1 to 200, got `0`",
    ),
    (
        "NotFound",
        404,
        "No entry has this code.",
        "not-found",
        "No recognition item has the code `RI-XXX-999`.",
    ),
    (
        "PayloadTooLarge",
        413,
        "The body is larger than the configured limit.",
        "payload-too-large",
        "The body is 2097152 bytes; the limit is 1048576 bytes.",
    ),
    (
        "UnsupportedMediaType",
        415,
        "The body is not sent as `application/json`.",
        "unsupported-media-type",
        "The body must be sent as `Content-Type: application/json`.",
    ),
    (
        "InternalError",
        500,
        "An unexpected failure; the body never describes internals.",
        "internal-error",
        "The server could not complete the request. Quote the request id when reporting it.",
    ),
];

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, status, description, slug, detail) in SHARED {
            let mut example = json!({"type": problem_type(slug), "title": name_to_title(name), "status": status, "detail": detail});
            if *name == "InvalidParameter" {
                example["errors"] = json!([{"field": "limit", "message": "expected a whole number from 1 to 200, got `0`"}]);
            }
            if *name == "InvalidBody" {
                example["errors"] = json!([{"field": "questoins", "message": "unknown field `questoins`, expected `questions`"}]);
            }
            if *status == 500 {
                example["request_id"] = json!("5f0c6d1e-2b7a-4c1e-9a53-8d2f0e6b7c41");
            }
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemDetails")))
                .example(Some(example))
                .build();
            components.responses.insert(
                (*name).to_owned(),
                RefOr::T(
                    ResponseBuilder::new()
                        .description(*description)
                        .content(PROBLEM_JSON, content)
                        .build(),
                ),
            );
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                add_shared_responses(operation);
            }
        }
    }
}

fn name_to_title(name: &str) -> String {
    let mut title = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            title.push(' ');
            title.extend(c.to_lowercase());
        } else {
            title.push(c);
        }
    }
    title
}

fn add_shared_responses(operation: &mut Operation) {
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_query = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let has_path = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path));
    let has_body = operation.request_body.is_some();
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, name: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    };
    if has_body {
        add("400", "InvalidBody");
    } else if has_query {
        add("400", "InvalidParameter");
    }
    if has_path {
        add("404", "NotFound");
    }
    if has_body {
        add("413", "PayloadTooLarge");
        add("415", "UnsupportedMediaType");
    }
    add("500", "InternalError");
}

/// Builds the OpenAPI document from the route configuration, without a database.
pub fn build_openapi() -> OpenApiDoc {
    let (_app, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::configure)
        .split_for_parts();
    finish(api)
}

/// Example success bodies, keyed by operation id: real responses of the sample catalog,
/// captured from the running API (see `openapi/examples/README.md`).
const RESPONSE_EXAMPLES: &[(&str, &str)] = &[
    (
        "list_regions",
        include_str!("../../openapi/examples/list_regions.json"),
    ),
    (
        "list_sectors",
        include_str!("../../openapi/examples/list_sectors.json"),
    ),
    (
        "list_recognition_items",
        include_str!("../../openapi/examples/list_recognition_items.json"),
    ),
    (
        "get_recognition_item",
        include_str!("../../openapi/examples/get_recognition_item.json"),
    ),
    (
        "list_standard_items",
        include_str!("../../openapi/examples/list_standard_items.json"),
    ),
    (
        "get_standard_item",
        include_str!("../../openapi/examples/get_standard_item.json"),
    ),
    (
        "get_standard_item_deviations",
        include_str!("../../openapi/examples/get_standard_item_deviations.json"),
    ),
    (
        "get_deviation_report",
        include_str!("../../openapi/examples/get_deviation_report.json"),
    ),
    (
        "list_scenarios",
        include_str!("../../openapi/examples/list_scenarios.json"),
    ),
    (
        "get_scenario",
        include_str!("../../openapi/examples/get_scenario.json"),
    ),
    (
        "get_stats",
        include_str!("../../openapi/examples/get_stats.json"),
    ),
    (
        "post_recognition_status_batch",
        include_str!("../../openapi/examples/post_recognition_status_batch.json"),
    ),
];

fn add_response_examples(openapi: &mut OpenApiDoc) {
    for item in openapi.paths.paths.values_mut() {
        for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
            let example = operation
                .operation_id
                .as_deref()
                .and_then(|id| RESPONSE_EXAMPLES.iter().find(|(name, _)| *name == id))
                .and_then(|(_, text)| serde_json::from_str::<serde_json::Value>(text).ok());
            let Some(example) = example else { continue };
            if let Some(RefOr::T(response)) = operation.responses.responses.get_mut("200")
                && let Some(content) = response.content.get_mut("application/json")
                && content.example.is_none()
            {
                content.example = Some(example);
            }
        }
    }
}

/// Adds the shared problem responses and the example bodies once every path is known
/// (utoipa's own `modifiers` run before utoipa-actix-web has collected the paths).
pub fn finish(mut api: OpenApiDoc) -> OpenApiDoc {
    ProblemResponses.modify(&mut api);
    add_response_examples(&mut api);
    api
}

/// The document as committed in `openapi/openapi.json` (pretty, trailing newline).
pub fn openapi_json() -> String {
    let mut text = build_openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_openapi_file_matches_the_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == openapi_json(),
            "openapi/openapi.json is out of date with the code; regenerate it with `cargo run -- openapi` and commit the result"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_with_a_complete_info_block() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let info = &doc["info"];
        for field in ["title", "version", "description"] {
            assert!(
                info[field].as_str().is_some_and(|s| !s.is_empty()),
                "info.{field}"
            );
        }
        assert!(info["description"].as_str().unwrap().contains("京津冀"));
        assert_eq!(info["license"]["identifier"], "Apache-2.0");
        assert!(info["contact"]["email"].is_string());
    }

    #[test]
    fn every_parameter_body_and_response_has_an_example() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let has_example = |media: &serde_json::Value| {
            media.get("example").is_some() || media.get("examples").is_some() || {
                let name = media["schema"]["$ref"]
                    .as_str()
                    .and_then(|r| r.rsplit('/').next())
                    .unwrap_or_default();
                schemas[name].get("example").is_some() || schemas[name].get("examples").is_some()
            }
        };
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter.get("example").is_none()
                        && parameter["schema"].get("example").is_none()
                    {
                        missing.push(format!("{method} {path} parameter {}", parameter["name"]));
                    }
                }
                for media in operation["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(_, m)| m)
                {
                    if !has_example(media) {
                        missing.push(format!("{method} {path} request body"));
                    }
                }
                for (status, response) in operation["responses"].as_object().unwrap() {
                    let response = match response["$ref"].as_str() {
                        Some(reference) => {
                            &doc["components"]["responses"][reference.rsplit('/').next().unwrap()]
                        }
                        None => response,
                    };
                    for media in response["content"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(_, m)| m)
                    {
                        if !has_example(media) {
                            missing.push(format!("{method} {path} response {status}"));
                        }
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "missing examples:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn every_operation_documents_errors_and_has_an_operation_id() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                assert!(operation["operationId"].is_string(), "{method} {path}");
                assert!(
                    operation["responses"]["500"].is_object(),
                    "{method} {path} lacks 500"
                );
                let responses = operation["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path} lacks a success response"
                );
            }
        }
    }
}
