//! The OpenAPI document tells the truth about the running server: what `/docs` "Try it
//! out" sends with its prefilled values succeeds. (Schemathesis, the linters and the
//! generated TypeScript client check the rest of the contract; see `scripts/test.sh`.)

use awc::http::Method;
use serde_json::Value;

use crate::helpers::*;
use crate::tokens::dev_token;

/// The parameter's documented example, as "Try it out" prefills it.
fn example_of(parameter: &Value) -> Option<String> {
    let example = parameter
        .get("example")
        .or_else(|| parameter["schema"].get("example"))?;
    Some(match example {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    node["$ref"]
        .as_str()
        .and_then(|reference| jjj_registry::http::openapi::lookup(doc, reference))
        .unwrap_or(node)
}

both_backends! {
    async fn every_operation_succeeds_with_its_documented_example_request(app) {
        let doc = app.get_json("/openapi.json").await;
        let mut operations = jjj_registry::http::openapi::operations(&doc);
        assert!(operations.len() >= 15, "{}", operations.len());
        // Deletions last, so that what they delete is there for the others first.
        operations.sort_by_key(|(method, ..)| *method == "delete");
        for (method, template, operation) in operations {
            let mut path = template.to_owned();
            let mut query = Vec::new();
            let mut headers = Vec::new();
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                let parameter = resolve(&doc, parameter);
                let name = parameter["name"].as_str().unwrap().to_owned();
                let Some(value) = example_of(parameter) else {
                    assert_ne!(parameter["required"], true, "{method} {template}: required `{name}` has no example");
                    continue;
                };
                match parameter["in"].as_str().unwrap() {
                    "path" => {
                        let encoded = serde_urlencoded::to_string([("", &value)]).unwrap();
                        path = path.replace(&format!("{{{name}}}"), &encoded[1..]);
                    }
                    "query" => query.push((name, value)),
                    "header" => headers.push((name, value)),
                    place => panic!("{method} {template}: parameter in {place}"),
                }
            }
            if !query.is_empty() {
                path = format!("{path}?{}", serde_urlencoded::to_string(&query).unwrap());
            }
            // A secured operation gets a token of the region its example names (an
            // editor and admin there); a write names the version it read, which the
            // writes before it have moved on from the documented example.
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                // The region a write acts for: in the path of a local part, in the body
                // of a suspension (`used_in`), that of the suspension a lifting lifts,
                // otherwise any region taking part.
                // A lifting acts for the region of the suspension it lifts.
                let lifted = match path.strip_suffix("/lifting") {
                    Some(suspension) => app.get_json(suspension).await["used_in"].as_str().map(str::to_owned),
                    None => None,
                };
                let body_region = operation["requestBody"]["content"]["application/json"]["example"]["used_in"].as_str();
                let region = path.split("/local-parts/").nth(1).or(body_region).or(lifted.as_deref()).unwrap_or("BJ").split('?').next().unwrap().to_owned();
                headers.push(("authorization".to_owned(), format!("Bearer {}", dev_token(&region, &["editor", "approver", "admin"]))));
            }
            if headers.iter().any(|(n, _)| n == "If-Match") {
                // The resource a vote or withdrawal acts on is the proposal itself (a
                // resumption, the subscription), read with the same token.
                let resource = path.trim_end_matches("/votes").trim_end_matches("/withdrawal").trim_end_matches("/resumption");
                let token: Vec<(&str, &str)> = headers.iter().filter(|(n, _)| n == "authorization").map(|(n, v)| (n.as_str(), v.as_str())).collect();
                let current = app.get_with(resource, &token).await.header("etag").expect("the resource has an ETag");
                let if_match = headers.iter_mut().find(|(n, _)| n == "If-Match").expect("If-Match is documented");
                if_match.1 = current;
            }
            let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let content = &operation["requestBody"]["content"];
            let (media_type, body) = match content.as_object().and_then(|c| c.iter().next()) {
                Some((media_type, media)) => (media_type.as_str(), media["example"].clone()),
                None => ("application/json", Value::Null),
            };
            let response = match method {
                "get" => app.get_with(&path, &headers).await,
                "post" if operation.get("requestBody").is_none() => {
                    app.request(Method::POST, &path, &headers, None).await
                }
                "delete" => app.request(Method::DELETE, &path, &headers, None).await,
                "post" | "put" | "patch" => {
                    assert!(!body.is_null(), "{method} {template}: the request body has no example");
                    let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
                    // A JSON body is sent as JSON; any other (a CSV sheet) as the text it is.
                    let bytes = match &body {
                        Value::String(text) if !media_type.contains("json") => text.clone().into_bytes(),
                        other => other.to_string().into_bytes(),
                    };
                    app.request(method, &path, &headers, Some((media_type, bytes))).await
                }
                other => panic!("{other} {template}: no example request for this method yet"),
            };
            assert!(
                response.status.is_success(),
                "{method} {path} answered {}: {}",
                response.status,
                String::from_utf8_lossy(&response.body)
            );
            // A documented import (a dry run) is a file without problems.
            let answer: Value = serde_json::from_slice(&response.body).unwrap_or_default();
            assert!(
                answer.get("problems").is_none_or(|p| p.as_array().is_some_and(Vec::is_empty)),
                "{method} {path} reported problems: {answer}"
            );
        }
    }
}

both_backends! {
    async fn the_documented_problems_are_the_problems_the_server_sends(app) {
        let doc = app.get_json("/openapi.json").await;
        let documented = |name: &str| {
            doc["components"]["responses"][name]["content"]["application/problem+json"]["example"].clone()
        };
        let cases = [
            ("NotFound", app.get("/api/v1/recognition-items/RI-XXX-999").await),
            ("InvalidParameter", app.get("/api/v1/recognition-items?limit=0").await),
            ("InvalidBody", app.post_json("/api/v1/recognition-status/batch", &serde_json::json!({"questoins": []})).await),
            (
                "UnsupportedMediaType",
                app.request(Method::POST, "/api/v1/recognition-status/batch", &[], Some(("text/plain", b"{}".to_vec()))).await,
            ),
        ];
        for (name, response) in cases {
            let example = documented(name);
            let body = response.problem(example["status"].as_u64().unwrap() as u16);
            assert_eq!(body, example, "{name}: the live problem differs from the documented one");
        }
    }
}
