//! Region-scoped editing: a region changes its own side of an entry, only against the
//! version it read; every bad request is refused with a clear problem and changes
//! nothing; every attempt is in a hash chain that detects tampering.

use std::time::Duration;

use awc::http::{Method, StatusCode};
use diesel::RunQueryDsl;
use jjj_registry::storage::{Database, StorageError};
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_backends};
use crate::tokens::Signer;

const TJ_SIDE: &str = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
const HE_SERVICE_SIDE: &str = "/api/v1/standard-items/SS-HR-002/local-parts/HE";

fn tianjin_editor() -> String {
    Signer::Tianjin.token(&["editor"])
}

/// Every audit record (up to 500), as an admin reads them.
pub(crate) async fn audit_log(app: &TestApp) -> Vec<Value> {
    let admin = Signer::Beijing.token(&["admin"]);
    let page = app
        .write(
            Method::GET,
            "/api/v1/audit?limit=500",
            Some(&admin),
            None,
            None,
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&page.body)
    );
    page.json()["items"].as_array().unwrap().clone()
}

async fn verify(app: &TestApp) -> Value {
    let admin = Signer::Hebei.token(&["admin"]);
    let answer = app
        .write(
            Method::GET,
            "/api/v1/audit/verify",
            Some(&admin),
            None,
            None,
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    answer.json()
}

fn json_body(value: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", value.to_string().into_bytes()))
}

both_backends! {
    async fn a_region_edits_its_own_side_and_every_read_sees_it_at_once(app) {
        let before = app.get(TJ_SIDE).await;
        assert_eq!(before.status, StatusCode::OK);
        assert_eq!(before.header("etag").as_deref(), Some("\"RI-CON-002.TJ.1\""));
        assert_eq!(before.header("cache-control").as_deref(), Some("no-cache"));
        let original = before.json();
        let item_before = app.get_json("/api/v1/recognition-items/RI-CON-002").await;
        let sample_tj = item_before["local_parts"].as_array().unwrap().iter().find(|p| p["region"] == "TJ").unwrap().clone();
        let mut expected = sample_tj.clone();
        expected["item_code"] = json!("RI-CON-002");
        expected["version"] = json!(1);
        assert_eq!(original, expected, "the local part as the item shows it, with its version");

        let response = app.patch(TJ_SIDE, &tianjin_editor(), "\"RI-CON-002.TJ.1\"", &json!({
            "accepting_department": "天津市政务服务办公室",
            "contact": null,
        })).await;
        assert_eq!(response.status, StatusCode::OK, "{}", String::from_utf8_lossy(&response.body));
        assert_eq!(response.header("etag").as_deref(), Some("\"RI-CON-002.TJ.2\""));
        let mut changed = expected.clone();
        changed["version"] = json!(2);
        changed["accepting_department"] = json!("天津市政务服务办公室");
        changed["contact"] = Value::Null;
        assert_eq!(response.json(), changed);
        assert_eq!(app.get(TJ_SIDE).await.json(), changed);

        // The entry has a new version, its other regions' sides are untouched, and the
        // status answer sends people to the new department at once.
        let item_after = app.get_json("/api/v1/recognition-items/RI-CON-002").await;
        assert_eq!(item_after["version"], item_before["version"].as_i64().unwrap() + 1);
        for (old, new) in item_before["local_parts"].as_array().unwrap().iter().zip(item_after["local_parts"].as_array().unwrap()) {
            if old["region"] == "TJ" {
                let mut part = changed.clone();
                part.as_object_mut().unwrap().remove("item_code");
                part.as_object_mut().unwrap().remove("version");
                assert_eq!(new, &part);
            } else {
                assert_eq!(new, old);
            }
        }
        let status = app.get_json("/api/v1/recognition-status?item=RI-CON-002&issued_in=HE&used_in=TJ&on=2025-06-01").await;
        assert_eq!(status["accepting_department"], "天津市政务服务办公室");

        // PUT replaces the whole side: what it leaves out becomes empty.
        let response = app.write(Method::PUT, TJ_SIDE, Some(&tianjin_editor()), Some("\"RI-CON-002.TJ.2\""), json_body(&json!({
            "local_code": "TJ-ZJW-2021-044",
            "accepting_department": "天津市住房和城乡建设委员会",
        }))).await;
        assert_eq!(response.status, StatusCode::OK, "{}", String::from_utf8_lossy(&response.body));
        assert_eq!(response.json(), json!({
            "item_code": "RI-CON-002", "version": 3, "region": "TJ",
            "local_code": "TJ-ZJW-2021-044", "issuing_department": null,
            "accepting_department": "天津市住房和城乡建设委员会", "contact": null,
            "online_url": null, "notes": null, "verification": null,
        }));

        // The audit log holds both changes with their before and after.
        let log = audit_log(&app).await;
        assert_eq!(log.len(), 2);
        assert_eq!(log[0]["outcome"], "accepted");
        assert_eq!(log[0]["status"], 200);
        assert_eq!(log[0]["issuer"], "https://id.tj.example");
        assert_eq!(log[0]["region"], "TJ");
        assert_eq!(log[0]["entry_kind"], "recognition_item");
        assert_eq!(serde_json::from_str::<Value>(log[0]["before"].as_str().unwrap()).unwrap(), sample_tj);
        assert_eq!(serde_json::from_str::<Value>(log[0]["after"].as_str().unwrap()).unwrap()["accepting_department"], "天津市政务服务办公室");
        assert_eq!(log[1]["prev_hash"], log[0]["hash"]);
        assert_eq!(verify(&app).await, json!({"intact": true, "records": 2, "first_broken": null}));
    }

    async fn service_item_sides_are_edited_the_same_way(app) {
        let before = app.get(HE_SERVICE_SIDE).await;
        assert_eq!(before.status, StatusCode::OK);
        let tag = before.header("etag").unwrap();
        assert_eq!(tag, "\"SS-HR-002.HE.1\"");
        let hebei = Signer::Hebei.token(&["editor"]);
        let response = app.patch(HE_SERVICE_SIDE, &hebei, &tag, &json!({
            "channels": ["self_service_terminal"],
            "terminal_identity": ["social_security_card", "electronic_social_security_code"],
            "time_limit_days": 3,
        })).await;
        assert_eq!(response.status, StatusCode::OK, "{}", String::from_utf8_lossy(&response.body));
        let mut expected = before.json();
        expected["version"] = json!(2);
        expected["channels"] = json!(["self_service_terminal"]);
        expected["terminal_identity"] = json!(["social_security_card", "electronic_social_security_code"]);
        expected["time_limit_days"] = json!(3);
        assert_eq!(response.json(), expected);
        // The catalog's lists and deviation report follow at once.
        let listed = app.get_json("/api/v1/standard-items?channel=self_service_terminal&region=HE&limit=200").await;
        assert!(listed["items"].as_array().unwrap().iter().any(|i| i["code"] == "SS-HR-002"), "{listed}");
        let deviations = app.get_json("/api/v1/standard-items/SS-HR-002/deviations").await;
        let he = deviations["regions"].as_array().unwrap().iter().find(|r| r["region"] == "HE").unwrap();
        assert_eq!(he["differences"].as_array().unwrap().iter().find(|d| d["aspect"] == "time_limit").unwrap()["local_days"], 3, "{he}");
        // A rule of the part itself: self-service terminals need the identity credentials.
        let tag = response.header("etag").unwrap();
        let refused = app.patch(HE_SERVICE_SIDE, &hebei, &tag, &json!({"terminal_identity": []})).await;
        let problem = refused.problem_naming("body");
        assert_eq!(problem["detail"], "The change is invalid: `body`: terminal_identity is required with the self_service_terminal channel, and only with it");
        assert_eq!(app.get(HE_SERVICE_SIDE).await.json(), expected);
    }

    async fn writes_need_the_current_version_and_stale_ones_change_nothing(app) {
        let token = tianjin_editor();
        let original = app.get(TJ_SIDE).await.json();
        let patch = json!({"contact": "022-00000000"});
        let body = Some(("application/merge-patch+json", patch.to_string().into_bytes()));
        let missing = app.write(Method::PATCH, TJ_SIDE, Some(&token), None, body.clone()).await;
        assert_eq!(missing.problem(428)["detail"], "send If-Match with the ETag of the local part you read; a region's side is changed only against the version it was based on");
        let star = app.write(Method::PATCH, TJ_SIDE, Some(&token), Some("*"), body.clone()).await;
        assert_eq!(star.problem(428)["detail"], "If-Match must name the ETag you read, not `*`");
        let other_entry = app.write(Method::PATCH, TJ_SIDE, Some(&token), Some("\"RI-CON-003.TJ.1\""), body.clone()).await;
        assert_eq!(other_entry.problem(412)["detail"], "If-Match \"RI-CON-003.TJ.1\" is not the current version of TJ's side of RI-CON-002 (now \"RI-CON-002.TJ.1\"); read it again and reapply the change");
        assert_eq!(app.get(TJ_SIDE).await.json(), original);

        let first = app.patch(TJ_SIDE, &token, "\"RI-CON-002.TJ.1\"", &patch).await;
        assert_eq!(first.status, StatusCode::OK);
        let stale = app.patch(TJ_SIDE, &token, "\"RI-CON-002.TJ.1\"", &json!({"contact": "022-99999999"})).await;
        assert_eq!(stale.problem(412)["type"], "urn:jjj-registry:problem:precondition-failed");
        assert_eq!(app.get(TJ_SIDE).await.json()["contact"], "022-00000000");
        // A body that is wrong whatever the version is refused as such, not as stale.
        let stale_and_invalid = app.patch(TJ_SIDE, &token, "\"RI-CON-002.TJ.1\"", &json!({"contacts": "x"})).await;
        assert_eq!(stale_and_invalid.problem_naming("contacts")["status"], 400);
        // Two If-Match lines are one list: the current tag on the second line counts.
        let two_lines = app.request(Method::PATCH, TJ_SIDE, &[
            ("authorization", &format!("Bearer {token}")),
            ("if-match", "\"RI-CON-002.TJ.1\""),
            ("if-match", "\"RI-CON-002.TJ.2\""),
        ], Some(("application/merge-patch+json", br#"{"contact": "022-11111111"}"#.to_vec()))).await;
        assert_eq!(two_lines.status, StatusCode::OK, "{}", String::from_utf8_lossy(&two_lines.body));
        // A list of tags matches when one of them is current.
        let listed = app.patch(TJ_SIDE, &token, "\"RI-CON-002.TJ.1\", \"RI-CON-002.TJ.3\"", &json!({"contact": "022-22222222"})).await;
        assert_eq!(listed.status, StatusCode::OK);
        let statuses: Vec<u64> = audit_log(&app).await.iter().map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, vec![428, 428, 412, 200, 412, 400, 200, 200]);
    }

    async fn two_concurrent_writes_on_one_version_exactly_one_wins(app) {
        let token = tianjin_editor();
        let tag = "\"RI-CON-002.TJ.1\"";
        for round in 0..3 {
            let current = app.get(TJ_SIDE).await.header("etag").unwrap();
            let tag = if round == 0 { tag.to_owned() } else { current };
            let a = json!({"contact": format!("A{round}")});
            let b = json!({"contact": format!("B{round}")});
            let (left, right) = futures_join(app.patch(TJ_SIDE, &token, &tag, &a), app.patch(TJ_SIDE, &token, &tag, &b)).await;
            let mut statuses = [left.status.as_u16(), right.status.as_u16()];
            statuses.sort();
            assert_eq!(statuses, [200, 412], "round {round}");
            let winner = if left.status == StatusCode::OK { &a } else { &b };
            assert_eq!(app.get(TJ_SIDE).await.json()["contact"], winner["contact"]);
        }
        assert_eq!(app.get(TJ_SIDE).await.json()["version"], 4);
        assert_eq!(verify(&app).await["intact"], true);
    }

    async fn bad_bodies_and_routes_are_refused_clearly_and_change_nothing(app) {
        let token = tianjin_editor();
        let tag = "\"RI-CON-002.TJ.1\"";
        let original = app.get(TJ_SIDE).await.json();
        let send = |method: Method, content_type: &'static str, body: Vec<u8>| {
            let token = token.clone();
            let app = &app;
            async move { app.write(method, TJ_SIDE, Some(&token), Some(tag), Some((content_type, body))).await }
        };
        let malformed = send(Method::PATCH, "application/merge-patch+json", b"{\"contact\": ".to_vec()).await;
        assert!(malformed.problem(400)["detail"].as_str().unwrap().starts_with("The JSON body is invalid: EOF while parsing"));
        let unknown = send(Method::PATCH, "application/merge-patch+json", br#"{"contacts": "x"}"#.to_vec()).await;
        assert!(unknown.problem_naming("contacts")["detail"].as_str().unwrap().starts_with("The change is invalid: `contacts`: unknown field `contacts`"));
        let owned = send(Method::PUT, "application/json", br#"{"region": "BJ", "version": 7, "contact": "x"}"#.to_vec()).await;
        assert_eq!(owned.problem(400)["detail"], "The change is invalid: `region`: is set by the server and cannot be changed; `version`: is set by the server and cannot be changed");
        let wrong_type = send(Method::PATCH, "application/merge-patch+json", br#"{"contact": 5}"#.to_vec()).await;
        assert!(wrong_type.problem(400)["detail"].as_str().unwrap().contains("invalid type: integer `5`"));
        let not_object = send(Method::PUT, "application/json", b"[]".to_vec()).await;
        assert_eq!(not_object.problem(400)["detail"], "The change is invalid: `body`: the body must be a JSON object");
        let rule = send(Method::PATCH, "application/merge-patch+json", br#"{"verification": {"method": "online_lookup", "lookup_url": "http://plain.example"}}"#.to_vec()).await;
        assert_eq!(rule.problem(400)["detail"], "The change is invalid: `body`: an https lookup_url goes with online_lookup, and only with it");
        let long = send(Method::PATCH, "application/merge-patch+json", json!({"notes": "注".repeat(2001)}).to_string().into_bytes()).await;
        assert_eq!(long.problem(400)["detail"], "The change is invalid: `notes`: is longer than 2000 characters");
        let text = send(Method::PATCH, "text/plain", br#"{"contact": "x"}"#.to_vec()).await;
        assert_eq!(text.problem(415)["detail"], "The body must be sent as `Content-Type: application/merge-patch+json` or `application/json`.");
        let put_patch = send(Method::PUT, "application/merge-patch+json", br#"{"contact": "x"}"#.to_vec()).await;
        assert_eq!(put_patch.problem(415)["detail"], "The body must be sent as `Content-Type: application/json`.");
        let oversized = send(Method::PATCH, "application/merge-patch+json", json!({"notes": "x".repeat(70 * 1024)}).to_string().into_bytes()).await;
        assert_eq!(oversized.problem(413)["detail"], "The body is larger than the limit of 65536 bytes.");
        // A local code another recognition item already uses in Tianjin.
        let taken = app.get_json("/api/v1/recognition-items/RI-CON-003/local-parts/TJ").await["local_code"].as_str().unwrap().to_owned();
        let conflict = send(Method::PATCH, "application/merge-patch+json", json!({"local_code": taken}).to_string().into_bytes()).await;
        assert_eq!(conflict.problem(409)["detail"], "another entry already uses this local code in TJ");
        assert_eq!(app.get(TJ_SIDE).await.json(), original);

        // Routes: unknown entry, a region that takes no part, a malformed region, and
        // Beijing's side reached with a lower-case code, all without changing anything.
        let patch = json!({"contact": "x"});
        let unknown_item = app.patch("/api/v1/recognition-items/RI-XXX-999/local-parts/TJ", &token, tag, &patch).await;
        assert_eq!(unknown_item.problem(404)["detail"], "No recognition item `RI-XXX-999` has a local part for TJ.");
        let bad_region = app.patch("/api/v1/recognition-items/RI-CON-002/local-parts/T!", &token, tag, &patch).await;
        assert_eq!(bad_region.problem_naming("region")["status"], 400);
        let beijing = app.patch("/api/v1/recognition-items/RI-CON-002/local-parts/bj", &token, "\"RI-CON-002.BJ.1\"", &json!({"region": "TJ"})).await;
        assert_eq!(beijing.problem(403)["detail"], "a token of TJ cannot change BJ's side; each region edits only its own");
        let beijing_service = app.patch("/api/v1/standard-items/SS-HR-002/local-parts/BJ", &token, "\"SS-HR-002.BJ.1\"", &patch).await;
        assert_eq!(beijing_service.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get_json("/api/v1/recognition-items/RI-CON-002/local-parts/BJ").await["version"], 1);
        assert_eq!(app.get_json("/api/v1/standard-items/SS-HR-002/local-parts/BJ").await["version"], 1);
        let unknown_param = app.write(Method::PATCH, &format!("{TJ_SIDE}?force=true"), Some(&token), Some(tag), Some(("application/merge-patch+json", patch.to_string().into_bytes()))).await;
        assert_eq!(unknown_param.problem_naming("query")["detail"], "`query`: a write takes no query parameters, got `force=true`");

        // Text a client sends that a database cannot store (NUL) does not keep the attempt
        // out of the log.
        let nul = app.patch("/api/v1/recognition-items/%00RI/local-parts/TJ", &token, tag, &patch).await;
        assert_eq!(nul.problem_naming("code")["detail"], "`code`: an entry code is 1 to 64 characters without control characters");
        assert_eq!(app.get("/api/v1/recognition-items/%00RI/local-parts/TJ").await.problem_naming("code")["status"], 400);

        let log = audit_log(&app).await;
        let statuses: Vec<u64> = log.iter().map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, vec![400, 400, 400, 400, 400, 400, 400, 415, 415, 413, 409, 404, 400, 403, 403, 400, 400]);
        assert_eq!(log[16]["entry_code"], "\u{FFFD}RI");
        // The attempt on `bj` is recorded as on BJ, so Beijing finds it in its log.
        assert_eq!(log[13]["target_region"], "BJ");
        assert_eq!(log[12]["target_region"], "T!");
        assert!(log.iter().all(|r| r["outcome"] == "refused" && r["after"].is_null()));
        assert_eq!(log[10]["reason"], "another entry already uses this local code in TJ");
        assert_eq!(verify(&app).await, json!({"intact": true, "records": 17, "first_broken": null}));
    }

    async fn the_audit_log_is_read_by_region_and_verified_by_admins(app) {
        let tj = tianjin_editor();
        assert_eq!(app.patch(TJ_SIDE, &tj, "\"RI-CON-002.TJ.1\"", &json!({"contact": "1"})).await.status, StatusCode::OK);
        let he = Signer::Hebei.token(&["editor"]);
        assert_eq!(app.patch(HE_SERVICE_SIDE, &he, "\"SS-HR-002.HE.1\"", &json!({"time_limit_days": 4})).await.status, StatusCode::OK);
        assert_eq!(app.patch(TJ_SIDE, &he, "\"RI-CON-002.TJ.2\"", &json!({"contact": "2"})).await.status, StatusCode::FORBIDDEN);

        let seen_by = |token: String| {
            let app = &app;
            async move {
                let page = app.write(Method::GET, "/api/v1/audit", Some(&token), None, None).await;
                assert_eq!(page.status, StatusCode::OK);
                page.json()["items"].as_array().unwrap().iter().map(|r| r["seq"].as_i64().unwrap()).collect::<Vec<_>>()
            }
        };
        assert_eq!(seen_by(tj.clone()).await, vec![1, 3], "Tianjin: its own edit and the attempt on its side");
        assert_eq!(seen_by(he.clone()).await, vec![2, 3], "Hebei: its own actions");
        assert_eq!(seen_by(Signer::Beijing.token(&["editor"])).await, Vec::<i64>::new());
        assert_eq!(seen_by(Signer::Beijing.token(&["admin"])).await, vec![1, 2, 3]);
        let page = app.write(Method::GET, "/api/v1/audit?after=1&limit=1", Some(&Signer::Beijing.token(&["admin"])), None, None).await.json();
        assert_eq!(page["next_after"], 2);
        assert_eq!(page["items"][0]["seq"], 2);
        assert_eq!(app.get("/api/v1/audit").await.problem(401)["type"], "urn:jjj-registry:problem:unauthorized");
        assert_eq!(app.write(Method::GET, "/api/v1/audit?limit=0", Some(&tj), None, None).await.problem_naming("limit")["status"], 400);
        let not_admin = app.write(Method::GET, "/api/v1/audit/verify", Some(&tj), None, None).await;
        assert_eq!(not_admin.problem(403)["detail"], "this action needs the `admin` role; the token grants `editor`");
        assert_eq!(verify(&app).await, json!({"intact": true, "records": 3, "first_broken": null}));

        // Tampering with a stored record, adding one behind the head's back, or removing
        // the newest, is detected.
        let database = Database::open(&app.db.url, 1, Duration::from_secs(5)).unwrap();
        database.run_here(|conn| diesel::sql_query(
            "INSERT INTO audit_log (seq, recorded_at, request_id, issuer, subject, region_code, roles, action, entry_kind, entry_code, target_region, outcome, status, reason, before_state, after_state, prev_hash, hash) \
             SELECT 4, recorded_at, request_id, issuer, subject, region_code, roles, action, entry_kind, entry_code, target_region, outcome, status, reason, before_state, after_state, hash, hash FROM audit_log WHERE seq = 3"
        ).execute(conn).map_err(StorageError::from)).unwrap();
        let extra = verify(&app).await;
        assert_eq!(extra["intact"], false);
        assert_eq!(extra["first_broken"]["seq"], 4, "{extra}");
        database.run_here(|conn| diesel::sql_query("DELETE FROM audit_log WHERE seq = 4").execute(conn).map_err(StorageError::from)).unwrap();
        assert_eq!(verify(&app).await["intact"], true);
        database.run_here(|conn| diesel::sql_query("UPDATE audit_log SET reason = 'nothing happened' WHERE seq = 2").execute(conn).map_err(StorageError::from)).unwrap();
        assert_eq!(verify(&app).await, json!({"intact": false, "records": 3, "first_broken": {"seq": 2, "problem": "its content does not match its hash: the record was altered"}}));
        database.run_here(|conn| diesel::sql_query("DELETE FROM audit_log WHERE seq >= 2").execute(conn).map_err(StorageError::from)).unwrap();
        assert_eq!(verify(&app).await, json!({"intact": false, "records": 3, "first_broken": {"seq": 3, "problem": "the log ends at record 1 but its head names record 3: records were added or removed without the head, or the head was altered"}}));
    }
}

/// Runs two futures concurrently on the test's runtime.
pub(crate) async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let mut left = None;
    let mut right = None;
    std::future::poll_fn(|cx| {
        if left.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            left = Some(v);
        }
        if right.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            right = Some(v);
        }
        if left.is_some() && right.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (left.unwrap(), right.unwrap())
}
