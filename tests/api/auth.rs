//! Bearer tokens, case by case: every way a token can be wrong is refused with 401 (or
//! 403 when it is valid but lacks the right), the refusal is audited, and nothing
//! changes. The target is Tianjin's side of RI-CON-002; the Tianjin issuer (ES256 keys
//! in a JWKS file) is the one that may change it.

use awc::http::{Method, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, both_backends};
use crate::tokens::{Signer, dev_token, encode_part, sign};

const TJ_SIDE: &str = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
const FIRST_TAG: &str = "\"RI-CON-002.TJ.1\"";

fn with_claim(signer: Signer, name: &str, value: Value) -> String {
    let mut claims = signer.claims(&["editor"]);
    claims[name] = value;
    sign(&signer.header(), &claims, signer)
}

fn without_claim(signer: Signer, name: &str) -> String {
    let mut claims = signer.claims(&["editor"]);
    claims.as_object_mut().unwrap().remove(name);
    sign(&signer.header(), &claims, signer)
}

fn with_header(signer: Signer, name: &str, value: Value) -> String {
    let mut header = signer.header();
    header[name] = value;
    sign(&header, &signer.claims(&["editor"]), signer)
}

/// Every malformed, forged or misdirected token, with a name for the failure message.
fn refused_tokens() -> Vec<(&'static str, Vec<String>)> {
    let tj = Signer::Tianjin;
    let now = chrono::Utc::now().timestamp();
    let valid = tj.token(&["editor"]);
    let parts: Vec<&str> = valid.split('.').collect();
    let mut escalated = tj.claims(&["editor", "admin"]);
    escalated["sub"] = json!("intruder");
    let bj_public_pem = std::fs::read(crate::helpers::fixture("auth/bj-rs256.pub.pem")).unwrap();
    let mut hs_claims = Signer::Beijing.claims(&["editor"]);
    hs_claims["region"] = json!("BJ");
    let hs256_with_public_key = {
        let message = format!(
            "{}.{}",
            encode_part(&json!({"alg": "HS256", "typ": "JWT"})),
            encode_part(&hs_claims)
        );
        let key = jsonwebtoken::EncodingKey::from_secret(&bj_public_pem);
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
                .unwrap();
        format!("{message}.{signature}")
    };
    let mut hebei_claiming_tianjin = Signer::Hebei.claims(&["editor"]);
    hebei_claiming_tianjin["region"] = json!("TJ");
    let mut tianjin_signed_by_hebei = tj.claims(&["editor"]);
    tianjin_signed_by_hebei["iss"] = json!(tj.issuer());
    vec![
        (
            "alg=none",
            vec![format!(
                "{}.{}.",
                encode_part(&json!({"alg": "none", "typ": "JWT"})),
                encode_part(&tj.claims(&["editor"]))
            )],
        ),
        (
            "HS256 signed with an issuer's public key",
            vec![hs256_with_public_key],
        ),
        (
            "expired beyond the 30 s leeway",
            vec![with_claim(tj, "exp", json!(now - 45))],
        ),
        ("exp missing", vec![without_claim(tj, "exp")]),
        (
            "exp as a string",
            vec![with_claim(tj, "exp", json!((now + 600).to_string()))],
        ),
        ("aud missing", vec![without_claim(tj, "aud")]),
        (
            "aud wrong",
            vec![with_claim(tj, "aud", json!("another-registry"))],
        ),
        ("iss missing", vec![without_claim(tj, "iss")]),
        (
            "iss unknown",
            vec![with_claim(tj, "iss", json!("https://id.sh.example"))],
        ),
        (
            "nbf beyond the 30 s leeway",
            vec![with_claim(tj, "nbf", json!(now + 45))],
        ),
        (
            "aud naming another audience too",
            vec![with_claim(tj, "aud", json!(["jjj-registry", "billing"]))],
        ),
        (
            "tampered payload",
            vec![format!(
                "{}.{}.{}",
                parts[0],
                encode_part(&escalated),
                parts[2]
            )],
        ),
        (
            "stripped signature",
            vec![format!("{}.{}.", parts[0], parts[1])],
        ),
        (
            "not three parts",
            vec![format!("{}.{}", parts[0], parts[1])],
        ),
        (
            "unknown crit",
            vec![with_header(tj, "crit", json!(["exp"]))],
        ),
        ("wrong typ", vec![with_header(tj, "typ", json!("JWS"))]),
        (
            "unknown kid",
            vec![with_header(tj, "kid", json!("tj-1999"))],
        ),
        (
            "a key of another issuer",
            vec![{
                let mut header = tj.header();
                header["alg"] = json!("EdDSA");
                sign(&header, &tianjin_signed_by_hebei, Signer::Hebei)
            }],
        ),
        (
            "a Hebei token claiming region TJ",
            vec![sign(
                &Signer::Hebei.header(),
                &hebei_claiming_tianjin,
                Signer::Hebei,
            )],
        ),
        (
            "region in lower case",
            vec![with_claim(tj, "region", json!("tj"))],
        ),
        (
            "region with a trailing space",
            vec![with_claim(tj, "region", json!("TJ "))],
        ),
        (
            "region in full-width letters",
            vec![with_claim(tj, "region", json!("ＴＪ"))],
        ),
        (
            "two regions in one string",
            vec![with_claim(tj, "region", json!("BJ,TJ"))],
        ),
        (
            "region as an array",
            vec![with_claim(tj, "region", json!(["TJ"]))],
        ),
        ("region missing", vec![without_claim(tj, "region")]),
        ("roles missing", vec![without_claim(tj, "roles")]),
        (
            "an unknown role",
            vec![with_claim(tj, "roles", json!(["editor", "superuser"]))],
        ),
        (
            "roles as a string",
            vec![with_claim(tj, "roles", json!("editor"))],
        ),
        (
            "dev token for a region code in lower case",
            vec![dev_token("tj", &["editor"])],
        ),
        (
            "dev token signed with another secret",
            vec![{
                let message = format!(
                    "{}.{}",
                    encode_part(&Signer::Dev.header()),
                    encode_part(&Signer::Dev.claims(&["editor"]))
                );
                let key = jsonwebtoken::EncodingKey::from_secret(
                    b"another-secret-of-at-least-32-bytes-long!!",
                );
                format!(
                    "{message}.{}",
                    jsonwebtoken::crypto::sign(
                        message.as_bytes(),
                        &key,
                        jsonwebtoken::Algorithm::HS256
                    )
                    .unwrap()
                )
            }],
        ),
        (
            "header that is not JSON",
            vec![format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode("{nope"),
                parts[1],
                parts[2]
            )],
        ),
        (
            "two Authorization headers",
            vec![valid.clone(), valid.clone()],
        ),
    ]
}

async fn patch_with(app: &TestApp, authorization: &[String]) -> TestResponse {
    let headers: Vec<(&str, String)> = authorization
        .iter()
        .map(|value| ("authorization", value.clone()))
        .chain([("if-match", FIRST_TAG.to_owned())])
        .collect();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    app.request(
        Method::PATCH,
        TJ_SIDE,
        &headers,
        Some((
            "application/merge-patch+json",
            br#"{"contact": "forged"}"#.to_vec(),
        )),
    )
    .await
}

async fn assert_unchanged(app: &TestApp, original: &Value) {
    let now = app.get(TJ_SIDE).await;
    assert_eq!(now.status, StatusCode::OK);
    assert_eq!(now.header("etag").as_deref(), Some(FIRST_TAG));
    assert_eq!(&now.json(), original);
}

both_backends! {
    async fn every_bad_token_is_refused_with_401_audited_and_changes_nothing(app) {
        let original = app.get(TJ_SIDE).await.json();
        let item_before = app.get_json("/api/v1/recognition-items/RI-CON-002").await;
        let cases = refused_tokens();
        let mut expected_reasons = Vec::new();
        for (case, tokens) in &cases {
            let headers: Vec<String> = tokens.iter().map(|t| format!("Bearer {t}")).collect();
            let response = patch_with(&app, &headers).await;
            let problem = response.problem(401);
            assert_eq!(problem["type"], "urn:jjj-registry:problem:unauthorized", "{case}");
            let challenge = response.header("www-authenticate").unwrap_or_else(|| panic!("{case}: no challenge"));
            assert!(challenge.starts_with("Bearer realm=\"jjj-registry\", error=\"invalid_token\""), "{case}: {challenge}");
            expected_reasons.push(problem["detail"].as_str().unwrap().to_owned());
            assert_unchanged(&app, &original).await;
        }
        // Without any header, or with another scheme.
        for (case, headers) in [("no token", vec![]), ("Basic scheme", vec!["Basic dGo6dGo=".to_owned()])] {
            let response = patch_with(&app, &headers).await;
            assert_eq!(response.problem(401)["type"], "urn:jjj-registry:problem:unauthorized", "{case}");
            expected_reasons.push(response.json()["detail"].as_str().unwrap().to_owned());
        }
        // A 200 KB header is refused before any handler runs; nothing changes either.
        let huge = format!("Bearer {}", "a".repeat(200 * 1024));
        let refused = app.try_request(Method::PATCH, TJ_SIDE, &[("authorization", &huge), ("if-match", FIRST_TAG)]).await;
        match refused {
            Ok(response) => assert!(response.status.is_client_error(), "200 KB header: {}", response.status),
            Err(closed) => eprintln!("200 KB header: the server closed the connection ({closed})"),
        }
        // Just over our own 8 KB limit (under actix's head limit): 401 from us.
        let big = format!("Bearer {}", "a".repeat(8 * 1024));
        let response = patch_with(&app, &[big]).await;
        assert_eq!(response.problem(401)["detail"], "the Authorization header is longer than 8192 bytes");
        expected_reasons.push("the Authorization header is longer than 8192 bytes".to_owned());
        assert_unchanged(&app, &original).await;
        assert_eq!(app.get_json("/api/v1/recognition-items/RI-CON-002").await, item_before);

        // Every refusal is in the audit log, in order, with no actor and status 401.
        let admin = Signer::Tianjin.token(&["admin"]);
        let log = app.write(Method::GET, "/api/v1/audit?limit=500", Some(&admin), None, None).await.json();
        let records = log["items"].as_array().unwrap();
        assert_eq!(records.len(), expected_reasons.len());
        for (record, reason) in records.iter().zip(&expected_reasons) {
            assert_eq!(record["outcome"], "refused");
            assert_eq!(record["status"], 401);
            assert_eq!(record["issuer"], Value::Null);
            assert_eq!(record["region"], Value::Null);
            assert_eq!(record["action"], "edit_local_part");
            assert_eq!(record["entry_code"], "RI-CON-002");
            assert_eq!(record["target_region"], "TJ");
            assert_eq!(record["before"], Value::Null);
            assert_eq!(record["reason"].as_str().unwrap(), reason);
        }
    }

    async fn each_issuer_and_key_source_authenticates_its_own_region(app) {
        for (signer, path, patch) in [
            (Signer::Beijing, "/api/v1/recognition-items/RI-CON-002/local-parts/BJ", json!({"contact": "010-11112222"})),
            (Signer::Tianjin, TJ_SIDE, json!({"contact": "022-11112222"})),
            (Signer::Hebei, "/api/v1/recognition-items/RI-CON-002/local-parts/HE", json!({"contact": "0311-11112222"})),
        ] {
            let tag = app.get(path).await.header("etag").unwrap();
            let response = app.patch(path, &signer.token(&["editor"]), &tag, &patch).await;
            assert_eq!(response.status, StatusCode::OK, "{signer:?}: {}", String::from_utf8_lossy(&response.body));
            assert_eq!(response.json()["contact"], patch["contact"], "{signer:?}");
        }
        // `typ` may be at+jwt or absent, `aud` a one-element array, `nbf` 10 s ahead.
        let tj = Signer::Tianjin;
        let mut at_jwt = tj.header();
        at_jwt["typ"] = json!("at+jwt");
        let mut untyped = tj.header();
        untyped.as_object_mut().unwrap().remove("typ");
        let mut listed_aud = tj.claims(&["editor"]);
        listed_aud["aud"] = json!(["jjj-registry"]);
        let mut soon = tj.claims(&["editor"]);
        soon["nbf"] = json!(chrono::Utc::now().timestamp() + 10);
        for (case, token) in [
            ("typ at+jwt", sign(&at_jwt, &tj.claims(&["editor"]), tj)),
            ("no typ", sign(&untyped, &tj.claims(&["editor"]), tj)),
            ("aud as a one-element array", sign(&tj.header(), &listed_aud, tj)),
            ("nbf within the leeway", sign(&tj.header(), &soon, tj)),
        ] {
            let tag = app.get(TJ_SIDE).await.header("etag").unwrap();
            let response = app.patch(TJ_SIDE, &token, &tag, &json!({"notes": case})).await;
            assert_eq!(response.status, StatusCode::OK, "{case}: {}", String::from_utf8_lossy(&response.body));
        }
        // A token expired 10 s ago is inside the 30 s leeway; a development token works
        // for the region it names.
        let path = "/api/v1/recognition-items/RI-CON-003/local-parts/TJ";
        let tag = app.get(path).await.header("etag").unwrap();
        let recent = with_claim(Signer::Tianjin, "exp", json!(chrono::Utc::now().timestamp() - 10));
        let response = app.patch(path, &recent, &tag, &json!({"notes": "within leeway"})).await;
        assert_eq!(response.status, StatusCode::OK, "{}", String::from_utf8_lossy(&response.body));
        let tag = response.header("etag").unwrap();
        let response = app.patch(path, &dev_token("TJ", &["editor"]), &tag, &json!({"notes": "dev"})).await;
        assert_eq!(response.status, StatusCode::OK, "{}", String::from_utf8_lossy(&response.body));
        assert_eq!(response.json()["notes"], "dev");
    }

    async fn a_valid_token_without_the_right_is_refused_with_403(app) {
        let original = app.get(TJ_SIDE).await.json();
        for (case, token, detail) in [
            ("Beijing editor on Tianjin's side", Signer::Beijing.token(&["editor", "approver", "admin"]), "a token of BJ cannot change TJ's side; each region edits only its own"),
            ("Tianjin approver without editor", Signer::Tianjin.token(&["approver"]), "this action needs the `editor` role; the token grants `approver`"),
            ("Tianjin token with no roles", Signer::Tianjin.token(&[]), "this action needs the `editor` role; the token grants no role"),
            ("dev token of another region", dev_token("BJ", &["editor"]), "a token of BJ cannot change TJ's side; each region edits only its own"),
        ] {
            let response = patch_with(&app, &[format!("Bearer {token}")]).await;
            let problem = response.problem(403);
            assert_eq!(problem["detail"], detail, "{case}");
            assert_eq!(response.header("www-authenticate"), None, "{case}");
            assert_unchanged(&app, &original).await;
        }
        let admin = Signer::Tianjin.token(&["admin"]);
        let log = app.write(Method::GET, "/api/v1/audit", Some(&admin), None, None).await.json();
        let records = log["items"].as_array().unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records[0]["region"], "BJ");
        assert_eq!(records[0]["issuer"], "https://id.bj.example");
        assert_eq!(records[0]["subject"], "tester@BJ");
        assert_eq!(records[0]["roles"], json!(["editor", "approver", "admin"]));
        assert_eq!(records[0]["status"], 403);
        assert_eq!(records[1]["region"], "TJ");
        assert_eq!(records[1]["roles"], json!(["approver"]));
        assert_eq!(records[3]["issuer"], "urn:jjj-registry:dev");
    }
}
