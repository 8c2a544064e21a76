//! Shared changes through proposals: nothing shared changes until every participating
//! region has approved; a rejection ends a proposal; a proposal overtaken by another
//! change never applies; a batch applies whole or not at all; and no proposal, vote or
//! withdrawal reaches a region's own side.

use awc::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::editing::futures_join;
use crate::helpers::{TestApp, TestResponse, both_backends};
use crate::tokens::{Signer, sign};

const ITEM: &str = "/api/v1/recognition-items/RI-CON-002";

fn body(value: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", value.to_string().into_bytes()))
}

pub(crate) async fn propose(app: &TestApp, signer: Signer, draft: &Value) -> TestResponse {
    let token = signer.token(&["editor"]);
    app.write(
        Method::POST,
        "/api/v1/proposals",
        Some(&token),
        None,
        body(draft),
    )
    .await
}

/// Proposes and expects 201, returning the proposal.
pub(crate) async fn proposed(app: &TestApp, signer: Signer, draft: &Value) -> Value {
    let response = propose(app, signer, draft).await;
    assert_eq!(
        response.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    let proposal = response.json();
    let id = proposal["id"].as_i64().unwrap();
    assert_eq!(
        response.header("location"),
        Some(format!("/api/v1/proposals/{id}"))
    );
    assert_eq!(response.header("etag"), Some(format!("\"P{id}.1\"")));
    proposal
}

async fn vote(app: &TestApp, id: i64, signer: Signer, ballot: &str) -> TestResponse {
    let current = app.get(&format!("/api/v1/proposals/{id}")).await;
    let tag = current.header("etag").expect("a proposal has an ETag");
    app.write(
        Method::POST,
        &format!("/api/v1/proposals/{id}/votes"),
        Some(&signer.token(&["approver"])),
        Some(&tag),
        body(&json!({"ballot": ballot, "comment": format!("{} says {ballot}", signer.region())})),
    )
    .await
}

/// Votes and expects 200, returning the proposal as it now stands.
pub(crate) async fn voted(app: &TestApp, id: i64, signer: Signer, ballot: &str) -> Value {
    let response = vote(app, id, signer, ballot).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    response.json()
}

pub(crate) fn legal_basis_change(base_version: i64, text: &str) -> Value {
    json!({
        "title": format!("Legal basis: {text}"),
        "rationale": "Joint notice",
        "changes": [{
            "action": "update", "kind": "recognition_item", "code": "RI-CON-002",
            "base_version": base_version, "patch": {"legal_basis": text}
        }]
    })
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, u64)> {
    let admin = Signer::Beijing.token(&["admin"]);
    let page = app
        .write(
            Method::GET,
            "/api/v1/audit?limit=500",
            Some(&admin),
            None,
            None,
        )
        .await
        .json();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

async fn chain_intact(app: &TestApp) -> Value {
    let admin = Signer::Hebei.token(&["admin"]);
    app.write(
        Method::GET,
        "/api/v1/audit/verify",
        Some(&admin),
        None,
        None,
    )
    .await
    .json()
}

both_backends! {
    async fn a_shared_change_applies_only_after_the_last_approval(app) {
        let before = app.get(ITEM).await;
        let item = before.json();
        let mut arrangements = item["arrangements"].clone();
        let changed = arrangements.as_array_mut().unwrap().iter_mut().find(|a| a["issued_in"] == "HE" && a["used_in"] == "TJ").unwrap();
        changed["conditions_zh"] = json!("须经天津市住建委网上核验");
        changed["conditions_en"] = json!("Verified online by the Tianjin construction commission");
        let draft = json!({
            "title": "Tianjin verifies Hebei certificates online",
            "changes": [{
                "action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": 1,
                "patch": {"legal_basis": "《注册建造师管理规定》；三地联合通知", "arrangements": arrangements}
            }]
        });
        let proposal = proposed(&app, Signer::Tianjin, &draft).await;
        let index = item["arrangements"].as_array().unwrap().iter().position(|a| a["issued_in"] == "HE" && a["used_in"] == "TJ").unwrap();
        assert_eq!(proposal["state"], "open");
        assert_eq!(proposal["version"], 1);
        assert_eq!(proposal["title"], "Tianjin verifies Hebei certificates online");
        assert_eq!(proposal["rationale"], "");
        assert_eq!(proposal["proposer"], json!({"region": "TJ", "issuer": Signer::Tianjin.issuer(), "subject": "tester@TJ"}));
        assert_eq!(proposal["participants"], json!(["BJ", "TJ", "HE"]));
        assert_eq!(proposal["awaiting"], json!(["BJ", "TJ", "HE"]));
        assert_eq!(proposal["votes"], json!([]));
        assert_eq!(proposal["batch"], Value::Null);
        assert_eq!(proposal["decided_at"], Value::Null);
        assert_eq!(proposal["outcome"], "");
        let old_arrangement = &item["arrangements"][index];
        assert_eq!(proposal["changes"], json!([{
            "action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": 1,
            "diff": [
                {"path": "legal_basis", "before": item["legal_basis"], "after": "《注册建造师管理规定》；三地联合通知"},
                {"path": format!("arrangements[{index}].conditions_zh"), "before": old_arrangement["conditions_zh"], "after": "须经天津市住建委网上核验"},
                {"path": format!("arrangements[{index}].conditions_en"), "before": old_arrangement["conditions_en"], "after": "Verified online by the Tianjin construction commission"},
            ],
            "added_local_parts": [],
        }]));
        let id = proposal["id"].as_i64().unwrap();
        assert_eq!(app.get_json(&format!("/api/v1/proposals/{id}")).await, proposal, "read back as answered");

        let status = "/api/v1/recognition-status?item=RI-CON-002&issued_in=HE&used_in=TJ";
        let status_before = app.get_json(status).await;
        for (signer, awaiting) in [(Signer::Beijing, json!(["TJ", "HE"])), (Signer::Hebei, json!(["TJ"]))] {
            let now = voted(&app, id, signer, "approve").await;
            assert_eq!(now["state"], "open");
            assert_eq!(now["awaiting"], awaiting);
            assert_eq!(app.get(ITEM).await.json(), item, "nothing changes before the last approval");
            assert_eq!(app.get(ITEM).await.header("etag"), before.header("etag"));
            assert_eq!(app.get_json(status).await, status_before);
        }
        let applied = voted(&app, id, Signer::Tianjin, "approve").await;
        assert_eq!(applied["state"], "applied");
        assert_eq!(applied["version"], 4);
        assert_eq!(applied["awaiting"], json!([]));
        assert_eq!(applied["outcome"], "applied: RI-CON-002 v2");
        assert!(applied["decided_at"].is_string());
        let votes: Vec<(&str, &str, &str)> = applied["votes"].as_array().unwrap().iter().map(|v| (v["region"].as_str().unwrap(), v["ballot"].as_str().unwrap(), v["comment"].as_str().unwrap())).collect();
        assert_eq!(votes, vec![("BJ", "approve", "BJ says approve"), ("HE", "approve", "HE says approve"), ("TJ", "approve", "TJ says approve")]);

        // Every read sees the new version as soon as the vote is answered.
        let after = app.get(ITEM).await;
        assert_ne!(after.header("etag"), before.header("etag"));
        let mut expected = item.clone();
        expected["version"] = json!(2);
        expected["legal_basis"] = json!("《注册建造师管理规定》；三地联合通知");
        expected["arrangements"][index]["conditions_zh"] = json!("须经天津市住建委网上核验");
        expected["arrangements"][index]["conditions_en"] = json!("Verified online by the Tianjin construction commission");
        let mut got = after.json();
        assert_ne!(got["updated_at"], item["updated_at"]);
        got["updated_at"] = item["updated_at"].clone();
        assert_eq!(got, expected);
        let status_after = app.get_json(status).await;
        assert_eq!(status_after["item_version"], 2);
        assert_eq!(status_after["conditions_zh"], "须经天津市住建委网上核验");
        assert_eq!(status_after["legal_basis"], "《注册建造师管理规定》；三地联合通知");
        // The regions' own sides are untouched, each still at its own first version.
        for region in ["BJ", "TJ", "HE"] {
            assert_eq!(app.get_json(&format!("{ITEM}/local-parts/{region}")).await["version"], 1);
        }
        let cast = vote(&app, id, Signer::Beijing, "approve").await;
        assert_eq!(cast.problem(409)["detail"], "the proposal is applied; only an open proposal takes votes or can be withdrawn");

        let actions = audit_actions(&app).await;
        let accepted = |action: &str, status: u64| (action.to_owned(), "accepted".to_owned(), status);
        assert_eq!(actions, vec![
            accepted("propose", 201), accepted("vote", 200), accepted("vote", 200), accepted("vote", 200),
            accepted("apply_proposal", 200), ("vote".into(), "refused".into(), 409),
        ]);
        assert_eq!(chain_intact(&app).await["intact"], true);
        // Every region reads the shared actions; Hebei's own edits stay its own.
        let tj = Signer::Tianjin.token(&["editor"]);
        let seen = app.write(Method::GET, "/api/v1/audit", Some(&tj), None, None).await.json();
        assert_eq!(seen["items"].as_array().unwrap().len(), 6);
        let applied_record = &seen["items"][4];
        assert_eq!(applied_record["entry_kind"], "recognition_item");
        assert_eq!(applied_record["entry_code"], "RI-CON-002");
        let after_state: Value = serde_json::from_str(applied_record["after"].as_str().unwrap()).unwrap();
        assert_eq!(after_state["legal_basis"], "《注册建造师管理规定》；三地联合通知");
        let before_state: Value = serde_json::from_str(applied_record["before"].as_str().unwrap()).unwrap();
        assert_eq!(before_state["legal_basis"], item["legal_basis"]);
    }

    async fn a_rejection_ends_the_proposal_and_changes_nothing(app) {
        let item = app.get_json(ITEM).await;
        let id = proposed(&app, Signer::Hebei, &legal_basis_change(1, "新依据")).await["id"].as_i64().unwrap();
        voted(&app, id, Signer::Beijing, "approve").await;
        let rejected = voted(&app, id, Signer::Tianjin, "reject").await;
        assert_eq!(rejected["state"], "rejected");
        assert_eq!(rejected["outcome"], "rejected by TJ");
        assert_eq!(rejected["awaiting"], json!([]));
        assert!(rejected["decided_at"].is_string());
        let late = vote(&app, id, Signer::Hebei, "approve").await;
        assert_eq!(late.problem(409)["detail"], "the proposal is rejected; only an open proposal takes votes or can be withdrawn");
        assert_eq!(app.get_json(ITEM).await, item);
    }

    async fn of_two_proposals_on_one_entry_the_second_to_complete_conflicts(app) {
        let first = proposed(&app, Signer::Tianjin, &legal_basis_change(1, "第一稿")).await["id"].as_i64().unwrap();
        let second = proposed(&app, Signer::Beijing, &legal_basis_change(1, "第二稿")).await["id"].as_i64().unwrap();
        for id in [first, second] {
            voted(&app, id, Signer::Beijing, "approve").await;
            voted(&app, id, Signer::Hebei, "approve").await;
        }
        // The last votes of both race; exactly one applies, the other conflicts.
        let (a, b) = futures_join(vote(&app, first, Signer::Tianjin, "approve"), vote(&app, second, Signer::Tianjin, "approve")).await;
        let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, vec![200, 409], "the second to complete learns that its proposal conflicted");
        let (a, b) = (app.get_json(&format!("/api/v1/proposals/{first}")).await, app.get_json(&format!("/api/v1/proposals/{second}")).await);
        let mut states = vec![a["state"].as_str().unwrap(), b["state"].as_str().unwrap()];
        states.sort_unstable();
        assert_eq!(states, vec!["applied", "conflicted"]);
        let (winner, loser, text) = if a["state"] == "applied" { (first, &b, "第一稿") } else { (second, &a, "第二稿") };
        let outcome = loser["outcome"].as_str().unwrap();
        assert!(
            outcome == format!("conflicted: proposal {winner} applied first; recognition_item RI-CON-002 has changed since it was proposed (now version 2)")
                || outcome == "conflicted: recognition_item RI-CON-002 has changed since it was proposed (now version 2)",
            "{outcome}"
        );
        let item = app.get_json(ITEM).await;
        assert_eq!((item["version"].as_i64(), item["legal_basis"].as_str()), (Some(2), Some(text)));
        // A stale base is refused at once.
        let stale = propose(&app, Signer::Tianjin, &legal_basis_change(1, "第三稿")).await;
        assert_eq!(stale.problem(409)["detail"], "recognition_item RI-CON-002 is at version 2, not 1; read it again and write the change against what it says now");
    }

    async fn a_proposal_overtaken_before_its_votes_conflicts_at_once(app) {
        let slow = proposed(&app, Signer::Tianjin, &legal_basis_change(1, "慢")).await["id"].as_i64().unwrap();
        let fast = proposed(&app, Signer::Tianjin, &legal_basis_change(1, "快")).await["id"].as_i64().unwrap();
        voted(&app, slow, Signer::Beijing, "approve").await;
        for signer in [Signer::Beijing, Signer::Tianjin, Signer::Hebei] {
            voted(&app, fast, signer, "approve").await;
        }
        let overtaken = app.get_json(&format!("/api/v1/proposals/{slow}")).await;
        assert_eq!(overtaken["state"], "conflicted");
        assert_eq!(overtaken["outcome"], format!("conflicted: proposal {fast} applied first; recognition_item RI-CON-002 has changed since it was proposed (now version 2)"));
        assert_eq!(overtaken["awaiting"], json!([]));
        assert_eq!(vote(&app, slow, Signer::Hebei, "approve").await.problem(409)["detail"], "the proposal is conflicted; only an open proposal takes votes or can be withdrawn");
        assert_eq!(app.get_json(ITEM).await["legal_basis"], "快");
    }

    async fn a_batch_applies_all_or_nothing(app) {
        let mut new_item = app.get_json(ITEM).await;
        for field in ["version", "updated_at", "provenance", "suspensions"] {
            new_item.as_object_mut().unwrap().remove(field);
        }
        new_item["code"] = json!("RI-CON-901");
        new_item["name_en"] = json!("Grade I constructor (new listing)");
        new_item["batch"] = json!("JJJ-2026-09");
        for part in new_item["local_parts"].as_array_mut().unwrap() {
            part["local_code"] = json!(format!("{}-901", part["local_code"].as_str().unwrap_or("X")));
        }
        let batch = json!({
            "code": "JJJ-2026-09", "document_no": "京津冀政服〔2026〕9号（示例）", "title_zh": "第九批", "title_en": "Ninth batch",
            "published_on": "2026-12-01", "publishes": ["recognition_item"], "programmes": []
        });
        let draft = |base: i64| json!({
            "title": "Ninth batch", "batch": batch,
            "changes": [
                {"action": "create", "kind": "recognition_item", "entry": new_item},
                {"action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": base, "patch": {"aliases": ["二建"]}},
            ]
        });
        let doomed = proposed(&app, Signer::Beijing, &draft(1)).await;
        assert_eq!(doomed["batch"], batch);
        assert_eq!(doomed["changes"][0]["action"], "create");
        assert_eq!(doomed["changes"][0]["base_version"], Value::Null);
        assert_eq!(doomed["changes"][0]["added_local_parts"], new_item["local_parts"]);
        assert!(doomed["changes"][0]["diff"].as_array().unwrap().iter().any(|d| d["path"] == "name_en" && d["before"].is_null() && d["after"] == "Grade I constructor (new listing)"));
        let doomed = doomed["id"].as_i64().unwrap();
        // Another proposal changes one of the batch's entries first.
        let other = proposed(&app, Signer::Tianjin, &legal_basis_change(1, "先行")).await["id"].as_i64().unwrap();
        for signer in [Signer::Beijing, Signer::Tianjin, Signer::Hebei] {
            voted(&app, other, signer, "approve").await;
        }
        assert_eq!(app.get_json(&format!("/api/v1/proposals/{doomed}")).await["state"], "conflicted");
        assert_eq!(app.get("/api/v1/recognition-items/RI-CON-901").await.status, StatusCode::NOT_FOUND, "no part of a conflicted batch applies");
        assert_eq!(app.get("/api/v1/batches/JJJ-2026-09").await.status, StatusCode::NOT_FOUND);

        let fresh = proposed(&app, Signer::Beijing, &draft(2)).await["id"].as_i64().unwrap();
        voted(&app, fresh, Signer::Beijing, "approve").await;
        voted(&app, fresh, Signer::Tianjin, "approve").await;
        assert_eq!(app.get("/api/v1/recognition-items/RI-CON-901").await.status, StatusCode::NOT_FOUND, "not before the last approval");
        let applied = voted(&app, fresh, Signer::Hebei, "approve").await;
        assert_eq!(applied["outcome"], "applied: RI-CON-901 v1, RI-CON-002 v3");
        let created = app.get_json("/api/v1/recognition-items/RI-CON-901").await;
        assert_eq!(created["version"], 1);
        assert_eq!(created["batch"], "JJJ-2026-09");
        assert_eq!(created["local_parts"], new_item["local_parts"]);
        assert_eq!(created["arrangements"], new_item["arrangements"]);
        let published = app.get_json("/api/v1/batches/JJJ-2026-09").await;
        assert_eq!(published["document_no"], "京津冀政服〔2026〕9号（示例）");
        assert_eq!(published["recognition_items"].as_array().unwrap().len(), 1);
        assert_eq!(app.get_json(ITEM).await["aliases"], json!(["二建"]));
        let answer = app.get_json("/api/v1/recognition-status?item=RI-CON-901&issued_in=HE&used_in=TJ").await;
        assert_eq!(answer["item_version"], 1);
        assert_eq!(answer["local_code"], new_item["local_parts"].as_array().unwrap().iter().find(|p| p["region"] == "HE").unwrap()["local_code"]);
    }

    async fn only_participating_regions_propose_and_vote(app) {
        // RI-CUL-004 is shared by Beijing and Tianjin only.
        let item = app.get_json("/api/v1/recognition-items/RI-CUL-004").await;
        assert_eq!(item["regions"], json!(["BJ", "TJ"]));
        let change = json!({"title": "Rename", "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CUL-004", "base_version": 1, "patch": {"name_en": "Renamed"}}]});
        let outsider = propose(&app, Signer::Hebei, &change).await;
        assert_eq!(outsider.problem(403)["detail"], "HE does not take part in what this proposal changes (participants: BJ, TJ)");
        let approver_only = app.write(Method::POST, "/api/v1/proposals", Some(&Signer::Tianjin.token(&["approver"])), None, body(&change)).await;
        assert_eq!(approver_only.problem(403)["detail"], "this action needs the `editor` role; the token grants `approver`");
        let proposal = proposed(&app, Signer::Tianjin, &change).await;
        assert_eq!(proposal["participants"], json!(["BJ", "TJ"]));
        let id = proposal["id"].as_i64().unwrap();
        assert_eq!(vote(&app, id, Signer::Hebei, "approve").await.problem(403)["detail"], "HE does not take part in what this proposal changes (participants: BJ, TJ)");
        let editor_vote = app.write(Method::POST, &format!("/api/v1/proposals/{id}/votes"), Some(&Signer::Beijing.token(&["editor"])), Some(&format!("\"P{id}.1\"")), body(&json!({"ballot": "approve"}))).await;
        assert_eq!(editor_vote.problem(403)["detail"], "this action needs the `approver` role; the token grants `editor`");
        voted(&app, id, Signer::Beijing, "approve").await;
        assert_eq!(voted(&app, id, Signer::Tianjin, "approve").await["state"], "applied", "two participants, two approvals");

        // A region joining an entry takes part in the decision, with its own new side.
        let he_side = json!({"region": "HE", "local_code": "冀文-004", "issuing_department": "河北省文化和旅游厅", "accepting_department": "河北省文化和旅游厅", "contact": null, "online_url": null, "notes": null, "verification": null});
        let join = json!({"title": "Hebei joins", "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CUL-004", "base_version": 2, "patch": {"regions": ["BJ", "TJ", "HE"]}, "add_local_parts": [he_side]}]});
        let joining = proposed(&app, Signer::Hebei, &join).await;
        assert_eq!(joining["participants"], json!(["BJ", "TJ", "HE"]));
        assert_eq!(joining["changes"][0]["added_local_parts"], json!([he_side]));
        let id = joining["id"].as_i64().unwrap();
        for signer in [Signer::Beijing, Signer::Tianjin, Signer::Hebei] {
            voted(&app, id, signer, "approve").await;
        }
        let side = app.get_json("/api/v1/recognition-items/RI-CUL-004/local-parts/HE").await;
        assert_eq!(side["local_code"], "冀文-004");
        assert_eq!(side["version"], 1);
    }

    async fn no_proposal_reaches_a_regions_own_side(app) {
        let beijing_side = app.get_json(&format!("{ITEM}/local-parts/BJ")).await;
        let through_patch = json!({"title": "x", "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": 1, "patch": {"local_parts": []}}]});
        assert_eq!(propose(&app, Signer::Tianjin, &through_patch).await.problem_naming("changes[0].patch.local_parts")["status"], 400);
        let through_added = json!({"title": "x", "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": 1, "patch": {"name_en": "x"}, "add_local_parts": [{"region": "BJ", "local_code": "mine"}]}]});
        assert_eq!(propose(&app, Signer::Tianjin, &through_added).await.problem_naming("changes[0].add_local_parts[0].region")["detail"], "The change is invalid: `changes[0].add_local_parts[0].region`: BJ already has a side; it edits it through …/local-parts/BJ");
        let id = proposed(&app, Signer::Tianjin, &legal_basis_change(1, "x")).await["id"].as_i64().unwrap();
        let as_beijing = app.write(Method::POST, &format!("/api/v1/proposals/{id}/votes"), Some(&Signer::Tianjin.token(&["approver"])), Some(&format!("\"P{id}.1\"")), body(&json!({"ballot": "approve", "region": "BJ"}))).await;
        assert!(as_beijing.problem_naming("region")["detail"].as_str().unwrap().contains("unknown field `region`"));
        assert_eq!(app.get_json(&format!("{ITEM}/local-parts/BJ")).await, beijing_side);
        assert_eq!(app.get_json(&format!("/api/v1/proposals/{id}")).await["votes"], json!([]));
    }

    async fn bad_requests_on_proposals_are_refused_and_change_nothing(app) {
        let draft = legal_basis_change(1, "x");
        let id = proposed(&app, Signer::Tianjin, &draft).await["id"].as_i64().unwrap();
        let votes = format!("/api/v1/proposals/{id}/votes");
        let withdrawal = format!("/api/v1/proposals/{id}/withdrawal");
        let tag = format!("\"P{id}.1\"");
        let editor = Signer::Tianjin.token(&["editor", "approver"]);
        let mut expired_claims = Signer::Tianjin.claims(&["editor", "approver"]);
        expired_claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        let expired = sign(&Signer::Tianjin.header(), &expired_claims, Signer::Tianjin);
        let forged = {
            let mut parts: Vec<String> = editor.split('.').map(str::to_owned).collect();
            let mut claims = Signer::Tianjin.claims(&["editor", "approver", "admin"]);
            claims["region"] = json!("TJ");
            parts[1] = crate::tokens::encode_part(&claims);
            parts.join(".")
        };
        let ballot = json!({"ballot": "approve"}).to_string().into_bytes();
        let draft_bytes = draft.to_string().into_bytes();
        struct Case<'a> { method: Method, path: &'a str, token: Option<&'a str>, if_match: Option<&'a str>, content_type: &'a str, body: Vec<u8>, status: u16, detail: &'a str }
        let cases = [
            Case { method: Method::POST, path: "/api/v1/proposals", token: None, if_match: None, content_type: "application/json", body: draft_bytes.clone(), status: 401, detail: "this request needs a bearer token" },
            Case { method: Method::POST, path: &votes, token: None, if_match: Some(&tag), content_type: "application/json", body: ballot.clone(), status: 401, detail: "this request needs a bearer token" },
            Case { method: Method::POST, path: &withdrawal, token: None, if_match: Some(&tag), content_type: "application/json", body: b"{}".to_vec(), status: 401, detail: "this request needs a bearer token" },
            Case { method: Method::POST, path: "/api/v1/proposals", token: Some(&expired), if_match: None, content_type: "application/json", body: draft_bytes.clone(), status: 401, detail: "expired" },
            Case { method: Method::POST, path: &votes, token: Some(&forged), if_match: Some(&tag), content_type: "application/json", body: ballot.clone(), status: 401, detail: "signature" },
            Case { method: Method::POST, path: "/api/v1/proposals", token: Some(&editor), if_match: None, content_type: "application/json", body: b"{\"title\": ".to_vec(), status: 400, detail: "The JSON body is invalid" },
            Case { method: Method::POST, path: "/api/v1/proposals", token: Some(&editor), if_match: None, content_type: "text/plain", body: draft_bytes.clone(), status: 415, detail: "Content-Type: application/json" },
            Case { method: Method::POST, path: "/api/v1/proposals", token: Some(&editor), if_match: None, content_type: "application/json", body: json!({"title": "x".repeat(70 * 1024), "changes": []}).to_string().into_bytes(), status: 413, detail: "larger than the limit" },
            Case { method: Method::POST, path: "/api/v1/proposals", token: Some(&editor), if_match: None, content_type: "application/json", body: json!({"title": "x", "state": "applied", "changes": draft["changes"]}).to_string().into_bytes(), status: 400, detail: "unknown field `state`" },
            Case { method: Method::POST, path: "/api/v1/proposals", token: Some(&editor), if_match: None, content_type: "application/json", body: json!({"title": "x", "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CON-002", "base_version": 1, "patch": {"updated_at": "2020-01-01T00:00:00Z"}}]}).to_string().into_bytes(), status: 400, detail: "`changes[0].patch.updated_at`: is set by the server" },
            Case { method: Method::POST, path: "/api/v1/proposals?dry_run=true", token: Some(&editor), if_match: None, content_type: "application/json", body: draft_bytes.clone(), status: 400, detail: "a write takes no query parameters" },
            Case { method: Method::POST, path: &votes, token: Some(&editor), if_match: None, content_type: "application/json", body: ballot.clone(), status: 428, detail: "send If-Match" },
            Case { method: Method::POST, path: &votes, token: Some(&editor), if_match: Some("*"), content_type: "application/json", body: ballot.clone(), status: 428, detail: "not `*`" },
            Case { method: Method::POST, path: &votes, token: Some(&editor), if_match: Some("\"P1.0\""), content_type: "application/json", body: ballot.clone(), status: 412, detail: "is not the current version of proposal" },
            Case { method: Method::POST, path: &votes, token: Some(&editor), if_match: Some(&tag), content_type: "application/json", body: br#"{"ballot": "maybe"}"#.to_vec(), status: 400, detail: "unknown variant `maybe`" },
            Case { method: Method::POST, path: &withdrawal, token: Some(&editor), if_match: Some(&tag), content_type: "application/json", body: br#"{"why": "x"}"#.to_vec(), status: 400, detail: "unknown field `why`" },
            Case { method: Method::POST, path: &withdrawal, token: Some(&editor), if_match: Some(&tag), content_type: "application/json", body: b"null".to_vec(), status: 400, detail: "invalid type: null" },
            Case { method: Method::POST, path: "/api/v1/proposals/999/votes", token: Some(&editor), if_match: Some("\"P999.1\""), content_type: "application/json", body: ballot.clone(), status: 404, detail: "No proposal 999." },
            Case { method: Method::POST, path: "/api/v1/proposals/abc/votes", token: Some(&editor), if_match: Some(&tag), content_type: "application/json", body: ballot.clone(), status: 400, detail: "is not a proposal number" },
        ];
        let before = app.get_json(&format!("/api/v1/proposals/{id}")).await;
        for case in &cases {
            let response = app.write(case.method.clone(), case.path, case.token, case.if_match, Some((case.content_type, case.body.clone()))).await;
            let problem = response.problem(case.status);
            assert!(problem["detail"].as_str().unwrap().contains(case.detail), "{} {}: {problem}", case.method, case.path);
            if case.status == 401 {
                assert!(response.header("www-authenticate").unwrap().starts_with("Bearer"));
            }
        }
        assert_eq!(app.get_json(&format!("/api/v1/proposals/{id}")).await, before, "no refused request changed the proposal");
        assert_eq!(app.get_json("/api/v1/proposals").await["items"].as_array().unwrap().len(), 1, "and none added one");
        assert_eq!(app.get_json(ITEM).await["version"], 1);
        let actions = audit_actions(&app).await;
        assert_eq!(actions.len(), 1 + cases.len(), "every attempt is audited: {actions:?}");
        assert!(actions[1..].iter().zip(&cases).all(|((_, outcome, status), case)| outcome == "refused" && *status == u64::from(case.status)), "{actions:?}");
        assert_eq!(chain_intact(&app).await["intact"], true);
    }

    async fn the_proposing_region_withdraws_its_open_proposal(app) {
        let id = proposed(&app, Signer::Tianjin, &legal_basis_change(1, "x")).await["id"].as_i64().unwrap();
        voted(&app, id, Signer::Beijing, "approve").await;
        let tag = format!("\"P{id}.2\"");
        let path = format!("/api/v1/proposals/{id}/withdrawal");
        let stranger = app.write(Method::POST, &path, Some(&Signer::Hebei.token(&["editor", "approver"])), Some(&tag), body(&json!({}))).await;
        assert_eq!(stranger.problem(403)["detail"], "only TJ, which proposed it, can withdraw this proposal");
        let no_role = app.write(Method::POST, &path, Some(&Signer::Tianjin.token(&["admin"])), Some(&tag), body(&json!({}))).await;
        assert_eq!(no_role.problem(403)["detail"], "this action needs the `editor` role; the token grants `admin`");
        // Without a body at all.
        let withdrawn = app.write(Method::POST, &path, Some(&Signer::Tianjin.token(&["editor"])), Some(&tag), None).await;
        assert_eq!(withdrawn.status, StatusCode::OK, "{}", String::from_utf8_lossy(&withdrawn.body));
        let withdrawn = withdrawn.json();
        assert_eq!(withdrawn["state"], "withdrawn");
        assert_eq!(withdrawn["outcome"], "withdrawn by TJ");
        assert_eq!(withdrawn["version"], 3);
        assert_eq!(vote(&app, id, Signer::Hebei, "approve").await.problem(409)["detail"], "the proposal is withdrawn; only an open proposal takes votes or can be withdrawn");
        let again = app.write(Method::POST, &path, Some(&Signer::Tianjin.token(&["approver"])), Some(&format!("\"P{id}.3\"")), body(&json!({"reason": "twice"}))).await;
        assert_eq!(again.problem(409)["status"], 409);
        assert_eq!(app.get_json(ITEM).await["version"], 1);
    }

    async fn proposals_are_listed_by_state_awaiting_region_and_entry(app) {
        let on_item = proposed(&app, Signer::Tianjin, &legal_basis_change(1, "a")).await["id"].as_i64().unwrap();
        let on_other = proposed(&app, Signer::Tianjin, &json!({"title": "Rename", "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CUL-004", "base_version": 1, "patch": {"name_en": "Renamed"}}]})).await["id"].as_i64().unwrap();
        let rejected = proposed(&app, Signer::Hebei, &legal_basis_change(1, "b")).await["id"].as_i64().unwrap();
        voted(&app, rejected, Signer::Beijing, "reject").await;
        voted(&app, on_item, Signer::Hebei, "approve").await;
        let ids = |query: &'static str| {
            let app = &app;
            async move {
                let page = app.get_json(&format!("/api/v1/proposals{query}")).await;
                page["items"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect::<Vec<_>>()
            }
        };
        assert_eq!(ids("").await, vec![on_item, on_other, rejected]);
        assert_eq!(ids("?state=open").await, vec![on_item, on_other]);
        assert_eq!(ids("?state=rejected").await, vec![rejected]);
        assert_eq!(ids("?awaiting=HE").await, Vec::<i64>::new(), "HE voted on the first and takes no part in the second");
        assert_eq!(ids("?awaiting=BJ").await, vec![on_item, on_other]);
        assert_eq!(ids("?awaiting=tj").await, vec![on_item, on_other]);
        assert_eq!(ids("?entry=RI-CON-002").await, vec![on_item, rejected]);
        assert_eq!(ids("?entry=RI-CON-002&kind=recognition_item&state=open").await, vec![on_item]);
        assert_eq!(ids("?entry=RI-CON-002&kind=standard_item").await, Vec::<i64>::new());
        assert_eq!(ids("?after=1&limit=1").await, vec![on_other]);
        let page = app.get_json("/api/v1/proposals?limit=2").await;
        assert_eq!(page["next_after"], on_other);
        assert_eq!(app.get("/api/v1/proposals?limit=0").await.problem_naming("limit")["status"], 400);
        assert_eq!(app.get("/api/v1/proposals?state=pending").await.problem(400)["status"], 400);
        assert_eq!(app.get("/api/v1/proposals?awaiting=T!").await.problem_naming("awaiting")["status"], 400);
        assert_eq!(ids("?kind=scenario").await, Vec::<i64>::new());
        assert_eq!(ids("?kind=recognition_item&state=rejected").await, vec![rejected]);
        assert_eq!(app.get("/api/v1/proposals?kind=spaceship").await.problem(400)["status"], 400);
        assert_eq!(app.get("/api/v1/proposals?entry=").await.problem_naming("entry")["status"], 400);
        assert_eq!(app.get("/api/v1/proposals?entry=%01RI").await.problem_naming("entry")["status"], 400);
        assert_eq!(app.get("/api/v1/proposals?sort=id").await.problem(400)["status"], 400);
        assert_eq!(app.get("/api/v1/proposals/12345").await.problem(404)["detail"], "No proposal 12345.");
    }
}
