//! The programme as it reports itself: batches and what they published, programmes and
//! channels, dated scenarios, targets with progress, and counts for a day or a window.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::helpers::{both_backends, sample};

fn codes(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

fn sample_codes(file: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut codes: Vec<String> = sample(file)
        .iter()
        .filter(|e| keep(e))
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

both_backends! {
    async fn every_entry_cites_a_batch_that_publishes_its_kind(app) {
        let batches = app.get_json("/api/v1/batches").await;
        let publishes: BTreeMap<String, Vec<Value>> = batches["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["code"].as_str().unwrap().to_owned(), b["publishes"].as_array().unwrap().clone()))
            .collect();
        let mut checked = 0;
        for (path, kind) in [
            ("/api/v1/recognition-items?limit=200", "recognition_item"),
            ("/api/v1/standard-items?limit=200", "standard_item"),
            ("/api/v1/scenarios?limit=200", "scenario"),
        ] {
            let list = app.get_json(path).await;
            assert_eq!(list["next_cursor"], Value::Null, "{path} fits one page");
            for entry in list["items"].as_array().unwrap() {
                let batch = entry["batch"].as_str().unwrap();
                assert!(publishes[batch].contains(&json!(kind)), "{} cites {batch}, which publishes no {kind}", entry["code"]);
                checked += 1;
            }
        }
        assert_eq!(checked, sample("recognition-items").len() + sample("standard-items").len() + sample("scenarios").len());
        // Programme memberships cite batches that announce that programme, no earlier
        // than the batch was published.
        let by_code: BTreeMap<&str, &Value> = batches["items"].as_array().unwrap().iter().map(|b| (b["code"].as_str().unwrap(), b)).collect();
        for item in sample("standard-items") {
            for membership in item["programmes"].as_array().unwrap() {
                let batch = by_code[membership["batch"].as_str().unwrap()];
                assert!(batch["programmes"].as_array().unwrap().contains(&membership["programme"]), "{}: {membership}", item["code"]);
                assert!(membership["joined_on"].as_str().unwrap() >= batch["published_on"].as_str().unwrap());
            }
        }
    }

    async fn batches_list_in_publication_order_with_what_each_published(app) {
        let list = app.get_json("/api/v1/batches").await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), sample("batches").len());
        let days: Vec<&str> = items.iter().map(|b| b["published_on"].as_str().unwrap()).collect();
        let mut sorted = days.clone();
        sorted.sort();
        assert_eq!(days, sorted);
        for batch in items {
            let code = batch["code"].as_str().unwrap();
            let cites = |file: &str| sample(file).iter().filter(|e| e["batch"] == code).count();
            let memberships = sample("standard-items")
                .iter()
                .flat_map(|i| i["programmes"].as_array().unwrap().clone())
                .filter(|m| m["batch"] == code)
                .count();
            assert_eq!(
                batch["counts"],
                json!({
                    "recognition_items": cites("recognition-items"),
                    "standard_items": cites("standard-items"),
                    "scenarios": cites("scenarios"),
                    "programme_memberships": memberships,
                }),
                "{code}"
            );
        }
    }

    async fn a_batch_lists_every_entry_and_membership_it_published(app) {
        let batch = app.get_json("/api/v1/batches/JJJ-2025-01").await;
        assert_eq!(batch["document_no"], "京津冀政服联〔2025〕1号（示例）");
        assert_eq!(batch["published_on"], "2025-05-20");
        assert_eq!(batch["publishes"], json!(["recognition_item", "standard_item", "scenario"]));
        let listed = |key: &str| -> Vec<String> {
            batch[key].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap().to_owned()).collect()
        };
        assert_eq!(listed("recognition_items"), sample_codes("recognition-items", |i| i["batch"] == "JJJ-2025-01"));
        assert_eq!(listed("standard_items"), sample_codes("standard-items", |i| i["batch"] == "JJJ-2025-01"));
        assert_eq!(listed("scenarios"), vec!["SC-008", "SC-009"]);
        let sc008 = &batch["scenarios"][0];
        assert_eq!(sc008, &json!({"code": "SC-008", "name_zh": "危险化学品企业跨区域经营", "name_en": "Hazardous chemicals company operates across jurisdictions", "status": "active"}));
        let memberships: Vec<(String, String)> = batch["programme_memberships"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["item"].as_str().unwrap().to_owned(), m["programme"].as_str().unwrap().to_owned()))
            .collect();
        let mut expected = Vec::new();
        for item in sample("standard-items") {
            for m in item["programmes"].as_array().unwrap() {
                if m["batch"] == "JJJ-2025-01" {
                    expected.push((item["code"].as_str().unwrap().to_owned(), m["programme"].as_str().unwrap().to_owned()));
                }
            }
        }
        expected.sort();
        let mut sorted = memberships.clone();
        sorted.sort();
        assert_eq!(sorted, expected);
        assert!(expected.iter().any(|(_, p)| p == "offsite_self_service"));
        let joined = batch["programme_memberships"].as_array().unwrap().iter().find(|m| m["item"] == "SS-HL-004" && m["programme"] == "offsite_self_service").unwrap();
        assert_eq!(joined, &json!({"item": "SS-HL-004", "name_zh": "基本医疗保险异地就医备案", "programme": "offsite_self_service", "joined_on": "2025-06-01"}));

        app.get("/api/v1/batches/JJJ-1999-01").await.problem(404);
        app.get("/api/v1/batches/JJJ-2025-01?on=2025-01-01").await.problem_naming("on");
        app.get("/api/v1/batches?kind=scenario").await.problem_naming("kind");
    }

    async fn programmes_are_listed_in_display_order(app) {
        let list = app.get_json("/api/v1/programmes").await;
        assert_eq!(codes(&list), vec!["same_standard", "cross_province", "regional", "offsite_self_service"]);
        assert_eq!(list["items"][1], json!({"code": "cross_province", "name_zh": "跨省通办", "name_en": "Cross-province services"}));
    }

    async fn standard_items_filter_by_programme_membership_today_and_by_channel(app) {
        // Membership is judged today: SS-FT-004 left the regional list at the end of 2025.
        let today = app.get_json("/api/v1/stats").await["as_of"].as_str().unwrap().to_owned();
        let member_today = |item: &Value, programme: &str| {
            item["programmes"].as_array().unwrap().iter().any(|m| {
                m["programme"] == programme
                    && m["joined_on"].as_str().unwrap() <= today.as_str()
                    && m["left_on"].as_str().is_none_or(|last| today.as_str() <= last)
            })
        };
        for programme in ["same_standard", "cross_province", "regional", "offsite_self_service"] {
            let list = app.get_json(&format!("/api/v1/standard-items?programme={programme}&limit=200")).await;
            let expected = sample_codes("standard-items", |i| member_today(i, programme));
            assert!(!expected.is_empty(), "{programme}");
            assert_eq!(codes(&list), expected, "{programme}");
        }
        let regional = codes(&app.get_json("/api/v1/standard-items?programme=regional&limit=200").await);
        assert!(!regional.contains(&"SS-FT-004".to_owned()), "SS-FT-004 left the regional list");

        let has_channel = |item: &Value, channel: &str, region: Option<&str>| {
            item["local_parts"].as_array().unwrap().iter().any(|p| {
                region.is_none_or(|r| p["region"] == r) && p["channels"].as_array().unwrap().contains(&json!(channel))
            })
        };
        for channel in ["online_end_to_end", "self_service_terminal", "offsite_counter", "joint_handling"] {
            let list = app.get_json(&format!("/api/v1/standard-items?channel={channel}&limit=200")).await;
            let expected = sample_codes("standard-items", |i| has_channel(i, channel, None));
            assert!(!expected.is_empty(), "{channel}");
            assert_eq!(codes(&list), expected, "{channel}");
        }
        // With a region, the channel is that region's.
        let tj = app.get_json("/api/v1/standard-items?channel=self_service_terminal&region=TJ&limit=200").await;
        let expected = sample_codes("standard-items", |i| has_channel(i, "self_service_terminal", Some("TJ")));
        assert_eq!(codes(&tj), expected);
        // SS-HR-006 is self-service only where implemented: HE has not started it.
        assert!(!codes(&app.get_json("/api/v1/standard-items?channel=self_service_terminal&region=HE&limit=200").await).contains(&"SS-HR-006".to_owned()));
        assert!(codes(&tj).contains(&"SS-HR-006".to_owned()));
        // Self-service terminals say which identity credentials they take.
        let item = app.get_json("/api/v1/standard-items/SS-HL-004").await;
        let tj_part = item["local_parts"].as_array().unwrap().iter().find(|p| p["region"] == "TJ").unwrap();
        assert_eq!(tj_part["channels"], json!(["online_end_to_end", "self_service_terminal", "offsite_counter"]));
        assert_eq!(tj_part["terminal_identity"], json!(["resident_id_card", "social_security_card", "electronic_social_security_code"]));
        assert_eq!(item["programmes"][2], json!({"programme": "offsite_self_service", "batch": "JJJ-2025-01", "joined_on": "2025-06-01", "left_on": null}));

        // A cursor belongs to its filters: the programme is part of the query.
        let first = app.get_json("/api/v1/standard-items?programme=same_standard&limit=2").await;
        let cursor = first["next_cursor"].as_str().unwrap();
        app.get(&format!("/api/v1/standard-items?programme=cross_province&limit=2&cursor={cursor}")).await.problem_naming("cursor");

        app.get("/api/v1/standard-items?programme=nationwide").await.problem_naming("programme");
        app.get("/api/v1/standard-items?programme=").await.problem_naming("programme");
        app.get("/api/v1/standard-items?channel=fax").await.problem_naming("channel");
    }

    async fn scenarios_are_dated_scoped_entries_filtered_by_region_status_and_year(app) {
        let scenario = app.get_json("/api/v1/scenarios/SC-011").await;
        let mut without_time = scenario.clone();
        without_time.as_object_mut().unwrap().remove("updated_at");
        assert_eq!(
            without_time,
            json!({
                "code": "SC-011",
                "version": 1,
                "name_zh": "出租汽车驾驶员京津跨城执业",
                "name_en": "Taxi drivers work across Beijing and Tianjin",
                "description_zh": "在北京或天津取得出租汽车驾驶员从业资格的驾驶员，到另一市从业时办理备案后即可上岗，无需重新考试。",
                "description_en": "A taxi driver qualified in Beijing or Tianjin can work in the other city after filing, without a new examination.",
                "situation_zh": "天津的出租汽车驾驶员到北京从业，备案后即可上岗。",
                "situation_en": "A Tianjin taxi driver files with Beijing and starts work there.",
                "launched_on": "2025-09-15",
                "batch": "JJJ-2025-02",
                "status": "active",
                "status_since": null,
                "regions": ["BJ", "TJ"],
                "lead_region": "BJ",
                "lead_department": "北京市交通委员会",
                "recognition_items": ["RI-TRA-006", "RI-TRA-002"],
                "standard_items": [],
            })
        );
        // SC-007 was launched on 2024-12-31: not a 2025 scenario.
        let in_2025 = app.get_json("/api/v1/scenarios?launched_in=2025").await;
        assert_eq!(codes(&in_2025), vec!["SC-008", "SC-009", "SC-010", "SC-011"]);
        assert_eq!(codes(&app.get_json("/api/v1/scenarios?launched_in=2024").await), vec!["SC-005", "SC-006", "SC-007"]);
        assert_eq!(codes(&app.get_json("/api/v1/scenarios?launched_in=2022").await), Vec::<String>::new());
        // Region: the scenario's own participants (SC-011 is Beijing and Tianjin only).
        let in_he = codes(&app.get_json("/api/v1/scenarios?region=HE&limit=200").await);
        assert_eq!(in_he, sample_codes("scenarios", |s| s["regions"].as_array().unwrap().contains(&json!("HE"))));
        assert!(!in_he.contains(&"SC-011".to_owned()));
        assert_eq!(codes(&app.get_json("/api/v1/scenarios?status=active&limit=200").await), sample_codes("scenarios", |s| s["status"] == "active"));
        assert_eq!(codes(&app.get_json("/api/v1/scenarios?status=retired").await), Vec::<String>::new());
        assert_eq!(codes(&app.get_json("/api/v1/scenarios?launched_in=2025&region=BJ&q=%E5%87%BA%E7%A7%9F").await), vec!["SC-011"]);

        for bad in ["launched_in=25", "launched_in=02025", "launched_in=0999", "launched_in=2025.0", "launched_in=", "status=open"] {
            let field = bad.split('=').next().unwrap();
            app.get(&format!("/api/v1/scenarios?{bad}")).await.problem_naming(field);
        }
        // Cursors are tied to the filters, the new ones included.
        let first = app.get_json("/api/v1/scenarios?launched_in=2023&limit=2").await;
        let cursor = first["next_cursor"].as_str().unwrap();
        app.get(&format!("/api/v1/scenarios?launched_in=2024&limit=2&cursor={cursor}")).await.problem_naming("cursor");
        let second = app.get_json(&format!("/api/v1/scenarios?launched_in=2023&limit=2&cursor={cursor}")).await;
        assert_eq!(codes(&second), vec!["SC-003", "SC-004"]);
    }

    async fn stats_on_a_past_day_ignore_what_was_published_after_it(app) {
        let before = app.get_json("/api/v1/stats?on=2025-05-19").await;
        let after = app.get_json("/api/v1/stats?on=2025-05-20").await;
        // JJJ-2025-01 (published 2025-05-20) brought recognition and standard items.
        let cites = |file: &str| sample(file).iter().filter(|e| e["batch"] == "JJJ-2025-01").count();
        assert_eq!(after["recognition_items"].as_u64().unwrap() - before["recognition_items"].as_u64().unwrap(), cites("recognition-items") as u64);
        assert_eq!(after["standard_items"].as_u64().unwrap() - before["standard_items"].as_u64().unwrap(), cites("standard-items") as u64);
        assert_eq!(before["by_batch"].get("JJJ-2025-01"), None);
        assert_eq!(after["by_batch"]["JJJ-2025-01"], cites("recognition-items") + cites("standard-items"));
        // Its scenarios were launched on 2025-06-01, not on publication.
        assert_eq!(after["scenarios"], before["scenarios"]);
        let launched = app.get_json("/api/v1/stats?on=2025-06-01").await;
        assert_eq!(launched["scenarios"].as_u64().unwrap(), before["scenarios"].as_u64().unwrap() + 2);
        assert_eq!(before["published"], Value::Null);
    }

    async fn stats_windows_count_what_was_newly_published(app) {
        let year = app.get_json("/api/v1/stats?on=2026-01-01&from=2025-01-01&to=2025-12-31").await;
        let published = &year["published"];
        assert_eq!(published["from"], "2025-01-01");
        assert_eq!(published["to"], "2025-12-31");
        // SC-007, launched 2024-12-31, is not new in 2025.
        assert_eq!(published["scenarios"], 4);
        let last_day_of_2024 = app.get_json("/api/v1/stats?on=2025-01-01&from=2024-12-31&to=2024-12-31").await;
        assert_eq!(last_day_of_2024["published"]["scenarios"], 1);
        assert_eq!(last_day_of_2024["published"]["by_region"]["TJ"]["scenarios"], 1);
        // Without `to`, the window ends on `on`.
        let to_on = app.get_json("/api/v1/stats?on=2025-06-01&from=2025-01-01").await;
        assert_eq!(to_on["published"]["to"], "2025-06-01");
        assert_eq!(to_on["published"]["scenarios"], 2);
        assert_eq!(to_on["published"]["programme_memberships"], json!({"offsite_self_service": 6, "regional": 4, "same_standard": 16}));

        // Without `from`, the window starts with the first publication.
        let up_to_2024 = app.get_json("/api/v1/stats?on=2026-01-01&to=2024-12-31").await;
        let first = sample("batches").iter().map(|b| b["published_on"].as_str().unwrap().to_owned()).min().unwrap();
        assert_eq!(up_to_2024["published"]["from"], first.as_str());
        assert_eq!(up_to_2024["published"]["scenarios"], 7);
        assert_eq!(
            up_to_2024["published"]["recognition_items"],
            sample("recognition-items").iter().filter(|i| ["JJJ-2021-01", "JJJ-2023-01", "JJJ-2024-01", "JJJ-2024-04"].contains(&i["batch"].as_str().unwrap())).count()
        );
        app.get("/api/v1/stats?from=2025-12-31&to=2025-01-01").await.problem_naming("to");
        app.get("/api/v1/stats?from=2025-13-01").await.problem_naming("from");
        app.get("/api/v1/stats?from=").await.problem_naming("from");
    }

    async fn targets_report_progress_counted_from_the_catalog_for_any_day(app) {
        let listing = app.get_json("/api/v1/targets?on=2025-12-31").await;
        assert_eq!(listing["on"], "2025-12-31");
        assert_eq!(codes(&listing), sample_codes("targets", |_| true));
        let mut scenarios = app.get_json("/api/v1/targets/TG-2025-01?on=2025-12-31").await;
        assert!(scenarios["updated_at"].as_str().is_some_and(|t| !t.is_empty()));
        scenarios.as_object_mut().unwrap().remove("updated_at");
        assert_eq!(
            scenarios,
            json!({
                "code": "TG-2025-01",
                "version": 1,
                "title_zh": "年内至少再推出40个资质资格互认场景",
                "title_en": "At least 40 more qualification recognition scenarios launched in the year",
                "source_document_no": "京津冀政服协〔2025〕1号（示例）",
                "source_title_zh": "京津冀政务服务协同发展2025年工作要点（示例）",
                "clause": "三、（一）",
                "metric": {"counts": "scenario", "programme": null, "region": null, "item_kind": null, "window_from": "2025-01-01", "window_to": "2025-12-31"},
                "target_value": 40,
                "deadline": "2025-12-31",
                "lead_unit": "河北省政务服务管理办公室",
                "cooperating_units": ["北京市政务服务和数据管理局", "天津市政务服务办公室"],
                "progress": {"on": "2025-12-31", "value": 4, "target_value": 40, "remaining": 36, "percent": 10.0, "state": "open", "days_to_deadline": 0},
            })
        );
        // A past day ignores scenarios launched after it; after the deadline, the target
        // is missed.
        let june = app.get_json("/api/v1/targets/TG-2025-01?on=2025-06-01").await;
        assert_eq!(june["progress"]["value"], 2);
        assert_eq!(june["progress"]["days_to_deadline"], 213);
        let next_year = app.get_json("/api/v1/targets/TG-2025-01?on=2026-01-01").await;
        assert_eq!(next_year["progress"]["state"], "missed");
        assert_eq!(next_year["progress"]["value"], 4);
        // Programme targets count members on the day: six off-site self-service items
        // joined on 2025-06-01, three more on 2025-09-15.
        let self_service = |day: &str| format!("/api/v1/targets/TG-2024-03?on={day}");
        assert_eq!(app.get_json(&self_service("2025-05-31")).await["progress"]["value"], 0);
        assert_eq!(app.get_json(&self_service("2025-06-01")).await["progress"]["value"], 6);
        assert_eq!(app.get_json(&self_service("2025-09-15")).await["progress"]["value"], 9);

        app.get("/api/v1/targets/TG-1999-01").await.problem(404);
        app.get("/api/v1/targets?on=2025-12-32").await.problem_naming("on");
        app.get("/api/v1/targets/TG-2025-01?on=").await.problem_naming("on");
        app.get("/api/v1/targets?region=TJ").await.problem_naming("region");
    }

    async fn the_new_reads_answer_if_none_match_with_304(app) {
        for path in ["/api/v1/programmes", "/api/v1/batches", "/api/v1/batches/JJJ-2024-02", "/api/v1/targets?on=2025-06-01", "/api/v1/targets/TG-2024-01"] {
            let first = app.get(path).await;
            assert_eq!(first.status.as_u16(), 200, "{path}");
            let etag = first.header("etag").unwrap_or_else(|| panic!("{path} has no ETag"));
            let again = app.get_with(path, &[("if-none-match", &etag)]).await;
            assert_eq!(again.status.as_u16(), 304, "{path}");
        }
        // Progress on another day is another answer.
        let june = app.get("/api/v1/targets?on=2025-06-01").await.header("etag");
        let december = app.get("/api/v1/targets?on=2025-12-31").await.header("etag");
        assert!(june.is_some() && december.is_some());
        assert_ne!(june, december);
        let all: BTreeSet<Option<String>> = [june, december].into_iter().collect();
        assert_eq!(all.len(), 2);
    }
}
