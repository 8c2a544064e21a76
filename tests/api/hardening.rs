//! Hostile or careless requests, as an attacker or a misconfigured client sends them:
//! each gets a clear problem+json answer and changes nothing.

use awc::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::tokens::Signer;

#[actix_rt::test]
async fn a_query_that_is_not_utf8_once_decoded_is_refused_not_guessed_at() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in [
        "/api/v1/recognition-status?item=%FF%FE&issued_in=HE&used_in=TJ",
        "/api/v1/recognition-items?q=%C3",
        "/api/v1/changes?after=0&%FF=1",
    ] {
        let refused = app.get(path).await.problem_naming("query");
        assert_eq!(
            refused["detail"], "`query`: the query string is not UTF-8 once percent-decoded",
            "{path}"
        );
    }
    // Percent-encoded UTF-8 (here 冀建-RY-056) is fine.
    let local = app
        .get("/api/v1/recognition-status?local_code=%E5%86%80%E5%BB%BA-RY-056&issued_in=HE&used_in=BJ")
        .await;
    assert_eq!(local.status, StatusCode::OK);
}

#[actix_rt::test]
async fn a_compressed_or_encoded_body_is_refused_with_415() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let batch = json!({"questions": [{"item": "RI-CON-002", "issued_in": "HE", "used_in": "TJ"}]});
    for encoding in ["gzip", "xyz", "br, gzip"] {
        let refused = app
            .request(
                Method::POST,
                "/api/v1/recognition-status/batch",
                &[("content-encoding", encoding)],
                Some(("application/json", batch.to_string().into_bytes())),
            )
            .await
            .problem(415);
        assert_eq!(
            refused["detail"],
            format!("Content-Encoding `{encoding}` is not supported; send the body uncompressed."),
        );
    }
    let token = Signer::Tianjin.token(&["editor"]);
    let side = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
    let bearer = format!("Bearer {token}");
    let write = app
        .request(
            Method::PATCH,
            side,
            &[
                ("authorization", &bearer),
                ("if-match", "\"RI-CON-002.TJ.1\""),
                ("content-encoding", "gzip"),
            ],
            Some((
                "application/merge-patch+json",
                br#"{"contact": "x"}"#.to_vec(),
            )),
        )
        .await;
    assert_eq!(write.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(app.get_json(side).await["version"], 1, "nothing changed");
    // `identity` is no encoding at all.
    let plain = app
        .request(
            Method::POST,
            "/api/v1/recognition-status/batch",
            &[("content-encoding", "identity")],
            Some(("application/json", batch.to_string().into_bytes())),
        )
        .await;
    assert_eq!(plain.status, StatusCode::OK);
}

#[actix_rt::test]
async fn the_batch_endpoint_refuses_query_parameters_like_every_other() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let refused = app
        .request(
            Method::POST,
            "/api/v1/recognition-status/batch?on=2025-01-01",
            &[],
            Some(("application/json", br#"{"questions": []}"#.to_vec())),
        )
        .await;
    assert_eq!(refused.problem(400)["status"], 400);
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("unknown field `on`"),
        "{}",
        refused.json()
    );
}

#[actix_rt::test]
async fn every_answer_forbids_sniffing_and_the_docs_page_cannot_be_framed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for path in [
        "/healthz",
        "/api/v1/regions",
        "/api/v1/nothing-here",
        "/openapi.json",
        "/docs/",
    ] {
        let response = app.get(path).await;
        assert_eq!(
            response.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.header("x-frame-options").as_deref(), Some("DENY"));
    let policy = docs
        .header("content-security-policy")
        .expect("a CSP on /docs");
    assert!(
        policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'self'"),
        "{policy}"
    );
}

/// Sends `head` and the first `sent` bytes of a body it declares longer, then waits for
/// an answer; returns the status line and how long it took.
fn slow_body(port: u16, head: &str, sent: &[u8]) -> (String, std::time::Duration) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let started = std::time::Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(sent).unwrap();
    let mut answer = Vec::new();
    // The server answers and closes the connection; a timeout here is the bug.
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    (
        text.lines().next().unwrap_or_default().to_owned(),
        started.elapsed(),
    )
}

#[actix_rt::test]
async fn a_body_that_never_finishes_is_answered_408_and_its_connection_closed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let token = Signer::Tianjin.token(&["editor"]);
    let cases = [
        "POST /api/v1/recognition-status/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n".to_owned(),
        format!("PATCH /api/v1/recognition-items/RI-CON-002/local-parts/TJ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nIf-Match: \"RI-CON-002.TJ.1\"\r\nContent-Type: application/merge-patch+json\r\nContent-Length: 100\r\n\r\n"),
    ];
    for head in cases {
        let (status, took) =
            actix_web::rt::task::spawn_blocking(move || slow_body(port, &head, b"{"))
                .await
                .unwrap();
        // REGISTRY_BODY_TIMEOUT_MS is 3000 in the test settings.
        assert_eq!(status, "HTTP/1.1 408 Request Timeout");
        assert!(
            took >= std::time::Duration::from_millis(2900)
                && took < std::time::Duration::from_secs(8),
            "{took:?}"
        );
    }
    assert_eq!(
        app.get_json("/api/v1/recognition-items/RI-CON-002/local-parts/TJ")
            .await["version"],
        1
    );
    // The refused write is in the audit log as a refusal, with its status.
    let log = crate::editing::audit_log(&app).await;
    assert_eq!(log.last().unwrap()["status"], 408);
    assert_eq!(log.last().unwrap()["outcome"], "refused");
}

#[actix_rt::test]
async fn a_batch_question_naming_a_field_twice_is_refused_not_last_wins() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let body = r#"{"questions": [
        {"item": "RI-CON-002", "item": "RI-CON-001", "issued_in": "HE", "used_in": "TJ"},
        {"item": "RI-CON-002", "issued_in": "HE", "used_in": "TJ", "on": "2025-06-01"},
        {"item": "RI-\u0043ON-002", "issued_in": "HE", "used_in": "TJ", "on": "2025-06-01"}
    ]}"#;
    let answer = app
        .request(
            Method::POST,
            "/api/v1/recognition-status/batch",
            &[],
            Some(("application/json", body.as_bytes().to_vec())),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let results = answer.json()["results"].as_array().unwrap().clone();
    assert_eq!(results[0]["status"], 400);
    let detail = results[0]["problem"]["detail"].as_str().unwrap();
    assert!(detail.contains("duplicate field `item`"), "{detail}");
    // The others are answered, escapes in a code included.
    assert_eq!(results[1]["status"], 200);
    assert_eq!(results[2]["answer"], results[1]["answer"]);
}
