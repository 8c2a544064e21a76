//! The OpenAPI document: info block, shared responses, headers and parameters, and the
//! function that builds it from the same route configuration the server runs.
//!
//! utoipa collects the paths and schemas from the handlers; [`document`] then adds
//! what is the same for every operation (problem responses, caching headers, the
//! request id, `If-None-Match`) in one place, so no operation can document them
//! differently from the others, and states on the schemas what the wire carries
//! (which fields are always sent).

use std::collections::BTreeSet;

use actix_web::App;
use serde_json::{Value, json};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use super::conditional::PUBLIC_CACHE;
use actix_web::http::StatusCode;

use super::problem::{ApiError, FieldError, PROBLEM_JSON, ProblemDetails, generic_problem};

/// Top-level document; paths come from the handlers' `#[utoipa::path]`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "JJJ Mutual-Recognition Registry API",
        description = "京津冀资质资格互认与政务服务“同事同标”事项目录 API。\n\n\
The authoritative, versioned catalog of qualifications, licences and certificates mutually recognised by \
Beijing (京), Tianjin (津) and Hebei (冀), and of the government services they handle “same item, same standard” (同事同标).\n\n\
Reads are public and need no token. Writes need a bearer JWT of the region whose data they change \
(`Authorization: Bearer …`, see the `bearer` scheme); a region changes only its own side of an entry, against the \
version it read (`If-Match`), and every write attempt is audited. Lists use cursor pagination (`limit`, `cursor`); entries and lists carry an `ETag` \
and answer `If-None-Match` with 304. Errors are `application/problem+json` (RFC 9457). Dates are ISO 8601 days in \
China Standard Time (UTC+8). Parameter values are taken exactly as sent: nothing is trimmed, and an empty value is \
refused. Responses may gain fields in later minor versions: clients should ignore fields they do not know. \
The bundled catalog is a SAMPLE (示例数据), not the official list.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
        contact(name = "JJJ Registry maintainers", email = "registry@example.org")
    ),
    tags(
        (name = "recognition", description = "Recognition items (资质资格互认事项) and the recognition-status query."),
        (name = "standard-items", description = "Standard items (同事同标事项) and the 四同一互 deviation check."),
        (name = "scenarios", description = "Scenarios (互认场景) bundling items."),
        (name = "programme", description = "The programme as it publishes and reports itself: service programmes, published batches (批次) and targets (工作台账) with live progress."),
        (name = "editing", description = "Region-scoped editing: each region reads and changes its own side (本地部分) of an entry, with a bearer token of that region and `If-Match`."),
        (name = "proposals", description = "Shared changes (变更提案): creating, changing or retiring an entry, or publishing a batch, takes effect only when every participating region's approver has approved."),
        (name = "suspensions", description = "The one unilateral act: an accepting region suspends, and lifts, its own acceptance of an item (暂停互认), at once and with a reason."),
        (name = "changes", description = "The change feed (变更流): every change in commit order, numbered without gaps, for keeping a copy in sync."),
        (name = "exchange", description = "Bulk exchange (批量导入导出): the catalog as CSV, XLSX or JSON in one layout that export writes and import reads, with a template to fill in."),
        (name = "webhooks", description = "Webhooks (变更推送): changes of the feed posted to a subscriber's URL as they happen, signed with HMAC-SHA256, in feed order, retried until acknowledged."),
        (name = "audit", description = "The tamper-evident audit log of every write attempt, accepted or refused."),
        (name = "reference", description = "Regions, sectors and catalog statistics."),
        (name = "service", description = "Probes for orchestration.")
    ),
    components(schemas(
        super::problem::ProblemDetails,
        super::problem::FieldError,
        crate::domain::deviation::Aspect,
        crate::domain::catalog::ItemKind,
        super::exchange::DocumentFormat,
        crate::domain::exchange::Sheet,
        crate::domain::catalog::EntryStatus,
        crate::domain::catalog::StandardItemType,
        crate::domain::catalog::Channel,
        crate::domain::catalog::RecognitionLocalPart,
        crate::domain::catalog::StandardLocalPart,
    ))
)]
pub struct ApiDoc;

/// Shared problem responses: (component name, description, an example built by the same
/// code that builds real answers, so the example cannot drift from the wire).
fn problem_responses() -> Vec<(&'static str, &'static str, ProblemDetails)> {
    vec![
        (
            "InvalidParameter",
            "A parameter is missing or invalid, or the operation does not take it; `errors` names it.",
            ApiError::parameter("limit", "expected a whole number from 1 to 200, got `0`").problem(),
        ),
        (
            "InvalidBody",
            "The body is not valid JSON or does not have the documented shape; `errors` names the field where it can.",
            ApiError::InvalidBody(
                "The JSON body is invalid: unknown field `questoins`, expected `questions` or `as_known_at` at line 1 column 12".into(),
                vec![FieldError {
                    field: "questoins".into(),
                    message: "unknown field `questoins`, expected `questions` or `as_known_at` at line 1 column 12".into(),
                }],
            )
            .problem(),
        ),
        (
            "NotFound",
            "No entry has this code.",
            ApiError::NotFound("No recognition item has the code `RI-XXX-999`.".into()).problem(),
        ),
        (
            "PayloadTooLarge",
            "The body is larger than the configured limit.",
            ApiError::PayloadTooLarge("The body is 2097152 bytes; the limit is 1048576 bytes.".into())
                .problem(),
        ),
        (
            "RequestTimeout",
            "The body did not arrive within the time the server allows; the connection is closed.",
            super::problem::late_body().problem(),
        ),
        (
            "UnsupportedMediaType",
            "The body is not sent as `application/json`.",
            ApiError::UnsupportedMediaType(
                "The body must be sent as `Content-Type: application/json`.".into(),
            )
            .problem(),
        ),
        (
            "Unauthorized",
            "No bearer token, or one that is not valid here (bad signature, expired, unknown issuer, wrong audience or region claim…). Nothing changed.",
            ApiError::Unauthorized("the token was refused: it has expired".into()).problem(),
        ),
        (
            "Forbidden",
            "The token is valid but may not do this: another region's data, or a role it lacks. Nothing changed.",
            ApiError::Forbidden(
                "a token of TJ cannot change BJ's side; each region edits only its own".into(),
            )
            .problem(),
        ),
        (
            "Conflict",
            "The change collides with another entry (e.g. a local code already in use in the region). Nothing changed.",
            ApiError::Conflict("another entry already uses this local code in TJ".into()).problem(),
        ),
        (
            "PreconditionFailed",
            "`If-Match` names a version that is no longer current: read the entry again and reapply the change. Nothing changed.",
            ApiError::PreconditionFailed(
                "If-Match \"RI-CON-002.TJ.1\" is not the current version of TJ's side of RI-CON-002 (now \"RI-CON-002.TJ.2\"); read it again and reapply the change".into(),
            )
            .problem(),
        ),
        (
            "PreconditionRequired",
            "A write must send `If-Match` with the `ETag` it read. Nothing changed.",
            ApiError::PreconditionRequired(
                "send If-Match with the ETag of the local part you read; a region's side is changed only against the version it was based on".into(),
            )
            .problem(),
        ),
        (
            "TooManyRequests",
            "The caller's rate limit is used up (reads per client address or token subject, writes per token subject): wait `Retry-After` seconds. Nothing changed.",
            ApiError::TooManyRequests {
                detail: "More than 100 reads a second from client address 203.0.113.9; ask again in 1 s.".into(),
                retry_after: 1,
            }
            .problem(),
        ),
        (
            "ServiceUnavailable",
            "The database does not answer (or did not within `REGISTRY_DB_TIMEOUT_MS`): nothing was changed; ask again after `Retry-After` seconds. Reads of the current catalog go on being answered from memory meanwhile (with `X-Registry-Stale-Since`).",
            generic_problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "5f0c6d1e-2b7a-4c1e-9a53-8d2f0e6b7c41",
            ),
        ),
        (
            "InternalError",
            "An unexpected failure; the body never describes internals, only the request id.",
            generic_problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "5f0c6d1e-2b7a-4c1e-9a53-8d2f0e6b7c41",
            ),
        ),
    ]
}

/// Fields that responses leave out rather than send empty; every other field of a
/// response schema is always sent (as `null` where its schema allows it).
const OMITTED_WHEN_EMPTY: &[(&str, &str)] = &[
    ("ProblemDetails", "errors"),
    ("ProblemDetails", "request_id"),
    // The change feed with `minimal=true` sends a change's number, entry and version only.
    ("Change", "recorded_at"),
    ("Change", "kind"),
    ("Change", "region"),
    ("Change", "proposal"),
    ("Change", "state"),
    // A retired entry's successor, only where there is one.
    ("RecognitionItem", "superseded_by"),
    ("StandardItem", "superseded_by"),
    ("Scenario", "superseded_by"),
];

/// Builds the utoipa document from the route configuration, without a database.
fn collected() -> utoipa::openapi::OpenApi {
    let (_app, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::configure)
        .split_for_parts();
    api
}

/// The complete OpenAPI document, as served at `/openapi.json` and committed in
/// `openapi/openapi.json`.
pub fn document() -> Value {
    let mut collected = serde_json::to_value(collected()).unwrap_or_default();
    let mut doc = json!({
        "openapi": collected["openapi"].take(),
        "info": collected["info"].take(),
        "servers": [{"url": "/", "description": "This registry instance"}],
        // Reads are public; each write operation names the bearer scheme itself.
        "security": [],
        "tags": collected["tags"].take(),
        "paths": collected["paths"].take(),
        "components": collected["components"].take(),
    });
    add_components(&mut doc);
    add_edit_request_bodies(&mut doc);
    close_tagged_variants(&mut doc, "ChangeRequest", "action");
    add_links(&mut doc);
    body_may_be_left_out(&mut doc, "withdraw_proposal");
    inline_property(&mut doc, "ProposalDraft", "batch");
    let request_schemas = schemas_reachable_from_request_bodies(&doc);
    if let Some(operations) = doc["paths"].as_object_mut() {
        for (path, item) in operations.iter_mut() {
            for (method, operation) in item.as_object_mut().into_iter().flatten() {
                complete_operation(path, method, operation);
            }
        }
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        for (name, schema) in schemas.iter_mut() {
            if !request_schemas.contains(name) {
                state_response_fields(name, schema);
            }
        }
    }
    add_exchanged_entries(&mut doc);
    doc
}

/// The entries of the JSON export travel without their server-owned fields: each kind
/// gets a schema of its own (`ExchangedRecognitionItem`…), the entry's without them.
fn add_exchanged_entries(doc: &mut Value) {
    const SERVER_OWNED: [&str; 3] = ["version", "updated_at", "suspensions"];
    for name in ["RecognitionItem", "StandardItem", "Scenario", "Target"] {
        let mut schema = doc["components"]["schemas"][name].clone();
        if let Some(properties) = schema["properties"].as_object_mut() {
            for field in SERVER_OWNED {
                properties.shift_remove(field);
            }
        }
        if let Some(required) = schema["required"].as_array_mut() {
            required.retain(|field| !SERVER_OWNED.iter().any(|owned| field == owned));
        }
        let description = schema["description"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        schema["description"] = json!(format!(
            "{description}\n\nAs exported and imported: without `version`, `updated_at` and `suspensions`."
        ));
        let exchanged = format!("Exchanged{name}");
        doc["components"]["schemas"][&exchanged] = schema;
        let reference = json!({"$ref": format!("#/components/schemas/{exchanged}")});
        let document = &mut doc["components"]["schemas"]["ExportDocument"]["properties"];
        for (_, array) in document.as_object_mut().into_iter().flatten() {
            if array["items"]["$ref"] == format!("#/components/schemas/{name}") {
                array["items"] = reference.clone();
            }
        }
    }
}

/// The document as committed in `openapi/openapi.json` (pretty, trailing newline).
pub fn openapi_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}

fn add_components(doc: &mut Value) {
    let components = &mut doc["components"];
    for (name, description, example) in problem_responses() {
        components["responses"][name] = json!({
            "description": description,
            "headers": {
                "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
                "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
            },
            "content": {PROBLEM_JSON: {
                "schema": {"$ref": "#/components/schemas/ProblemDetails"},
                "example": example,
            }},
        });
    }
    for limited in ["TooManyRequests", "ServiceUnavailable"] {
        components["responses"][limited]["headers"]["Retry-After"] =
            json!({"$ref": "#/components/headers/RetryAfter"});
    }
    components["responses"]["Unauthorized"]["headers"]["WWW-Authenticate"] = json!({
        "required": true,
        "description": "The bearer challenge (RFC 6750), naming the problem.",
        "schema": {"type": "string", "examples": ["Bearer realm=\"jjj-registry\", error=\"invalid_token\", error_description=\"the token was refused: it has expired\""]},
    });
    components["securitySchemes"]["bearer"] = json!({
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A JWT from an issuer trusted for exactly one region (`region` claim), with `roles` among `editor`, `approver`, `admin`, the registry's audience in `aud`, and `exp`. See docs/AUTH.md; `jjj-registry token` mints development tokens when REGISTRY_DEV_SECRET is set.",
    });
    components["responses"]["NotModified"] = json!({
        "description": "Not modified: the `If-None-Match` tag is current; no body.",
        "headers": cacheable_headers(),
    });
    components["headers"] = json!({
        "ETag": {
            "required": true,
            "description": "Entity tag of this representation; send it back in `If-None-Match` to get 304 while it is current.",
            "schema": {"type": "string", "examples": ["\"9c1e4f0a2b7d3e56a8f0c1d2e3f4a5b6\""]},
        },
        "CacheControl": {
            "required": true,
            "description": "Public catalog data may be cached briefly and must be revalidated (cheaply, with the ETag) after that.",
            "schema": {"type": "string", "examples": [PUBLIC_CACHE]},
        },
        "CacheControlNoStore": {
            "required": true,
            "description": "The answer must not be cached.",
            "schema": {"type": "string", "examples": ["no-store"]},
        },
        "LocalPartETag": {
            "required": true,
            "description": "Entity tag of this version of the local part; send it in `If-Match` to change it.",
            "schema": {"type": "string", "examples": ["\"RI-CON-002.TJ.2\""]},
        },
        "RetryAfter": {
            "required": true,
            "description": "Seconds to wait before asking again.",
            "schema": {"type": "string", "examples": [crate::http::middleware::RETRY_AFTER_SECONDS]},
        },
        "WebhookETag": {
            "required": true,
            "description": "Entity tag of this version of the subscription; a resumption or deletion names it in `If-Match`.",
            "schema": {"type": "string", "examples": ["\"webhook.1.1\""]},
        },
        "ProposalETag": {
            "required": true,
            "description": "Entity tag of this version of the proposal; a vote or withdrawal names it in `If-Match`.",
            "schema": {"type": "string", "examples": ["\"P1.2\""]},
        },
        "Location": {
            "required": true,
            "description": "Where the created resource is read.",
            "schema": {"type": "string", "examples": ["/api/v1/proposals/1"]},
        },
        "CacheControlFeed": {
            "required": true,
            "description": "A full page of the change feed never changes and may be kept for good; a page that reaches the head (an empty poll among them) must be revalidated with its ETag before every use.",
            "schema": {"type": "string", "examples": [super::changes::IMMUTABLE_CACHE, "no-cache"]},
        },
        "CacheControlNoCache": {
            "required": true,
            "description": "Editors must always see the current version: revalidate before every use.",
            "schema": {"type": "string", "examples": ["no-cache"]},
        },
        "StaleSince": {
            "required": false,
            "description": "Sent only while this instance cannot reach its database: since when (RFC 3339). The answer comes from the instance's in-memory read model, current as of that moment; changes made since through other instances may be missing. Writes are answered 503 meanwhile.",
            "schema": {"type": "string", "format": "date-time", "examples": ["2026-12-02T08:15:00Z"]},
        },
        "XRequestId": {
            "required": true,
            "description": "The request id: the client's own `X-Request-Id` when it sent a plain one, otherwise a generated UUID. Quote it when reporting a problem.",
            "schema": {"type": "string", "examples": ["5f0c6d1e-2b7a-4c1e-9a53-8d2f0e6b7c41"]},
        },
    });
    components["parameters"]["IfNoneMatch"] = json!({
        "name": "If-None-Match",
        "in": "header",
        "required": false,
        "description": "Entity tags the client already holds (the `ETag` of an earlier answer); 304 without a body when one is current.",
        "schema": {"type": "string"},
        "example": "\"9c1e4f0a2b7d3e56a8f0c1d2e3f4a5b6\"",
    });
}

/// The bodies of the local-part writes: the local part without its region (the path
/// names it). The schema is the response's local part with every reference inlined, so
/// that requests and responses never share a schema whose rules differ between them
/// (a request refuses unknown fields; a response may gain fields).
fn add_edit_request_bodies(doc: &mut Value) {
    let edits = [
        (
            "RecognitionLocalPart",
            "recognition_local_part",
            json!({
                "local_code": "TJ-ZJW-2021-044",
                "issuing_department": "天津市住房和城乡建设委员会",
                "accepting_department": "天津市住房和城乡建设委员会",
                "contact": "022-12345678",
                "online_url": "https://example.gov.cn/tj/construction/ri/ri-con-002",
                "notes": null,
                "verification": {"method": "e_licence_sharing", "lookup_url": null, "platforms": []},
            }),
            json!({"contact": "022-12345678", "notes": null}),
        ),
        (
            "StandardLocalPart",
            "standard_local_part",
            json!({
                "local_code": "HE-RS-0002",
                "department": "河北省人力资源和社会保障厅",
                "online_url": null,
                "service_hall": null,
                "pilot_zones": [],
                "implementation_status": "implemented",
                "name_zh": null,
                "conditions_zh": null,
                "materials": null,
                "time_limit_days": 5,
                "result_recognised": true,
                "channels": ["online_end_to_end"],
                "terminal_identity": [],
            }),
            json!({"time_limit_days": 5, "service_hall": null}),
        ),
    ];
    for (schema_name, operation_suffix, example, patch_example) in edits {
        let mut schema = doc["components"]["schemas"][schema_name].clone();
        inline_references(doc, &mut schema, 0);
        if let Some(object) = schema.as_object_mut() {
            if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
                properties.remove("region");
            }
            if let Some(required) = object.get_mut("required").and_then(Value::as_array_mut) {
                required.retain(|field| field != "region");
            }
            object.insert("additionalProperties".into(), Value::Bool(false));
            object.insert(
                "description".into(),
                json!("A region's side of the entry, without the region (the path names it). Unknown fields and server-owned fields (`region`, `version`, `item_code`, `updated_at`) are refused."),
            );
        }
        limit_text(&mut schema);
        let change_name = format!("{schema_name}Change");
        let patch_name = format!("{schema_name}Patch");
        doc["components"]["schemas"][&patch_name] = merge_patch_schema(&schema);
        doc["components"]["schemas"][&change_name] = schema;
        let patch_reference = json!({"$ref": format!("#/components/schemas/{patch_name}")});
        let reference = json!({"$ref": format!("#/components/schemas/{change_name}")});
        for (method, body) in [
            (
                "put",
                json!({
                    "required": true,
                    "description": "The whole new local part; a field left out becomes empty.",
                    "content": {"application/json": {"schema": reference, "example": example}},
                }),
            ),
            (
                "patch",
                json!({
                    "required": true,
                    "description": "A JSON merge patch (RFC 7396): the fields named change, `null` empties a field, the rest stays.",
                    "content": {
                        "application/merge-patch+json": {"schema": patch_reference, "example": patch_example},
                        "application/json": {"schema": patch_reference, "example": patch_example},
                    },
                }),
            ),
        ] {
            if let Some(operation) = operation_mut(doc, &format!("{method}_{operation_suffix}")) {
                operation["requestBody"] = body;
            }
        }
    }
}

/// Where an answer leads: (operation, status, link name, target operation, target
/// parameters as runtime expressions). Clients and Schemathesis's stateful phase follow
/// them from a list to its entries and from a created resource to the actions on it.
const LINKS: &[Link] = &[
    (
        "list_recognition_items",
        "200",
        "GetFirstItem",
        "get_recognition_item",
        &[("code", "$response.body#/items/0/code")],
    ),
    (
        "list_standard_items",
        "200",
        "GetFirstItem",
        "get_standard_item",
        &[("code", "$response.body#/items/0/code")],
    ),
    (
        "list_scenarios",
        "200",
        "GetFirstScenario",
        "get_scenario",
        &[("code", "$response.body#/items/0/code")],
    ),
    (
        "list_batches",
        "200",
        "GetFirstBatch",
        "get_batch",
        &[("code", "$response.body#/items/0/code")],
    ),
    (
        "list_targets",
        "200",
        "GetFirstTarget",
        "get_target",
        &[("code", "$response.body#/items/0/code")],
    ),
    (
        "get_recognition_status",
        "200",
        "GetItem",
        "get_recognition_item",
        &[("code", "$response.body#/item")],
    ),
    (
        "get_recognition_item",
        "200",
        "GetFirstLocalPart",
        "get_recognition_local_part",
        &[
            ("code", "$response.body#/code"),
            ("region", "$response.body#/regions/0"),
        ],
    ),
    (
        "list_proposals",
        "200",
        "GetFirstProposal",
        "get_proposal",
        &[("id", "$response.body#/items/0/id")],
    ),
    (
        "create_proposal",
        "201",
        "GetProposal",
        "get_proposal",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_proposal",
        "201",
        "VoteOnProposal",
        "vote_on_proposal",
        &[("id", "$response.body#/id")],
    ),
    (
        "create_proposal",
        "201",
        "WithdrawProposal",
        "withdraw_proposal",
        &[("id", "$response.body#/id")],
    ),
    (
        "suspend_acceptance",
        "201",
        "GetSuspension",
        "get_suspension",
        &[("code", "$request.path.code"), ("id", "$response.body#/id")],
    ),
    (
        "suspend_acceptance",
        "201",
        "LiftSuspension",
        "lift_suspension",
        &[("code", "$request.path.code"), ("id", "$response.body#/id")],
    ),
];

/// An operation whose body is optional (a withdrawal needs no reason); utoipa marks
/// every typed body required.
fn body_may_be_left_out(doc: &mut Value, operation_id: &str) {
    if let Some(operation) = operation_mut(doc, operation_id) {
        operation["requestBody"]["required"] = json!(false);
    }
}

/// The operation with this id.
fn operation_mut<'a>(doc: &'a mut Value, operation_id: &str) -> Option<&'a mut Value> {
    doc["paths"]
        .as_object_mut()?
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .find(|operation| operation["operationId"] == operation_id)
}

/// (operation, status, link name, target operation, target parameters).
type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

fn add_links(doc: &mut Value) {
    for (source, status, name, target, parameters) in LINKS {
        let parameters: serde_json::Map<String, Value> = parameters
            .iter()
            .map(|(parameter, expression)| ((*parameter).to_owned(), json!(expression)))
            .collect();
        for item in doc["paths"]
            .as_object_mut()
            .into_iter()
            .flat_map(|p| p.values_mut())
        {
            for operation in item
                .as_object_mut()
                .into_iter()
                .flat_map(|i| i.values_mut())
            {
                if operation["operationId"] == *source {
                    operation["responses"][*status]["links"][*name] =
                        json!({"operationId": target, "parameters": parameters});
                }
            }
        }
    }
}

/// An internally tagged enum's variants as utoipa writes them (`allOf` of the variant
/// struct and the tag) can never validate when the struct refuses unknown members: the
/// tag is unknown to it. Each variant becomes one closed object that names the tag too;
/// the variant structs' own components go, since nothing else refers to them.
fn close_tagged_variants(doc: &mut Value, schema_name: &str, tag: &str) {
    let Some(variants) = doc["components"]["schemas"][schema_name]["oneOf"]
        .as_array()
        .cloned()
    else {
        return;
    };
    let mut closed = Vec::new();
    for variant in variants {
        let parts = variant["allOf"].as_array().cloned().unwrap_or_default();
        let Some(name) = parts
            .iter()
            .find_map(|p| p["$ref"].as_str())
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .map(str::to_owned)
        else {
            closed.push(variant);
            continue;
        };
        let Some(tag_schema) = parts.iter().find_map(|p| p["properties"].get(tag)).cloned() else {
            closed.push(variant);
            continue;
        };
        let mut merged = doc["components"]["schemas"][&name].clone();
        let mut properties = serde_json::Map::new();
        properties.insert(tag.to_owned(), tag_schema);
        if let Some(own) = merged["properties"].as_object() {
            properties.extend(own.clone());
        }
        merged["properties"] = Value::Object(properties);
        let mut required = vec![json!(tag)];
        required.extend(merged["required"].as_array().cloned().unwrap_or_default());
        merged["required"] = Value::Array(required);
        closed.push(merged);
        if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
            schemas.remove(&name);
        }
    }
    doc["components"]["schemas"][schema_name]["oneOf"] = Value::Array(closed);
}

/// Replaces the reference of one property of a request schema by a copy of the schema
/// it names, so that the named schema stays a response schema (which may gain fields)
/// while the request refuses unknown ones.
fn inline_property(doc: &mut Value, schema_name: &str, property: &str) {
    let mut copy = doc["components"]["schemas"][schema_name]["properties"][property].clone();
    inline_references(doc, &mut copy, 0);
    doc["components"]["schemas"][schema_name]["properties"][property] = copy;
}

/// The schema of a merge patch onto `change`: every field optional, and `null` allowed
/// for each field that may be empty (`null` removes it).
fn merge_patch_schema(change: &Value) -> Value {
    let mut patch = change.clone();
    loosen_for_merge(&mut patch);
    if let Some(object) = patch.as_object_mut() {
        object.insert(
            "description".into(),
            json!("A JSON merge patch (RFC 7396) onto a region's side of the entry: the fields named change, `null` empties a field, the others stay. Unknown and server-owned fields are refused."),
        );
    }
    patch
}

/// An object in a merge patch: every member optional; `null` allowed for the members
/// that may be empty (a required one cannot be: `null` removes it); nested objects are
/// merged member by member too, so the same holds inside them. Arrays are replaced
/// whole, so their items keep their rules.
fn loosen_for_merge(schema: &mut Value) {
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = schema.get_mut(key) {
            options.iter_mut().for_each(loosen_for_merge);
        }
    }
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let required: Vec<Value> = object
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        loosen_for_merge(property);
        if !required.contains(&Value::String(name.clone())) {
            allow_null(property);
        }
    }
    object.insert("required".into(), json!([]));
}

/// Every free-text string of a request body is at most this long (the server refuses
/// longer text with 400).
fn limit_text(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            let is_text = match object.get("type") {
                Some(Value::String(kind)) => kind == "string",
                Some(Value::Array(kinds)) => kinds.iter().any(|k| k == "string"),
                _ => false,
            };
            if is_text && !object.contains_key("enum") && !object.contains_key("format") {
                object.insert(
                    "maxLength".into(),
                    json!(crate::domain::governance::MAX_FIELD_CHARS),
                );
            }
            object.values_mut().for_each(limit_text);
        }
        Value::Array(items) => items.iter_mut().for_each(limit_text),
        _ => {}
    }
}

fn allow_null(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for key in ["oneOf", "anyOf"] {
        if let Some(Value::Array(options)) = object.get_mut(key) {
            if !options.iter().any(|o| o["type"] == "null") {
                options.push(json!({"type": "null"}));
            }
            return;
        }
    }
    match object.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = kind.clone();
            object.insert("type".into(), json!([kind, "null"]));
        }
        Some(Value::Array(kinds)) => {
            if !kinds.iter().any(|k| k == "null") {
                kinds.push(json!("null"));
            }
        }
        _ => {
            let inner = Value::Object(std::mem::take(object));
            *schema = json!({"oneOf": [inner, {"type": "null"}]});
            return;
        }
    }
    if let Some(Value::Array(values)) = object.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// Replaces every `$ref` to a component schema inside `schema` by a copy of it.
fn inline_references(doc: &Value, schema: &mut Value, depth: usize) {
    const MAX_DEPTH: usize = 16;
    match schema {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                && depth < MAX_DEPTH
            {
                let mut target = doc["components"]["schemas"][name].clone();
                inline_references(doc, &mut target, depth + 1);
                map.remove("$ref");
                if let Value::Object(fields) = target {
                    for (key, value) in fields {
                        map.entry(key).or_insert(value);
                    }
                }
            }
            for value in map.values_mut() {
                inline_references(doc, value, depth + 1);
            }
        }
        Value::Array(items) => {
            for item in items {
                inline_references(doc, item, depth + 1);
            }
        }
        _ => {}
    }
}

fn cacheable_headers() -> Value {
    json!({
        "ETag": {"$ref": "#/components/headers/ETag"},
        "Cache-Control": {"$ref": "#/components/headers/CacheControl"},
        "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
    })
}

fn uncacheable_headers() -> Value {
    json!({
        "Cache-Control": {"$ref": "#/components/headers/CacheControlNoStore"},
        "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
    })
}

/// An XLSX workbook is bytes (which utoipa would describe as an array of numbers). Its
/// example says where a real one comes from: an `externalValue` would be fetched (and
/// refused as a missing file) by client generators that bundle the spec.
fn describe_workbook(content: &mut Value, path: &str) {
    if let Some(workbook) = content.get_mut(crate::formats::XLSX_MEDIA_TYPE) {
        let source = if path.ends_with("/template") {
            "GET /api/v1/export/template"
        } else {
            "GET /api/v1/export?format=xlsx"
        };
        workbook["schema"] = json!({"type": "string", "format": "binary"});
        workbook["examples"] = json!({"workbook": {
            "summary": format!("The bytes of an XLSX workbook, as {source} returns them"),
            "value": format!("<the XLSX workbook of {source}>"),
        }});
    }
}

/// Adds the shared responses, headers, `If-None-Match` and the captured success
/// example to one operation.
fn complete_operation(path: &str, method: &str, operation: &mut Value) {
    if let Some(body) = operation.get_mut("requestBody") {
        describe_workbook(&mut body["content"], path);
    }
    let parameters = operation["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let has_in = |place: &str| parameters.iter().any(|p| p["in"] == place);
    // Every catalog operation refuses query parameters it does not take.
    let has_query = has_in("query") || path.starts_with("/api/");
    let has_path = has_in("path");
    let has_body = operation.get("requestBody").is_some();
    let secured = operation["security"]
        .as_array()
        .is_some_and(|schemes| !schemes.is_empty());
    let conditional = operation["responses"].get("304").is_some();
    let id = operation["operationId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let responses = operation["responses"].as_object_mut();
    let Some(responses) = responses else { return };
    if conditional {
        responses.insert(
            "304".into(),
            json!({"$ref": "#/components/responses/NotModified"}),
        );
    }
    for (status, response) in responses.iter_mut() {
        if response.get("$ref").is_some() {
            continue;
        }
        if status.starts_with('2') {
            response["headers"] = if id == "list_changes" {
                json!({
                    "ETag": {"$ref": "#/components/headers/ETag"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlFeed"},
                    "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
                })
            } else if conditional {
                cacheable_headers()
            } else if id.ends_with("_local_part") {
                json!({
                    "ETag": {"$ref": "#/components/headers/LocalPartETag"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoCache"},
                    "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
                })
            } else if WEBHOOK_OPERATIONS.contains(&id.as_str()) {
                json!({
                    "ETag": {"$ref": "#/components/headers/WebhookETag"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoCache"},
                    "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
                })
            } else if PROPOSAL_OPERATIONS.contains(&id.as_str()) {
                json!({
                    "ETag": {"$ref": "#/components/headers/ProposalETag"},
                    "Cache-Control": {"$ref": "#/components/headers/CacheControlNoCache"},
                    "X-Request-Id": {"$ref": "#/components/headers/XRequestId"},
                })
            } else {
                uncacheable_headers()
            };
            if status == "201" {
                response["headers"]["Location"] = json!({"$ref": "#/components/headers/Location"});
            }
            if method == "get" && path.starts_with("/api/") {
                response["headers"]["X-Registry-Stale-Since"] =
                    json!({"$ref": "#/components/headers/StaleSince"});
            }
            if let Some(content) = response.get_mut("content") {
                describe_workbook(content, path);
            }
            if let Some(example) = success_example(&id)
                && let Some(media) = response["content"]["application/json"].as_object_mut()
            {
                media.entry("example").or_insert(example);
            }
        } else {
            response["headers"] = uncacheable_headers();
            if status == "503" {
                response["headers"]["Retry-After"] =
                    json!({"$ref": "#/components/headers/RetryAfter"});
            }
        }
    }
    let mut add = |status: &str, name: &str| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| json!({"$ref": format!("#/components/responses/{name}")}));
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
        add("408", "RequestTimeout");
        add("413", "PayloadTooLarge");
        add("415", "UnsupportedMediaType");
    }
    if secured {
        add("401", "Unauthorized");
        // Writes need the token's own region and a role; the audit list needs only a
        // valid token (it shows each region its own part).
        if id != "list_audit_records" {
            add("403", "Forbidden");
        }
    }
    let takes_if_match = parameters.iter().any(|p| p["name"] == "If-Match");
    if matches!(method, "put" | "patch") || (secured && method == "post") {
        add("409", "Conflict");
    }
    if takes_if_match {
        add("412", "PreconditionFailed");
        add("428", "PreconditionRequired");
    }
    if path.starts_with("/api/") {
        add("429", "TooManyRequests");
    }
    // Writes need the database; so do the reads that are not answered from the read
    // model (history, the change feed, the audit log, subscriptions, imports).
    if path.starts_with("/api/") {
        add("503", "ServiceUnavailable");
    }
    add("500", "InternalError");

    if conditional && method == "get" {
        let if_none_match = json!({"$ref": "#/components/parameters/IfNoneMatch"});
        match operation["parameters"].as_array_mut() {
            Some(parameters) => parameters.push(if_none_match),
            None => operation["parameters"] = json!([if_none_match]),
        }
    }
}

/// The operations answering with one webhook subscription (its `ETag` is what a
/// resumption or deletion names).
const WEBHOOK_OPERATIONS: &[&str] = &[
    "create_webhook_subscription",
    "get_webhook_subscription",
    "resume_webhook_subscription",
];

/// The operations answering with one proposal (its `ETag` is what votes name).
const PROPOSAL_OPERATIONS: &[&str] = &[
    "create_proposal",
    "get_proposal",
    "vote_on_proposal",
    "withdraw_proposal",
];

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
        "get_recognition_status",
        include_str!("../../openapi/examples/get_recognition_status.json"),
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
        "list_programmes",
        include_str!("../../openapi/examples/list_programmes.json"),
    ),
    (
        "list_batches",
        include_str!("../../openapi/examples/list_batches.json"),
    ),
    (
        "get_batch",
        include_str!("../../openapi/examples/get_batch.json"),
    ),
    (
        "list_targets",
        include_str!("../../openapi/examples/list_targets.json"),
    ),
    (
        "get_target",
        include_str!("../../openapi/examples/get_target.json"),
    ),
    (
        "get_recognition_local_part",
        include_str!("../../openapi/examples/get_recognition_local_part.json"),
    ),
    (
        "put_recognition_local_part",
        include_str!("../../openapi/examples/put_recognition_local_part.json"),
    ),
    (
        "patch_recognition_local_part",
        include_str!("../../openapi/examples/patch_recognition_local_part.json"),
    ),
    (
        "get_standard_local_part",
        include_str!("../../openapi/examples/get_standard_local_part.json"),
    ),
    (
        "put_standard_local_part",
        include_str!("../../openapi/examples/put_standard_local_part.json"),
    ),
    (
        "patch_standard_local_part",
        include_str!("../../openapi/examples/patch_standard_local_part.json"),
    ),
    (
        "list_audit_records",
        include_str!("../../openapi/examples/list_audit_records.json"),
    ),
    (
        "verify_audit_log",
        include_str!("../../openapi/examples/verify_audit_log.json"),
    ),
    (
        "list_changes",
        include_str!("../../openapi/examples/list_changes.json"),
    ),
    (
        "create_proposal",
        include_str!("../../openapi/examples/create_proposal.json"),
    ),
    (
        "vote_on_proposal",
        include_str!("../../openapi/examples/vote_on_proposal.json"),
    ),
    (
        "get_proposal",
        include_str!("../../openapi/examples/get_proposal.json"),
    ),
    (
        "list_proposals",
        include_str!("../../openapi/examples/list_proposals.json"),
    ),
    (
        "withdraw_proposal",
        include_str!("../../openapi/examples/withdraw_proposal.json"),
    ),
    (
        "suspend_acceptance",
        include_str!("../../openapi/examples/suspend_acceptance.json"),
    ),
    (
        "get_suspension",
        include_str!("../../openapi/examples/get_suspension.json"),
    ),
    (
        "lift_suspension",
        include_str!("../../openapi/examples/lift_suspension.json"),
    ),
    (
        "post_recognition_status_batch",
        include_str!("../../openapi/examples/post_recognition_status_batch.json"),
    ),
    (
        "list_recognition_item_versions",
        include_str!("../../openapi/examples/list_recognition_item_versions.json"),
    ),
    (
        "get_recognition_item_version",
        include_str!("../../openapi/examples/get_recognition_item_version.json"),
    ),
    (
        "diff_recognition_item_versions",
        include_str!("../../openapi/examples/diff_recognition_item_versions.json"),
    ),
    (
        "list_standard_item_versions",
        include_str!("../../openapi/examples/list_standard_item_versions.json"),
    ),
    (
        "get_standard_item_version",
        include_str!("../../openapi/examples/get_standard_item_version.json"),
    ),
    (
        "diff_standard_item_versions",
        include_str!("../../openapi/examples/diff_standard_item_versions.json"),
    ),
    (
        "list_scenario_versions",
        include_str!("../../openapi/examples/list_scenario_versions.json"),
    ),
    (
        "get_scenario_version",
        include_str!("../../openapi/examples/get_scenario_version.json"),
    ),
    (
        "diff_scenario_versions",
        include_str!("../../openapi/examples/diff_scenario_versions.json"),
    ),
    (
        "list_target_versions",
        include_str!("../../openapi/examples/list_target_versions.json"),
    ),
    (
        "get_target_version",
        include_str!("../../openapi/examples/get_target_version.json"),
    ),
    (
        "diff_target_versions",
        include_str!("../../openapi/examples/diff_target_versions.json"),
    ),
];

fn success_example(operation_id: &str) -> Option<Value> {
    if matches!(operation_id, "healthz" | "readyz") {
        return Some(json!({"status": "ok"}));
    }
    RESPONSE_EXAMPLES
        .iter()
        .find(|(id, _)| *id == operation_id)
        .and_then(|(_, text)| serde_json::from_str(text).ok())
}

/// Names of the component schemas a request body can contain (directly or nested).
fn schemas_reachable_from_request_bodies(doc: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending: Vec<&Value> = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|paths| paths.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values())
        .map(|operation| &operation["requestBody"])
        .collect();
    while let Some(node) = pending.pop() {
        match node {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    && found.insert(name.to_owned())
                {
                    pending.push(&doc["components"]["schemas"][name]);
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    found
}

/// On a response schema: every property the server always sends is `required`, and
/// no `additionalProperties: false` (utoipa derives it from `deny_unknown_fields`,
/// which guards import files, not answers; answers may gain fields).
fn state_response_fields(name: &str, schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("additionalProperties") == Some(&Value::Bool(false)) {
        object.remove("additionalProperties");
    }
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        let required: Vec<Value> = properties
            .keys()
            .filter(|field| !OMITTED_WHEN_EMPTY.contains(&(name, field.as_str())))
            .map(|field| Value::String(field.clone()))
            .collect();
        object.insert("required".into(), Value::Array(required));
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        if let Some(Value::Array(parts)) = object.get_mut(key) {
            for part in parts.iter_mut().filter(|p| p.get("$ref").is_none()) {
                state_response_fields(name, part);
            }
        }
    }
}

/// The value of an object's key, for tests and tools reading the document.
pub fn lookup<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    reference
        .strip_prefix("#/")?
        .split('/')
        .try_fold(doc, |node, segment| {
            node.get(segment.replace("~1", "/").replace("~0", "~"))
        })
}

/// Every `$ref` in the document that points at nothing.
pub fn dangling_references(doc: &Value) -> Vec<String> {
    let mut dangling = Vec::new();
    let mut pending = vec![doc];
    while let Some(node) = pending.pop() {
        match node {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref").and_then(Value::as_str)
                    && lookup(doc, reference).is_none()
                {
                    dangling.push(reference.to_owned());
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    dangling.sort();
    dangling.dedup();
    dangling
}

/// Operations of the document: (method, path, operation object).
pub fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(method, operation)| (method.as_str(), path.as_str(), operation))
        })
        .collect()
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
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let info = &doc["info"];
        for field in ["title", "version", "description"] {
            assert!(
                info[field].as_str().is_some_and(|s| !s.is_empty()),
                "info.{field}"
            );
        }
        assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
        assert!(info["description"].as_str().unwrap().contains("京津冀"));
        assert_eq!(info["license"]["identifier"], "Apache-2.0");
        assert!(info["contact"]["email"].is_string());
        assert_eq!(doc["security"], json!([]));
        assert_eq!(doc["servers"][0]["url"], "/");
    }

    #[test]
    fn every_reference_resolves() {
        assert_eq!(dangling_references(&document()), Vec::<String>::new());
    }

    #[test]
    fn dangling_references_are_found() {
        let doc = json!({"a": {"$ref": "#/components/schemas/Nope"}, "components": {"schemas": {"Yes": {}}}, "b": [{"$ref": "#/components/schemas/Yes"}]});
        assert_eq!(dangling_references(&doc), vec!["#/components/schemas/Nope"]);
    }

    /// Parameters that deliberately carry no example, with the reason.
    const WITHOUT_EXAMPLE: &[(&str, &str)] = &[
        // An opaque value only the previous page can supply; any made-up value is refused.
        ("cursor", "opaque"),
        // Mutually exclusive with `item`: a prefilled value for both would be refused.
        ("local_code", "exclusive with item"),
    ];

    #[test]
    fn every_parameter_body_and_response_has_an_example() {
        let doc = document();
        let resolve = |node: &'_ Value| -> Value {
            match node["$ref"].as_str() {
                Some(reference) => lookup(&doc, reference).cloned().unwrap_or(Value::Null),
                None => node.clone(),
            }
        };
        let has_example = |media: &Value| {
            media.get("example").is_some() || media.get("examples").is_some() || {
                let schema = resolve(&media["schema"]);
                schema.get("example").is_some() || schema.get("examples").is_some()
            }
        };
        let mut missing = Vec::new();
        for (method, path, operation) in operations(&doc) {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let parameter = resolve(parameter);
                let name = parameter["name"].as_str().unwrap_or_default();
                let exempt = WITHOUT_EXAMPLE.iter().any(|(n, _)| *n == name);
                let has = parameter.get("example").is_some()
                    || parameter["schema"].get("example").is_some();
                if has == exempt {
                    missing.push(format!(
                        "{method} {path} parameter {name}: example present = {has}"
                    ));
                }
            }
            for media in operation
                .get("requestBody")
                .and_then(|b| b["content"].as_object())
                .into_iter()
                .flatten()
                .map(|(_, m)| m)
            {
                if !has_example(media) {
                    missing.push(format!("{method} {path} request body"));
                }
            }
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = resolve(response);
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
        assert!(
            missing.is_empty(),
            "examples missing (or present where they must not be):\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn every_operation_has_a_summary_a_description_errors_and_an_operation_id() {
        let doc = document();
        for (method, path, operation) in operations(&doc) {
            assert!(operation["operationId"].is_string(), "{method} {path}");
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && !summary.contains('\n') && summary.len() < 120,
                "{method} {path}: summary must be one short line: {summary:?}"
            );
            assert!(
                operation["description"]
                    .as_str()
                    .is_some_and(|d| d.len() > summary.len()),
                "{method} {path}: description"
            );
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{method} {path} lacks 500");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} lacks a success response"
            );
        }
    }

    #[test]
    fn every_error_response_is_a_problem_and_every_answer_names_its_request_id() {
        let doc = document();
        for (method, path, operation) in operations(&doc) {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(reference) => lookup(&doc, reference).unwrap(),
                    None => response,
                };
                let header = &response["headers"]["X-Request-Id"]["$ref"];
                assert_eq!(
                    header, "#/components/headers/XRequestId",
                    "{method} {path} {status}"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    let media = response["content"].as_object().unwrap();
                    assert_eq!(
                        media.keys().collect::<Vec<_>>(),
                        [PROBLEM_JSON],
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn conditional_reads_declare_if_none_match_and_their_caching_headers() {
        let doc = document();
        let mut conditional = 0;
        for (method, path, operation) in operations(&doc) {
            let Some(not_modified) = operation["responses"].get("304") else {
                continue;
            };
            conditional += 1;
            assert_eq!(
                not_modified["$ref"], "#/components/responses/NotModified",
                "{path}"
            );
            let params = operation["parameters"].as_array().unwrap();
            assert!(
                params
                    .iter()
                    .any(|p| p["$ref"] == "#/components/parameters/IfNoneMatch"),
                "{method} {path}"
            );
            let ok = &operation["responses"]["200"]["headers"];
            for header in ["ETag", "Cache-Control", "X-Request-Id"] {
                assert!(ok.get(header).is_some(), "{method} {path} 200 {header}");
            }
        }
        assert!(conditional >= 12, "{conditional}");
    }

    #[test]
    fn enum_schemas_list_the_values_on_the_wire() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["ItemKind"]["enum"],
            json!([
                "personal_qualification",
                "enterprise_qualification",
                "licence_certificate",
                "test_result",
                "medical_result",
                "standard",
                "enforcement_outcome",
                "digital_certificate"
            ])
        );
        assert_eq!(
            schemas["Decision"]["enum"],
            json!([
                "recognised",
                "not_recognised",
                "not_yet_in_force",
                "expired",
                "suspended",
                "no_arrangement"
            ])
        );
    }

    #[test]
    fn response_fields_are_required_unless_left_out_when_empty() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        let required = |name: &str| schemas[name]["required"].as_array().unwrap().clone();
        assert!(required("RecognitionStatus").contains(&json!("conditions_en")));
        assert!(required("RecognitionItem").contains(&json!("status_since")));
        assert_eq!(
            required("ProblemDetails"),
            [
                json!("type"),
                json!("title"),
                json!("status"),
                json!("detail")
            ]
        );
        // Request schemas keep their own rules.
        assert_eq!(
            schemas["StatusQuestion"]["additionalProperties"],
            json!(false)
        );
        let requests = schemas_reachable_from_request_bodies(&doc);
        assert!(requests.contains("StatusQuestion"), "{requests:?}");
        for (name, schema) in schemas.as_object().unwrap() {
            if !requests.contains(name) {
                assert_ne!(
                    schema.get("additionalProperties"),
                    Some(&json!(false)),
                    "{name} declares additionalProperties: false on an answer"
                );
            }
        }
    }
}
