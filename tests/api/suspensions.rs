//! The unilateral act: an accepting region's approver suspends its own acceptance at
//! once, every reader sees it, nothing any other region agreed to changes, and only that
//! region can lift it.

use awc::http::{Method, StatusCode};
use chrono::{Days, NaiveDate, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_backends};
use crate::tokens::{Signer, sign};

const ITEM: &str = "/api/v1/recognition-items/RI-CON-002";
const SUSPENSIONS: &str = "/api/v1/recognition-items/RI-CON-002/suspensions";

fn today() -> NaiveDate {
    (Utc::now() + TimeDelta::hours(8)).date_naive()
}

fn body(value: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", value.to_string().into_bytes()))
}

async fn status(app: &TestApp, issued_in: &str, used_in: &str, on: NaiveDate) -> Value {
    app.get_json(&format!(
        "/api/v1/recognition-status?item=RI-CON-002&issued_in={issued_in}&used_in={used_in}&on={on}"
    ))
    .await
}

async fn suspend(app: &TestApp, signer: Signer, notice: &Value) -> crate::helpers::TestResponse {
    app.write(
        Method::POST,
        SUSPENSIONS,
        Some(&signer.token(&["approver"])),
        None,
        body(notice),
    )
    .await
}

both_backends! {
    async fn a_region_suspends_its_own_acceptance_at_once_and_lifts_it(app) {
        let before = app.get(ITEM).await;
        let item = before.json();
        let yesterday = today() - Days::new(1);
        assert_eq!(status(&app, "HE", "TJ", today()).await["decision"], "recognised");
        let response = suspend(&app, Signer::Tianjin, &json!({"used_in": "TJ", "issued_in": "HE", "reason": "电子证照核验接口升级维护"})).await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&response.body));
        assert_eq!(response.header("location").as_deref(), Some("/api/v1/recognition-items/RI-CON-002/suspensions/1"));
        let mut suspension = response.json();
        assert!(suspension["recorded_at"].is_string());
        let recorded_at = suspension["recorded_at"].clone();
        assert_eq!(suspension, json!({
            "id": 1, "used_in": "TJ", "issued_in": "HE", "reason": "电子证照核验接口升级维护",
            "effective_from": today().to_string(), "suspended_by": "tester@TJ", "recorded_at": recorded_at,
            "lifted_on": null, "lift_reason": null, "lifted_by": null,
        }));
        assert_eq!(app.get_json(&format!("{SUSPENSIONS}/1")).await, suspension);

        // Every reader sees it at once, in the answers for Tianjin and nowhere else.
        let answer = status(&app, "HE", "TJ", today()).await;
        assert_eq!(answer["decision"], "suspended");
        assert_eq!(answer["recognised"], false);
        assert_eq!(answer["suspension"], suspension);
        assert_eq!(answer["item_version"], 2);
        assert_eq!(answer["explanation"], "The accepting region has suspended its acceptance on this date (see `suspension`).");
        assert_eq!(answer["arrangement_status"], "active", "the arrangement the regions agreed stands");
        assert_eq!(status(&app, "HE", "TJ", yesterday).await["decision"], "recognised", "past answers stand");
        assert_eq!(status(&app, "BJ", "TJ", today()).await["decision"], "recognised", "only Hebei's credentials");
        assert_eq!(status(&app, "HE", "BJ", today()).await["decision"], "recognised", "only in Tianjin");
        let after = app.get(ITEM).await;
        assert_ne!(after.header("etag"), before.header("etag"));
        let mut expected = item.clone();
        expected["version"] = json!(2);
        expected["suspensions"] = json!([suspension]);
        let mut got = after.json();
        got["updated_at"] = item["updated_at"].clone();
        assert_eq!(got, expected, "nothing else about the item changed");

        let lifted = app.write(Method::POST, &format!("{SUSPENSIONS}/1/lifting"), Some(&Signer::Tianjin.token(&["approver"])), None, body(&json!({"reason": "核验接口已恢复"}))).await;
        assert_eq!(lifted.status, StatusCode::OK, "{}", String::from_utf8_lossy(&lifted.body));
        suspension["lifted_on"] = json!(today().to_string());
        suspension["lift_reason"] = json!("核验接口已恢复");
        suspension["lifted_by"] = json!("tester@TJ");
        assert_eq!(lifted.json(), suspension);
        assert_eq!(status(&app, "HE", "TJ", today()).await["decision"], "recognised", "acceptance is back from the lifting day");
        assert_eq!(app.get_json(ITEM).await["version"], 3);
        assert_eq!(app.get_json(ITEM).await["suspensions"], json!([suspension]));

        // Announced ahead: in force from its day on, not before.
        let ahead = today() + Days::new(10);
        let announced = suspend(&app, Signer::Tianjin, &json!({"used_in": "TJ", "reason": "疫情防控，暂停受理", "effective_from": ahead.to_string()})).await;
        assert_eq!(announced.status, StatusCode::CREATED);
        assert_eq!(announced.json()["issued_in"], Value::Null);
        assert_eq!(status(&app, "HE", "TJ", ahead - Days::new(1)).await["decision"], "recognised");
        assert_eq!(status(&app, "HE", "TJ", ahead).await["decision"], "suspended");
        assert_eq!(status(&app, "BJ", "TJ", ahead).await["decision"], "suspended", "every issuing region");

        let log = app.write(Method::GET, "/api/v1/audit", Some(&Signer::Tianjin.token(&["editor"])), None, None).await.json();
        let records: Vec<(&str, &str, u64, &str)> = log["items"].as_array().unwrap().iter().map(|r| (r["action"].as_str().unwrap(), r["outcome"].as_str().unwrap(), r["status"].as_u64().unwrap(), r["target_region"].as_str().unwrap())).collect();
        assert_eq!(records, vec![("suspend_acceptance", "accepted", 201, "TJ"), ("lift_suspension", "accepted", 200, "TJ"), ("suspend_acceptance", "accepted", 201, "TJ")]);
        let hebei = app.write(Method::GET, "/api/v1/audit", Some(&Signer::Hebei.token(&["editor"])), None, None).await.json();
        assert_eq!(hebei["items"], json!([]), "Tianjin's own acts are Tianjin's record");
    }

    async fn only_the_accepting_regions_approver_suspends_or_lifts(app) {
        let item = app.get_json(ITEM).await;
        let notice = json!({"used_in": "TJ", "issued_in": "HE", "reason": "维护"});
        let approver = Signer::Tianjin.token(&["approver"]);
        let mut expired_claims = Signer::Tianjin.claims(&["approver"]);
        expired_claims["exp"] = json!(Utc::now().timestamp() - 3600);
        let expired = sign(&Signer::Tianjin.header(), &expired_claims, Signer::Tianjin);
        let forged = {
            let mut parts: Vec<String> = approver.split('.').map(str::to_owned).collect();
            parts[1] = crate::tokens::encode_part(&Signer::Tianjin.claims(&["approver", "admin"]));
            parts.join(".")
        };
        let yesterday = (today() - Days::new(1)).to_string();
        struct Case<'a> { path: &'a str, token: Option<String>, content_type: &'a str, body: Vec<u8>, status: u16, detail: String }
        let case = |path, token: Option<String>, body: Value, status, detail: &str| Case { path, token, content_type: "application/json", body: body.to_string().into_bytes(), status, detail: detail.to_owned() };
        let cases = vec![
            case(SUSPENSIONS, None, notice.clone(), 401, "this request needs a bearer token"),
            case(SUSPENSIONS, Some(expired), notice.clone(), 401, "expired"),
            case(SUSPENSIONS, Some(forged), notice.clone(), 401, "signature"),
            case(SUSPENSIONS, Some(Signer::Hebei.token(&["approver"])), notice.clone(), 403, "a token of HE cannot change TJ's side; each region edits only its own"),
            case(SUSPENSIONS, Some(Signer::Tianjin.token(&["editor"])), notice.clone(), 403, "this action needs the `approver` role; the token grants `editor`"),
            case(SUSPENSIONS, Some(approver.clone()), json!({"used_in": "TJ", "reason": "x", "scope": "all"}), 400, "unknown field `scope`"),
            case(SUSPENSIONS, Some(approver.clone()), json!({"used_in": "TJ", "reason": "x", "effective_from": yesterday}), 400, "is past"),
            case(SUSPENSIONS, Some(approver.clone()), json!({"used_in": "TJ", "issued_in": "TJ", "reason": "x"}), 400, "a region does not recognise its own credentials"),
            case(SUSPENSIONS, Some(approver.clone()), json!({"used_in": "TJ", "reason": "  "}), 400, "a reason is 1 to 2000 characters"),
            case(SUSPENSIONS, Some(approver.clone()), json!({"used_in": "TJ", "reason": "x".repeat(70 * 1024)}), 413, "larger than the limit"),
            case("/api/v1/recognition-items/RI-XXX-999/suspensions", Some(approver.clone()), notice.clone(), 404, "No recognition item has the code `RI-XXX-999`."),
            case("/api/v1/recognition-items/RI-CUL-004/suspensions", Some(Signer::Hebei.token(&["approver"])), json!({"used_in": "HE", "reason": "x"}), 400, "HE has no arrangement accepting RI-CUL-004; there is nothing to suspend"),
            case("/api/v1/recognition-items/RI-CON-002/suspensions?now=true", Some(approver.clone()), notice.clone(), 400, "a write takes no query parameters"),
            case("/api/v1/recognition-items/RI-CON-002/suspensions/7/lifting", Some(approver.clone()), json!({"reason": "x"}), 404, "RI-CON-002 has no suspension 7."),
            case("/api/v1/recognition-items/RI-CON-002/suspensions/x/lifting", Some(approver.clone()), json!({"reason": "x"}), 400, "is not a suspension number"),
        ];
        for case in &cases {
            let response = app.write(Method::POST, case.path, case.token.as_deref(), None, Some((case.content_type, case.body.clone()))).await;
            let problem = response.problem(case.status);
            assert!(problem["detail"].as_str().unwrap().contains(&case.detail), "{}: {problem}", case.path);
        }
        let text = app.write(Method::POST, SUSPENSIONS, Some(&approver), None, Some(("text/plain", notice.to_string().into_bytes()))).await;
        assert_eq!(text.problem(415)["status"], 415);
        let malformed = app.write(Method::POST, SUSPENSIONS, Some(&approver), None, Some(("application/json", b"{\"used_in\":".to_vec()))).await;
        assert_eq!(malformed.problem(400)["status"], 400);
        assert_eq!(app.get_json(ITEM).await, item, "no refused request changed anything");

        assert_eq!(suspend(&app, Signer::Tianjin, &notice).await.status, StatusCode::CREATED);
        let twice = suspend(&app, Signer::Tianjin, &json!({"used_in": "TJ", "issued_in": "HE", "reason": "again"})).await;
        assert!(twice.problem(409)["detail"].as_str().unwrap().starts_with("suspension 1 of RI-CON-002 already stops this acceptance from"));
        let wider_is_new = suspend(&app, Signer::Tianjin, &json!({"used_in": "TJ", "reason": "all routes"})).await;
        assert_eq!(wider_is_new.status, StatusCode::CREATED, "a suspension of every issuing region is another scope");
        let narrower = suspend(&app, Signer::Tianjin, &json!({"used_in": "TJ", "issued_in": "BJ", "reason": "x"})).await;
        assert!(narrower.problem(409)["detail"].as_str().unwrap().starts_with("suspension 2 of RI-CON-002"), "already covered by the wider one");
        let lifting = "/api/v1/recognition-items/RI-CON-002/suspensions/1/lifting";
        let by_hebei = app.write(Method::POST, lifting, Some(&Signer::Hebei.token(&["approver"])), None, body(&json!({"reason": "x"}))).await;
        assert_eq!(by_hebei.problem(403)["detail"], "a token of HE cannot change TJ's side; each region edits only its own");
        let by_editor = app.write(Method::POST, lifting, Some(&Signer::Tianjin.token(&["editor"])), None, body(&json!({"reason": "x"}))).await;
        assert_eq!(by_editor.problem(403)["status"], 403);
        let past = app.write(Method::POST, lifting, Some(&approver), None, body(&json!({"reason": "x", "lifted_on": yesterday}))).await;
        assert_eq!(past.problem_naming("lifted_on")["status"], 400);
        assert_eq!(app.write(Method::POST, lifting, Some(&approver), None, body(&json!({"reason": "ok"}))).await.status, StatusCode::OK);
        let again = app.write(Method::POST, lifting, Some(&approver), None, body(&json!({"reason": "ok"}))).await;
        assert_eq!(again.problem(409)["detail"], format!("suspension 1 was lifted from {} already", today()));
        assert_eq!(app.get("/api/v1/recognition-items/RI-CON-002/suspensions/9").await.problem(404)["detail"], "RI-CON-002 has no suspension 9.");

        // Every attempt is in the audit log, and the chain holds.
        let admin = Signer::Beijing.token(&["admin"]);
        let log = app.write(Method::GET, "/api/v1/audit?limit=500", Some(&admin), None, None).await.json();
        let statuses: Vec<u64> = log["items"].as_array().unwrap().iter().map(|r| r["status"].as_u64().unwrap()).collect();
        let mut expected: Vec<u64> = cases.iter().map(|c| u64::from(c.status)).collect();
        expected.extend([415, 400, 201, 409, 201, 409, 403, 403, 400, 200, 409]);
        assert_eq!(statuses, expected);
        let verdict = app.write(Method::GET, "/api/v1/audit/verify", Some(&admin), None, None).await.json();
        assert_eq!(verdict["intact"], true);
    }
}
