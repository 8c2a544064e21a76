//! Entry history: every version of an entry as the registry recorded it, what made it,
//! field-level differences, and reads "as known at" a past moment.

use std::time::Duration;

use awc::http::{Method, StatusCode};
use diesel::RunQueryDsl;
use jjj_registry::storage::{Database, StorageError};
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_backends};
use crate::proposals::{legal_basis_change, propose, proposed, voted};
use crate::tokens::Signer;

const ITEM: &str = "/api/v1/recognition-items/RI-CON-002";

/// An entry as its own read returns it, without the provenance block (which is the
/// batch's, not the entry's).
async fn entry_now(app: &TestApp, path: &str) -> Value {
    let mut entry = app.get_json(path).await;
    entry.as_object_mut().unwrap().remove("provenance");
    entry
}

/// A version's account without its time, which is checked to be RFC 3339 in
/// microseconds and returned beside it.
fn timeless(info: &Value) -> (Value, chrono::DateTime<chrono::Utc>) {
    let mut info = info.clone();
    let time = info.as_object_mut().unwrap().remove("recorded_at").unwrap();
    let time = time.as_str().unwrap().to_owned();
    let fraction = time
        .split_once('.')
        .map_or("", |(_, f)| f.trim_end_matches('Z'));
    assert!(fraction.len() <= 6, "{time}");
    (info, time.parse().unwrap())
}

/// The feed's sequence number of the last change to `code`.
async fn last_change_of(app: &TestApp, code: &str) -> i64 {
    let page = app.get_json("/api/v1/changes?after=0&limit=1000").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entry_code"] == code)
        .map(|c| c["seq"].as_i64().unwrap())
        .max()
        .unwrap()
}

both_backends! {
    async fn an_entry_keeps_every_version_and_what_made_it(app) {
        let created_seq = last_change_of(&app, "RI-CON-002").await;
        let as_loaded = entry_now(&app, ITEM).await;
        let listed = app.get_json(&format!("{ITEM}/versions")).await;
        assert_eq!(listed["entry_kind"], "recognition_item");
        assert_eq!(listed["code"], "RI-CON-002");
        let (first, _) = timeless(&listed["versions"][0]);
        assert_eq!(listed["versions"].as_array().unwrap().len(), 1);
        assert_eq!(first, json!({"version": 1, "seq": created_seq, "change": "entry_created", "region": null,
            "proposal": null, "actor": null, "batch": "JJJ-2021-01"}));

        // A region's own edit, a shared change by proposal, a unilateral act.
        let edit = app.patch(&format!("{ITEM}/local-parts/TJ"), &Signer::Tianjin.token(&["editor"]), "\"RI-CON-002.TJ.1\"",
            &json!({"contact": "022-12345678"})).await;
        assert_eq!(edit.status, StatusCode::OK);
        let after_edit = entry_now(&app, ITEM).await;
        let proposal = proposed(&app, Signer::Tianjin, &legal_basis_change(2, "三地联合通知")).await;
        let id = proposal["id"].as_i64().unwrap();
        for region in [Signer::Beijing, Signer::Tianjin, Signer::Hebei] {
            voted(&app, id, region, "approve").await;
        }
        let suspended = app.write(Method::POST, &format!("{ITEM}/suspensions"), Some(&Signer::Tianjin.token(&["approver"])), None,
            Some(("application/json", json!({"used_in": "TJ", "reason": "核验接口维护"}).to_string().into_bytes()))).await;
        assert_eq!(suspended.status, StatusCode::CREATED);
        let now = entry_now(&app, ITEM).await;
        assert_eq!(now["version"], 4);

        let feed = app.get_json("/api/v1/changes?after=150&limit=1000").await;
        let seq_of = |kind: &str| feed["items"].as_array().unwrap().iter()
            .find(|c| c["kind"] == kind && c["entry_code"] == "RI-CON-002").unwrap()["seq"].clone();
        let listed = app.get_json(&format!("{ITEM}/versions")).await;
        let accounts: Vec<(Value, chrono::DateTime<chrono::Utc>)> =
            listed["versions"].as_array().unwrap().iter().map(timeless).collect();
        assert_eq!(accounts.iter().map(|(info, _)| info.clone()).collect::<Vec<_>>(), vec![
            first.clone(),
            json!({"version": 2, "seq": seq_of("local_part_changed"), "change": "local_part_changed", "region": "TJ",
                   "proposal": null, "actor": "tester@TJ", "batch": "JJJ-2021-01"}),
            json!({"version": 3, "seq": seq_of("entry_changed"), "change": "entry_changed", "region": null,
                   "proposal": id, "actor": null, "batch": "JJJ-2021-01"}),
            json!({"version": 4, "seq": seq_of("acceptance_suspended"), "change": "acceptance_suspended", "region": "TJ",
                   "proposal": null, "actor": "tester@TJ", "batch": "JJJ-2021-01"}),
        ]);
        assert!(accounts.windows(2).all(|pair| pair[0].1 <= pair[1].1), "recorded in order");

        // Each version is the entry exactly as its own read returned it then.
        for (number, expected) in [(1, &as_loaded), (2, &after_edit), (4, &now)] {
            let version = app.get(&format!("{ITEM}/versions/{number}")).await;
            assert_eq!(version.status, StatusCode::OK);
            assert!(version.header("etag").is_some());
            let version = version.json();
            assert_eq!(&version["entry"], expected, "version {number}");
            assert_eq!(version["entry_kind"], "recognition_item");
            assert_eq!(timeless(&listed["versions"][number - 1]).0["version"], number);
            let mut info = version.clone();
            info.as_object_mut().unwrap().remove("entry");
            info.as_object_mut().unwrap().remove("entry_kind");
            assert_eq!(info, listed["versions"][number - 1], "version {number}");
        }

        // What changed, field by field: the edit's one field (and the entry's time).
        let index = as_loaded["local_parts"].as_array().unwrap().iter().position(|p| p["region"] == "TJ").unwrap();
        let compared = app.get_json(&format!("{ITEM}/diff?from=1&to=2")).await;
        assert_eq!(compared, json!({
            "entry_kind": "recognition_item", "code": "RI-CON-002",
            "from": listed["versions"][0], "to": listed["versions"][1],
            "changes": [
                {"path": format!("local_parts[{index}].contact"), "before": as_loaded["local_parts"][index]["contact"], "after": "022-12345678"},
                {"path": "updated_at", "before": as_loaded["updated_at"], "after": after_edit["updated_at"]},
            ],
        }));
        // `to` defaults to the latest; the shared change is there.
        let to_latest = app.get_json(&format!("{ITEM}/diff?from=2")).await;
        assert_eq!(to_latest["to"], listed["versions"][3]);
        let paths: Vec<&str> = to_latest["changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
        assert!(paths.contains(&"legal_basis"), "{paths:?}");
        assert!(paths.iter().any(|p| p.starts_with("suspensions")), "{paths:?}");
        assert!(!paths.contains(&"version"), "the version number itself is not a change");

        // Other kinds keep theirs too.
        let target = app.get_json("/api/v1/targets/TG-2025-01/versions").await;
        assert_eq!(target["versions"].as_array().unwrap().len(), 1);
        assert_eq!(app.get_json("/api/v1/targets/TG-2025-01/versions/1").await["entry"]["code"], "TG-2025-01");
        assert_eq!(app.get_json("/api/v1/standard-items/SS-MR-001/versions").await["versions"][0]["version"], 1);
        assert_eq!(app.get_json("/api/v1/scenarios/SC-001/versions").await["versions"][0]["change"], "entry_created");
    }

    async fn bad_history_requests_are_refused_by_name(app) {
        for (path, status, field) in [
            (format!("{ITEM}/versions/0"), 400, Some("version")),
            (format!("{ITEM}/versions/x"), 400, Some("version")),
            (format!("{ITEM}/versions/-1"), 400, Some("version")),
            (format!("{ITEM}/versions?since=1"), 400, Some("since")),
            (format!("{ITEM}/diff"), 400, Some("from")),
            (format!("{ITEM}/diff?from=1&to=zero"), 400, Some("to")),
            (format!("{ITEM}/diff?from=1&until=2"), 400, Some("until")),
            (format!("{ITEM}?as_known_at=yesterday"), 400, Some("as_known_at")),
            (format!("{ITEM}?as_known_at=2026-03-01T10:00:00"), 400, Some("as_known_at")),
            ("/api/v1/recognition-status?item=RI-CON-002&issued_in=HE&used_in=TJ&as_known_at=2026-03-01".to_owned(), 400, Some("as_known_at")),
            (format!("{ITEM}/versions/2"), 404, None),
            (format!("{ITEM}/diff?from=1&to=9"), 404, None),
            ("/api/v1/recognition-items/RI-NONE/versions".to_owned(), 404, None),
            ("/api/v1/targets/RI-CON-002/versions".to_owned(), 404, None),
            // A code no entry can have is unknown, on PostgreSQL (which refuses NUL) too.
            ("/api/v1/recognition-items/RI%00CON/versions".to_owned(), 404, None),
            ("/api/v1/standard-items/%07/diff?from=1".to_owned(), 404, None),
            (format!("/api/v1/targets/{}/versions/1", "T".repeat(65)), 404, None),
        ] {
            let response = app.get(&path).await;
            let problem = match field {
                Some(field) => response.problem_naming(field),
                None => response.problem(status),
            };
            assert_eq!(problem["status"], status, "{path}: {problem}");
        }
        let missing = app.get(&format!("{ITEM}/versions/2")).await.problem(404);
        assert_eq!(missing["detail"], "The recognition item `RI-CON-002` has no version 2.");
        let unknown = app.get("/api/v1/recognition-items/RI-NONE/versions").await.problem(404);
        assert_eq!(unknown["detail"], "No recognition item has the code `RI-NONE`.");
    }

    async fn as_known_at_answers_from_what_was_recorded_then(app) {
        // Before anything changed: the catalog as loaded.
        let item_then = app.get_json(ITEM).await;
        let status_path = "/api/v1/recognition-status?item=RI-CON-002&issued_in=HE&used_in=TJ";
        let index = item_then["arrangements"].as_array().unwrap().iter()
            .position(|a| a["issued_in"] == "HE" && a["used_in"] == "TJ").unwrap();
        let effective_from: chrono::NaiveDate = item_then["arrangements"][index]["effective_from"].as_str().unwrap().parse().unwrap();
        let earlier = effective_from - chrono::TimeDelta::days(365);
        let asked_day = earlier + chrono::TimeDelta::days(30);
        let status_then = app.get_json(&format!("{status_path}&on={asked_day}")).await;
        let list_then = app.get_json("/api/v1/recognition-items?limit=200").await;
        let stats_then = app.get_json(&format!("/api/v1/stats?on={asked_day}")).await;
        assert_eq!(status_then["decision"], "not_yet_in_force");
        actix_rt::time::sleep(Duration::from_millis(5)).await;
        let moment = chrono::Utc::now();
        actix_rt::time::sleep(Duration::from_millis(5)).await;

        // Recorded late, effective earlier: the arrangement is agreed to have applied a
        // year before it was first recorded.
        let mut arrangements = item_then["arrangements"].clone();
        arrangements[index]["effective_from"] = json!(earlier.to_string());
        let proposal = proposed(&app, Signer::Tianjin, &json!({
            "title": "Backdate HE→TJ", "rationale": "The joint notice applies from an earlier day",
            "changes": [{"action": "update", "kind": "recognition_item", "code": "RI-CON-002",
                         "base_version": item_then["version"], "patch": {"arrangements": arrangements}}]
        })).await;
        let id = proposal["id"].as_i64().unwrap();
        for region in [Signer::Beijing, Signer::Tianjin, Signer::Hebei] {
            voted(&app, id, region, "approve").await;
        }

        // What was in force that day, as known now: recognised.
        let now = app.get_json(&format!("{status_path}&on={asked_day}")).await;
        assert_eq!(now["decision"], "recognised");
        assert_eq!(now["effective_from"], earlier.to_string());
        assert_eq!(now["item_version"], 2);
        // As the registry knew it at the moment before: exactly the answer it gave then.
        let at = moment.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let then = app.get_json(&format!("{status_path}&on={asked_day}&as_known_at={at}")).await;
        assert_eq!(then, status_then);
        // With an offset other than UTC, the same moment.
        let in_beijing = moment.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, false).replace('+', "%2B");
        assert_eq!(app.get_json(&format!("{status_path}&on={asked_day}&as_known_at={in_beijing}")).await, status_then);
        // Without `on`: the day of that moment in China.
        let day_then = (moment + chrono::TimeDelta::hours(8)).date_naive().to_string();
        assert_eq!(app.get_json(&format!("{status_path}&as_known_at={at}")).await["on"], day_then);

        // Lists and statistics, then and now.
        assert_eq!(app.get_json(&format!("/api/v1/recognition-items?limit=200&as_known_at={at}")).await, list_then);
        assert_ne!(app.get_json("/api/v1/recognition-items?limit=200").await, list_then);
        assert_eq!(app.get_json(&format!("/api/v1/stats?on={asked_day}&as_known_at={at}")).await, stats_then);
        assert_ne!(app.get_json(&format!("/api/v1/stats?on={asked_day}")).await, stats_then, "HE→TJ is recognised that day now");
        // A cursor belongs to the moment its first page was read as known at.
        let first = app.get_json(&format!("/api/v1/recognition-items?limit=1&as_known_at={at}")).await;
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = app.get_json(&format!("/api/v1/recognition-items?limit=1&as_known_at={at}&cursor={cursor}")).await;
        assert_eq!(second["items"][0], list_then["items"][1]);
        app.get(&format!("/api/v1/recognition-items?limit=1&cursor={cursor}")).await.problem_naming("cursor");

        // The item itself, then and now.
        assert_eq!(app.get_json(&format!("{ITEM}?as_known_at={at}")).await, item_then);
        assert_eq!(app.get_json(&format!("{ITEM}?as_known_at={}", chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true))).await,
            app.get_json(ITEM).await);
        // Before the catalog existed, nothing was known.
        let before_all = "1999-01-01T00:00:00Z";
        assert_eq!(app.get(&format!("{ITEM}?as_known_at={before_all}")).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.get_json(&format!("/api/v1/targets?as_known_at={before_all}")).await["items"], json!([]));
        let target_then = app.get_json(&format!("/api/v1/targets/TG-2025-01?as_known_at={at}")).await;
        assert_eq!(target_then, app.get_json("/api/v1/targets/TG-2025-01").await, "no target changed");

        // A batch as known at a moment: given once, beside the questions.
        let question = json!({"item": "RI-CON-002", "issued_in": "HE", "used_in": "TJ", "on": asked_day.to_string()});
        let batch = app.post_json("/api/v1/recognition-status/batch",
            &json!({"questions": [question.clone()], "as_known_at": at})).await.json();
        assert_eq!(batch["results"][0]["answer"], status_then);
        let batch_now = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": [question]})).await.json();
        assert_eq!(batch_now["results"][0]["answer"], now);
        let per_question = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": [
            {"item": "RI-CON-002", "issued_in": "HE", "used_in": "TJ", "as_known_at": at}]})).await.json();
        assert_eq!(per_question["results"][0]["status"], 400);
        assert_eq!(per_question["results"][0]["problem"]["errors"][0]["field"], "as_known_at");
        let bad_moment = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": [], "as_known_at": "then"})).await;
        bad_moment.problem_naming("as_known_at");
    }

    async fn a_database_without_history_gets_each_entry_current_version(app) {
        let database = Database::open(&app.db.url, 1, Duration::from_secs(5)).unwrap();
        let versions_of = |path: &'static str| {
            let app = &app;
            async move { app.get_json(path).await["versions"].clone() }
        };
        let recorded = versions_of("/api/v1/recognition-items/RI-CON-002/versions").await;
        database.run_here(|conn| diesel::sql_query("DELETE FROM entry_versions").execute(conn).map_err(StorageError::from)).unwrap();
        assert_eq!(app.get("/api/v1/recognition-items/RI-CON-002/versions").await.status, StatusCode::NOT_FOUND);

        let entries = app.get_json("/api/v1/changes?after=0&limit=1000").await["items"].as_array().unwrap().len();
        let backfilled = database.run_here(jjj_registry::storage::history::backfill).unwrap();
        assert_eq!(backfilled, entries, "one version for each entry of the sample");
        assert_eq!(versions_of("/api/v1/recognition-items/RI-CON-002/versions").await, recorded);
        assert_eq!(database.run_here(jjj_registry::storage::history::backfill).unwrap(), 0, "only once");
    }
}

both_backends! {
    async fn a_retired_entry_keeps_its_history_and_names_its_successor(app) {
        const RETIRED: &str = "/api/v1/recognition-items/RI-CUL-004";
        let before = entry_now(&app, RETIRED).await;
        let retire = |successor: &str| json!({
            "title": "Retire RI-CUL-004", "rationale": "Replaced",
            "changes": [{"action": "retire", "kind": "recognition_item", "code": "RI-CUL-004",
                         "base_version": before["version"], "effective_on": "2027-01-01", "superseded_by": successor}]
        });
        // A successor must be another existing entry of the same kind.
        for successor in ["RI-NONE-001", "RI-CUL-004", "SS-MR-001"] {
            let refused = propose(&app, Signer::Tianjin, &retire(successor)).await;
            let problem = refused.problem(400);
            assert!(problem["detail"].as_str().unwrap().contains("superseded_by"), "{successor}: {problem}");
        }
        let proposal = proposed(&app, Signer::Tianjin, &retire("RI-CON-002")).await;
        let id = proposal["id"].as_i64().unwrap();
        voted(&app, id, Signer::Beijing, "approve").await;
        let applied = voted(&app, id, Signer::Tianjin, "approve").await;
        assert_eq!(applied["state"], "applied");

        // Still readable, whole, with the link to its successor.
        let after = entry_now(&app, RETIRED).await;
        let mut expected = before.clone();
        expected["version"] = json!(2);
        expected["status"] = json!("retired");
        expected["status_since"] = json!("2027-01-01");
        expected["superseded_by"] = json!("RI-CON-002");
        expected["updated_at"] = after["updated_at"].clone();
        assert_eq!(after, expected);
        assert!(before.get("superseded_by").is_none(), "left out where there is none");
        // And its history says how it came to be retired.
        let versions = app.get_json(&format!("{RETIRED}/versions")).await["versions"].clone();
        assert_eq!(versions.as_array().unwrap().len(), 2);
        assert_eq!(timeless(&versions[1]).0["change"], "entry_retired");
        assert_eq!(timeless(&versions[1]).0["proposal"], id);
        assert_eq!(app.get_json(&format!("{RETIRED}/versions/1")).await["entry"], before);
        assert_eq!(app.get_json(&format!("{RETIRED}/versions/2")).await["entry"], after);
    }
}
