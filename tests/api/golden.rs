//! Golden answers: complete answers to a fixed set of questions about the sample
//! catalog, committed in `tests/api/golden/` and compared whole, on both backends.
//!
//! A changed answer is a reviewed diff in a commit: run with `JJJ_UPDATE_GOLDEN=1` to
//! rewrite the files, read the diff, and commit it with the change that caused it.
//! `scripts/golden-oracle.py` recomputes the recognition answers, the counts and the
//! target progress from `sample/` by an independent reading of the rules, so an accepted
//! diff is checked once more.

use serde_json::{Value, json};

use crate::helpers::*;

const QUESTIONS: &str = include_str!("golden/recognition-questions.txt");

fn golden_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api/golden")
        .join(name)
}

/// Compares `actual` with the committed golden file, or rewrites it when asked to (from
/// the SQLite run only, so that the two backends do not write at once).
fn assert_golden(app: &TestApp, name: &str, actual: &Value) {
    let path = golden_path(name);
    let update = std::env::var_os("JJJ_UPDATE_GOLDEN").is_some();
    if update && matches!(app.db.url, jjj_registry::storage::DatabaseUrl::Sqlite(_)) {
        let mut text = serde_json::to_string_pretty(actual).unwrap();
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        return;
    }
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with JJJ_UPDATE_GOLDEN=1 to create it",
                path.display()
            )
        }))
        .unwrap();
    let (Some(expected_items), Some(actual_items)) = (expected.as_array(), actual.as_array())
    else {
        assert_eq!(actual, &expected, "{name}");
        return;
    };
    assert_eq!(
        actual_items.len(),
        expected_items.len(),
        "{name}: number of answers"
    );
    for (actual, expected) in actual_items.iter().zip(expected_items) {
        assert_eq!(
            actual, expected,
            "{name}: the answer differs from the golden one"
        );
    }
}

both_backends! {
    async fn recognition_answers_match_the_golden_answers(app) {
        let mut answers = Vec::new();
        for question in QUESTIONS.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let response = app.get(&format!("/api/v1/recognition-status?{question}")).await;
            assert_eq!(response.status.as_u16(), 200, "{question}: {}", String::from_utf8_lossy(&response.body));
            answers.push(json!({"question": question, "answer": response.json()}));
        }
        assert!(answers.len() >= 40, "{}", answers.len());
        assert_golden(&app, "recognition-status.json", &Value::Array(answers));
    }

    async fn the_same_questions_in_one_batch_get_the_same_answers(app) {
        let questions: Vec<Value> = QUESTIONS
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|query| {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
                Value::Object(pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
            })
            .collect();
        let golden: Value = serde_json::from_str(&std::fs::read_to_string(golden_path("recognition-status.json")).unwrap()).unwrap();
        let response = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": questions})).await;
        let results = response.json()["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), golden.as_array().unwrap().len());
        for (index, (result, expected)) in results.iter().zip(golden.as_array().unwrap()).enumerate() {
            assert_eq!(result, &json!({"index": index, "status": 200, "answer": expected["answer"]}), "{}", expected["question"]);
        }
    }

    async fn deviation_reports_match_the_golden_reports(app) {
        let report = app.get_json("/api/v1/deviations").await;
        let mut per_item = Vec::new();
        for item in report["items"].as_array().unwrap() {
            let code = item["code"].as_str().unwrap();
            per_item.push(app.get_json(&format!("/api/v1/standard-items/{code}/deviations")).await);
        }
        let mut filtered = serde_json::Map::new();
        for aspect in ["name", "conditions", "materials", "time_limit", "result_recognition"] {
            for region in ["BJ", "TJ", "HE"] {
                let key = format!("region={region}&aspect={aspect}");
                filtered.insert(key.clone(), app.get_json(&format!("/api/v1/deviations?{key}")).await);
            }
        }
        for direction in ["stricter", "more_convenient", "mixed", "neutral", "undetermined"] {
            let key = format!("direction={direction}");
            filtered.insert(key.clone(), app.get_json(&format!("/api/v1/deviations?{key}")).await);
        }
        assert_golden(&app, "deviations.json", &json!({
            "report": report,
            "per_item": per_item,
            "filtered": filtered,
        }));
    }
}

both_backends! {
    async fn statistics_on_a_day_match_the_golden_statistics(app) {
        let mut stats = Vec::new();
        for (day, window) in [
            ("2022-06-01", ""),
            ("2024-12-31", "&from=2024-01-01&to=2024-12-31"),
            ("2025-06-01", "&from=2025-01-01"),
            ("2027-01-01", "&from=2025-01-01&to=2025-12-31"),
        ] {
            let mut body = app.get_json(&format!("/api/v1/stats?on={day}{window}")).await;
            assert_eq!(body["as_of"], day);
            // The digest names the stored content (timestamps included), not the figures.
            assert!(body["catalog_digest"].as_str().is_some_and(|d| !d.is_empty()));
            body["catalog_digest"] = json!("<digest>");
            stats.push(body);
        }
        assert_golden(&app, "stats.json", &Value::Array(stats));
        app.get("/api/v1/stats?on=2025-02-30").await.problem_naming("on");
    }
}

both_backends! {
    async fn target_progress_on_a_day_matches_the_golden_progress(app) {
        let mut lists = Vec::new();
        for day in ["2024-06-30", "2024-12-31", "2025-06-01", "2025-12-31", "2026-06-30"] {
            let mut body = app.get_json(&format!("/api/v1/targets?on={day}")).await;
            assert_eq!(body["on"], day);
            // When the registry recorded the target is not part of the answer's meaning.
            for target in body["items"].as_array_mut().unwrap() {
                assert!(target["updated_at"].as_str().is_some_and(|t| !t.is_empty()));
                target["updated_at"] = json!("<recorded>");
            }
            lists.push(body);
        }
        assert_golden(&app, "targets.json", &Value::Array(lists));
    }
}
