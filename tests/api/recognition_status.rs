//! The recognition-status query, single and batch, against hand-checked sample facts.

use serde_json::{Value, json};

use crate::helpers::{TestApp, both_backends};

async fn status(app: &TestApp, query: &str) -> Value {
    app.get_json(&format!("/api/v1/recognition-status?{query}"))
        .await
}

async fn decision(app: &TestApp, item: &str, issued_in: &str, used_in: &str, on: &str) -> String {
    status(
        app,
        &format!("item={item}&issued_in={issued_in}&used_in={used_in}&on={on}"),
    )
    .await["decision"]
        .as_str()
        .unwrap()
        .to_owned()
}

both_backends! {
    async fn a_direct_arrangement_in_force_is_recognised_with_its_details(app) {
        let answer = status(&app, "item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-06-01").await;
        assert_eq!(answer["decision"], "recognised");
        assert_eq!(answer["recognised"], true);
        assert_eq!(answer["mode"], "direct");
        assert_eq!(answer["effective_from"], "2024-03-01");
        assert_eq!(answer["effective_to"], Value::Null);
        assert_eq!(answer["item_version"], 1);
        assert_eq!(answer["on"], "2025-06-01");
        assert_eq!(answer["local_code"], "冀建-RY-056");
        assert!(answer["legal_basis"].as_str().unwrap().contains("注册建造师管理规定"));
    }

    async fn effective_dates_are_inclusive_the_day_before_on_and_after(app) {
        assert_eq!(decision(&app, "RI-CON-001", "HE", "TJ", "2024-02-29").await, "not_yet_in_force");
        assert_eq!(decision(&app, "RI-CON-001", "HE", "TJ", "2024-03-01").await, "recognised");
        assert_eq!(decision(&app, "RI-CON-001", "HE", "TJ", "2024-03-02").await, "recognised");
        assert_eq!(decision(&app, "RI-MKT-004", "TJ", "HE", "2025-12-31").await, "recognised");
        assert_eq!(decision(&app, "RI-MKT-004", "TJ", "HE", "2026-01-01").await, "expired");
    }

    async fn a_follow_up_period_replaces_an_expired_conditional_one(app) {
        let before = status(&app, "item=RI-CON-002&issued_in=HE&used_in=BJ&on=2024-12-31").await;
        assert_eq!((before["decision"].as_str(), before["mode"].as_str()), (Some("recognised"), Some("conditional")));
        assert!(before["conditions_zh"].as_str().is_some_and(|c| !c.is_empty()));
        assert_eq!(before["effective_to"], "2024-12-31");
        let after = status(&app, "item=RI-CON-002&issued_in=HE&used_in=BJ&on=2025-01-01").await;
        assert_eq!((after["decision"].as_str(), after["mode"].as_str()), (Some("recognised"), Some("direct")));
        assert_eq!(after["effective_from"], "2025-01-01");
    }

    async fn future_suspended_revoked_and_missing_arrangements_decide_accordingly(app) {
        assert_eq!(decision(&app, "RI-FIN-004", "HE", "BJ", "2026-06-01").await, "not_yet_in_force");
        assert_eq!(decision(&app, "RI-FIN-004", "HE", "BJ", "2027-01-01").await, "recognised");
        assert_eq!(decision(&app, "RI-TRA-003", "HE", "BJ", "2021-12-31").await, "suspended");
        assert_eq!(decision(&app, "RI-TRA-003", "HE", "BJ", "2022-01-01").await, "suspended");
        assert_eq!(decision(&app, "RI-TRA-003", "HE", "BJ", "2025-06-01").await, "suspended");
        assert_eq!(decision(&app, "RI-CON-010", "HE", "BJ", "2025-06-01").await, "not_recognised");
        assert_eq!(decision(&app, "RI-HEA-006", "BJ", "TJ", "2025-06-01").await, "suspended");
        assert_eq!(decision(&app, "RI-EDU-004", "BJ", "TJ", "2025-06-01").await, "not_recognised");
    }

    async fn historic_questions_about_retired_and_suspended_items_use_the_status_date(app) {
        // 就业报到证 was retired from 2023-01-01; its arrangement ran through 2022.
        assert_eq!(decision(&app, "RI-EDU-004", "BJ", "TJ", "2022-06-01").await, "recognised");
        assert_eq!(decision(&app, "RI-EDU-004", "BJ", "TJ", "2022-12-31").await, "recognised");
        assert_eq!(decision(&app, "RI-EDU-004", "BJ", "TJ", "2023-01-01").await, "not_recognised");
        // A revoked arrangement is not "not yet in force" before its start.
        assert_eq!(decision(&app, "RI-CON-010", "HE", "BJ", "2023-01-01").await, "not_recognised");
        assert_eq!(decision(&app, "RI-CON-010", "HE", "BJ", "2024-12-01").await, "not_recognised");
        assert_eq!(decision(&app, "RI-CON-010", "HE", "TJ", "2024-11-30").await, "not_yet_in_force");
    }

    async fn one_way_and_two_region_arrangements_are_directional(app) {
        assert_eq!(decision(&app, "RI-TRA-004", "HE", "TJ", "2025-06-01").await, "recognised");
        assert_eq!(decision(&app, "RI-TRA-004", "TJ", "HE", "2025-06-01").await, "no_arrangement");
        assert_eq!(decision(&app, "RI-TRA-006", "BJ", "TJ", "2025-07-01").await, "recognised");
        assert_eq!(decision(&app, "RI-TRA-006", "BJ", "TJ", "2025-06-30").await, "not_yet_in_force");
        assert_eq!(decision(&app, "RI-TRA-006", "HE", "TJ", "2025-07-01").await, "no_arrangement");
    }

    async fn a_local_code_names_the_item_in_the_issuing_region(app) {
        let by_local = status(&app, "local_code=%E5%86%80%E5%BB%BA-RY-056&issued_in=HE&used_in=TJ&on=2025-06-01").await;
        assert_eq!(by_local["item"], "RI-CON-001");
        assert_eq!(by_local["decision"], "recognised");
        // Full-width letters and digits in a local code are folded.
        let full_width = status(&app, "local_code=TJ-ZJW-%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%94-084&issued_in=TJ&used_in=HE&on=2025-06-01").await;
        assert_eq!(full_width["item"], "RI-CON-001");
        // A code is only looked up among the issuing region's own codes.
        let body = app.get("/api/v1/recognition-status?local_code=%E5%86%80%E5%BB%BA-RY-056&issued_in=TJ&used_in=HE").await.problem(404);
        assert!(body["detail"].as_str().unwrap().contains("TJ"));
    }

    async fn the_day_defaults_to_today_in_china(app) {
        let answer = status(&app, "item=RI-CON-001&issued_in=HE&used_in=TJ").await;
        let today = (chrono::Utc::now() + chrono::TimeDelta::hours(8)).date_naive().to_string();
        assert_eq!(answer["on"], today);
    }

    async fn a_malformed_day_gets_the_same_whole_problem_from_the_status_query_and_the_statistics(app) {
        for path in [
            "/api/v1/recognition-status?item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-06/01",
            "/api/v1/stats?on=2025-06/01",
        ] {
            let body = app.get(path).await.problem(400);
            let message = "`2025-06/01` is not a date of the form YYYY-MM-DD";
            assert_eq!(
                body,
                json!({
                    "type": "urn:jjj-registry:problem:invalid-parameter",
                    "title": "Invalid parameter",
                    "status": 400,
                    "detail": format!("`on`: {message}"),
                    "errors": [{"field": "on", "message": message}],
                }),
                "{path}"
            );
        }
    }

    async fn bad_status_questions_are_400_problems_naming_the_parameter(app) {
        let cases = [
            ("item=RI-CON-001&issued_in=SH&used_in=TJ", "issued_in"),
            ("item=RI-CON-001&issued_in=HE&used_in=1", "used_in"),
            ("item=RI-CON-001&used_in=TJ", "issued_in"),
            ("item=RI-CON-001&issued_in=HE", "used_in"),
            ("item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-02-30", "on"),
            ("item=RI-CON-001&issued_in=HE&used_in=TJ&on=yesterday", "on"),
            ("item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-1-5", "on"),
            ("issued_in=HE&used_in=TJ", "item"),
            ("item=RI-CON-001&local_code=x&issued_in=HE&used_in=TJ", "local_code"),
            ("item=RI-CON-001&issued_in=TJ&used_in=TJ", "used_in"),
            ("item=RI-CON-001&issued_in=HE&used_in=TJ&isued_in=HE", "isued_in"),
            ("item=&issued_in=HE&used_in=TJ", "item"),
            ("local_code=&issued_in=HE&used_in=TJ", "local_code"),
            // Values are taken exactly as sent: nothing is trimmed.
            ("item=RI-CON-001&issued_in=%20HE&used_in=TJ", "issued_in"),
            ("item=RI-CON-001&issued_in=HE&used_in=TJ%20", "used_in"),
            ("item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-06-01%20", "on"),
        ];
        for (query, field) in cases {
            app.get(&format!("/api/v1/recognition-status?{query}")).await.problem_naming(field);
        }
        // Every problem of a question is named at once.
        let body = app.get("/api/v1/recognition-status?used_in=TJ&on=2025-13-01").await.problem(400);
        let fields: BTreeSet<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, BTreeSet::from(["item", "issued_in", "on"]));
        // A padded item code is another code: no item has it.
        app.get("/api/v1/recognition-status?item=%20RI-CON-001&issued_in=HE&used_in=TJ").await.problem(404);
    }

    async fn answers_carry_an_etag_and_answer_if_none_match_with_304(app) {
        let path = "/api/v1/recognition-status?item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-06-01";
        let first = app.get(path).await;
        let etag = first.header("etag").expect("ETag");
        let again = app.get_with(path, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status.as_u16(), 304);
        // The same question asked by local code is the same answer.
        let by_local = app.get("/api/v1/recognition-status?local_code=%E5%86%80%E5%BB%BA-RY-056&issued_in=HE&used_in=TJ&on=2025-06-01").await;
        assert_eq!(by_local.header("etag"), Some(etag.clone()));
        let other_day = app.get("/api/v1/recognition-status?item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-06-02").await;
        assert_ne!(other_day.header("etag"), Some(etag));
    }

    async fn an_unknown_item_is_a_404_problem(app) {
        let body = app.get("/api/v1/recognition-status?item=RI-XXX-999&issued_in=HE&used_in=TJ").await.problem(404);
        assert_eq!(body["type"], "urn:jjj-registry:problem:not-found");
    }

    async fn a_batch_answers_each_question_in_order_without_failing_on_bad_ones(app) {
        let response = app
            .post_json(
                "/api/v1/recognition-status/batch",
                &json!({"questions": [
                    {"item": "RI-CON-001", "issued_in": "HE", "used_in": "TJ", "on": "2025-06-01"},
                    {"item": "RI-XXX-999", "issued_in": "HE", "used_in": "TJ"},
                    {"local_code": "冀建-RY-056", "issued_in": "HE", "used_in": "BJ", "on": "2025-06-01"},
                    {"item": "RI-CON-001", "issued_in": "SH", "used_in": "TJ", "on": "2025-13-01"},
                    {"item": "RI-CON-001", "issued_in": "HE", "used_in": "TJ", "colour": "red"},
                    42,
                    {"item": "RI-TRA-004", "issued_in": "TJ", "used_in": "HE", "on": "2025-06-01"}
                ]}),
            )
            .await;
        assert_eq!(response.status.as_u16(), 200);
        let results = response.json()["results"].as_array().unwrap().clone();
        let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, [200, 404, 200, 400, 400, 400, 200]);
        for (index, result) in results.iter().enumerate() {
            assert_eq!(result["index"], index);
        }
        assert_eq!(results[0]["answer"]["decision"], "recognised");
        let by_local_code = app.get_json("/api/v1/recognition-status?local_code=%E5%86%80%E5%BB%BA-RY-056&issued_in=HE&used_in=BJ&on=2025-06-01").await;
        assert_eq!(results[2]["answer"], by_local_code);
        assert_eq!((by_local_code["item"].as_str(), by_local_code["mode"].as_str()), (Some("RI-CON-001"), Some("filing")));
        assert_eq!(results[6]["answer"]["decision"], "no_arrangement");
        let fields: BTreeSet<&str> = results[3]["problem"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, BTreeSet::from(["issued_in", "on"]));
        assert!(results[4]["problem"]["detail"].as_str().unwrap().contains("colour"));
    }

    async fn a_batch_over_the_maximum_is_rejected_whole(app) {
        let question = json!({"item": "RI-CON-001", "issued_in": "HE", "used_in": "TJ"});
        let at_limit = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": vec![question.clone(); 500]})).await;
        assert_eq!(at_limit.status.as_u16(), 200);
        let single = app.get_json("/api/v1/recognition-status?item=RI-CON-001&issued_in=HE&used_in=TJ").await;
        let results = at_limit.json()["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), 500);
        for (index, result) in results.iter().enumerate() {
            assert_eq!(result, &json!({"index": index, "status": 200, "answer": single}));
        }
        let over = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": vec![question; 501]})).await;
        over.problem_naming("questions");
        app.post_json("/api/v1/recognition-status/batch", &json!({})).await.problem_naming("questions");
        app.post_json("/api/v1/recognition-status/batch", &json!({"questions": {}})).await.problem(400);
    }
}

use std::collections::BTreeSet;
