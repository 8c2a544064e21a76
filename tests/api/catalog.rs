//! Catalog reads: lists, filters, search, pagination, entries, conditional GET,
//! deviations and statistics. Expectations are computed from the raw sample files (or
//! checked by hand), not by the code under test.

use std::collections::{BTreeMap, BTreeSet};

use awc::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_backends, sample};

fn codes_where(file: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    let mut codes: Vec<String> = sample(file)
        .iter()
        .filter(|e| keep(e))
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort();
    codes
}

/// Follows `next_cursor` to the end, asserting every page is within `limit`.
async fn all_codes(app: &TestApp, path: &str, limit: usize) -> Vec<String> {
    let mut codes = Vec::new();
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{path}{separator}limit={limit}");
    loop {
        let page = app.get_json(&url).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit);
        codes.extend(items.iter().map(|i| i["code"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                assert!(!items.is_empty(), "a page with a cursor must not be empty");
                url = format!("{path}{separator}limit={limit}&cursor={cursor}");
            }
            None => return codes,
        }
    }
}

fn has_region(entry: &Value, region: &str) -> bool {
    entry["local_parts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["region"] == region)
}

both_backends! {
    async fn a_list_page_is_its_entries_own_answers_byte_for_byte(app) {
        // Pages are joined from each entry's answer as rendered once per version: they
        // must be exactly what serialising the page would give, before and after a change.
        let check = |list: &'static str, entry: &'static str| {
            let app = &app;
            async move {
                let page = app.get(list).await;
                assert_eq!(page.status, StatusCode::OK);
                let codes: Vec<String> = page.json()["items"].as_array().unwrap().iter()
                    .map(|item| item["code"].as_str().unwrap().to_owned()).collect();
                assert!(codes.len() > 1, "{list}");
                let mut expected = b"{\"items\":[".to_vec();
                for (index, code) in codes.iter().enumerate() {
                    if index > 0 {
                        expected.push(b',');
                    }
                    let own = app.get(&format!("{entry}/{code}")).await;
                    let reserialised = serde_json::to_vec(&own.json()).unwrap();
                    assert_eq!(serde_json::from_slice::<Value>(&reserialised).unwrap(), own.json());
                    expected.extend_from_slice(&own.body);
                }
                expected.extend_from_slice(b"],\"next_cursor\":null}");
                assert_eq!(String::from_utf8(page.body.to_vec()).unwrap(), String::from_utf8(expected).unwrap(), "{list}");
                page.json()
            }
        };
        check("/api/v1/recognition-items?limit=200", "/api/v1/recognition-items").await;
        check("/api/v1/standard-items?limit=200", "/api/v1/standard-items").await;
        let edit = app.patch("/api/v1/recognition-items/RI-CON-002/local-parts/TJ",
            &crate::tokens::Signer::Tianjin.token(&["editor"]), "\"RI-CON-002.TJ.1\"", &json!({"contact": "022-12345678"})).await;
        assert_eq!(edit.status, StatusCode::OK);
        let after = check("/api/v1/recognition-items?limit=200", "/api/v1/recognition-items").await;
        let item = after["items"].as_array().unwrap().iter().find(|i| i["code"] == "RI-CON-002").unwrap();
        let side = item["local_parts"].as_array().unwrap().iter().find(|p| p["region"] == "TJ").unwrap();
        assert_eq!(side["contact"], "022-12345678", "the changed item is rendered anew");
    }

    async fn paging_through_all_recognition_items_has_no_gaps_or_repeats(app) {
        let expected = codes_where("recognition-items", |_| true);
        assert!(expected.len() >= 60);
        for limit in [1, 7, 50, 200] {
            let codes = all_codes(&app, "/api/v1/recognition-items", limit).await;
            assert_eq!(codes, expected, "limit {limit}");
        }
    }

    async fn paging_through_standard_items_and_scenarios_is_complete(app) {
        assert_eq!(all_codes(&app, "/api/v1/standard-items", 9).await, codes_where("standard-items", |_| true));
        assert_eq!(all_codes(&app, "/api/v1/scenarios", 2).await, codes_where("scenarios", |_| true));
    }

    async fn paging_with_a_filter_stays_within_the_filter(app) {
        let expected = codes_where("recognition-items", |e| e["sector"] == "construction");
        assert_eq!(all_codes(&app, "/api/v1/recognition-items?sector=construction", 3).await, expected);
    }

    async fn recognition_items_filter_by_region_kind_sector_status_and_scenario(app) {
        let cases: Vec<(&str, Vec<String>)> = vec![
            ("region=HE", codes_where("recognition-items", |e| has_region(e, "HE"))),
            ("region=tj", codes_where("recognition-items", |e| has_region(e, "TJ"))),
            ("kind=test_result", codes_where("recognition-items", |e| e["kind"] == "test_result")),
            ("sector=health", codes_where("recognition-items", |e| e["sector"] == "health")),
            ("status=retired", codes_where("recognition-items", |e| e["status"] == "retired")),
            ("region=HE&kind=personal_qualification&status=active", codes_where("recognition-items", |e| {
                has_region(e, "HE") && e["kind"] == "personal_qualification" && e["status"] == "active"
            })),
        ];
        for (query, expected) in cases {
            assert!(!expected.is_empty(), "{query} should match something in the sample");
            assert_eq!(all_codes(&app, &format!("/api/v1/recognition-items?{query}"), 200).await, expected, "{query}");
        }
        let scenario = &sample("scenarios")[0];
        let mut in_scenario: Vec<String> = scenario["recognition_items"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        in_scenario.sort();
        let path = format!("/api/v1/recognition-items?scenario={}", scenario["code"].as_str().unwrap());
        assert_eq!(all_codes(&app, &path, 200).await, in_scenario);
    }

    async fn standard_items_filter_by_region_type_sector_and_scenario(app) {
        let two_region_items = codes_where("standard-items", |e| !has_region(e, "BJ"));
        assert!(!two_region_items.is_empty());
        let in_bj = all_codes(&app, "/api/v1/standard-items?region=BJ", 200).await;
        assert!(two_region_items.iter().all(|code| !in_bj.contains(code)));
        assert_eq!(in_bj, codes_where("standard-items", |e| has_region(e, "BJ")));
        assert_eq!(
            all_codes(&app, "/api/v1/standard-items?item_type=public_service", 200).await,
            codes_where("standard-items", |e| e["item_type"] == "public_service")
        );
        assert_eq!(
            all_codes(&app, "/api/v1/standard-items?sector=market_regulation&status=active", 200).await,
            codes_where("standard-items", |e| e["sector"] == "market_regulation" && e["status"] == "active")
        );
        let scenario = sample("scenarios").into_iter().find(|s| !s["standard_items"].as_array().unwrap().is_empty()).unwrap();
        let mut expected: Vec<String> = scenario["standard_items"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        expected.sort();
        let path = format!("/api/v1/standard-items?scenario={}", scenario["code"].as_str().unwrap());
        assert_eq!(all_codes(&app, &path, 200).await, expected);
    }

    async fn search_finds_items_by_chinese_english_pinyin_and_initials(app) {
        for query in ["%E4%BA%8C%E7%BA%A7%E5%BB%BA%E9%80%A0%E5%B8%88", "erjijianzaoshi", "ejjzs", "Grade%20II%20Registered", "grade%20ii", "%EF%BC%A7%EF%BD%92%EF%BD%81%EF%BD%84%EF%BD%85"] {
            let codes = all_codes(&app, &format!("/api/v1/recognition-items?q={query}"), 200).await;
            assert!(codes.contains(&"RI-CON-001".to_owned()), "{query}: {codes:?}");
        }
        let builders = all_codes(&app, "/api/v1/recognition-items?q=%E5%BB%BA%E9%80%A0%E5%B8%88", 200).await;
        assert_eq!(builders, ["RI-CON-001", "RI-CON-002"]);
        let nothing = all_codes(&app, "/api/v1/recognition-items?q=zzzzqqq", 200).await;
        assert!(nothing.is_empty());
        // ü typed as v or u; the accounting reading of 会 (kuai, not hui).
        for (query, code) in [("lvxingshe", "RI-CUL-002"), ("luxingshe", "RI-CUL-002"), ("kuaiji", "RI-FIN-001")] {
            let codes = all_codes(&app, &format!("/api/v1/recognition-items?q={query}"), 200).await;
            assert!(codes.contains(&code.to_owned()), "{query}: {codes:?}");
        }
        let food = all_codes(&app, "/api/v1/standard-items?q=spjyxk", 200).await;
        assert!(food.contains(&"SS-MR-001".to_owned()), "{food:?}");
    }

    async fn an_entry_carries_arrangements_local_parts_and_provenance(app) {
        let response = app.get("/api/v1/recognition-items/RI-CON-002").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.header("cache-control").as_deref(), Some("public, max-age=60, must-revalidate"));
        let item = response.json();
        assert_eq!(item["name_zh"], "一级建造师跨区域执业信息登记");
        assert_eq!(item["version"], 1);
        // Six ordered pairs, one of them (HE → BJ) with a conditional period and a later direct one.
        assert_eq!(item["arrangements"].as_array().unwrap().len(), 7);
        let regions: BTreeSet<&str> = item["local_parts"].as_array().unwrap().iter().map(|p| p["region"].as_str().unwrap()).collect();
        assert_eq!(regions, BTreeSet::from(["BJ", "HE", "TJ"]));
        // Regions come in their display order (BJ, TJ, HE), not alphabetically.
        let order: Vec<&str> = item["local_parts"].as_array().unwrap().iter().map(|p| p["region"].as_str().unwrap()).collect();
        assert_eq!(order, ["BJ", "TJ", "HE"]);
        assert_eq!(item["regions"], json!(["BJ", "TJ", "HE"]));
        let report = app.get_json("/api/v1/standard-items/SS-MR-001/deviations").await;
        let order: Vec<&str> = report["regions"].as_array().unwrap().iter().map(|r| r["region"].as_str().unwrap()).collect();
        assert_eq!(order, ["BJ", "TJ", "HE"]);
        assert!(item["provenance"]["document_no"].as_str().unwrap().ends_with("（示例）"));
        let standard = app.get_json("/api/v1/standard-items/SS-MR-001").await;
        assert_eq!(standard["time_limit_days"], 10);
        assert!(standard["materials"].as_array().unwrap().len() >= 2);
        let scenario = app.get_json("/api/v1/scenarios/SC-001").await;
        assert_eq!(scenario["name_zh"], "建筑企业跨区域承揽工程");
    }

    async fn unknown_codes_are_404_problems(app) {
        for path in ["/api/v1/recognition-items/RI-NOPE-000", "/api/v1/standard-items/SS-NOPE", "/api/v1/standard-items/SS-NOPE/deviations", "/api/v1/scenarios/SC-999"] {
            let body = app.get(path).await.problem(404);
            assert!(body["detail"].as_str().unwrap().contains("NOPE") || body["detail"].as_str().unwrap().contains("SC-999"));
        }
    }

    async fn entries_and_lists_answer_if_none_match_with_304(app) {
        for path in [
            "/api/v1/recognition-items/RI-CON-001",
            "/api/v1/recognition-items?region=TJ&limit=5",
            "/api/v1/standard-items/SS-MR-001",
            "/api/v1/standard-items",
            "/api/v1/scenarios",
            "/api/v1/scenarios/SC-001",
            "/api/v1/deviations",
            "/api/v1/standard-items/SS-MR-001/deviations",
            "/api/v1/regions",
            "/api/v1/sectors",
            "/api/v1/stats",
        ] {
            let first = app.get(path).await;
            assert_eq!(first.status, StatusCode::OK, "{path}");
            let etag = first.header("etag").unwrap_or_else(|| panic!("{path} has no ETag"));
            let again = app.get_with(path, &[("if-none-match", &etag)]).await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
            assert!(again.body.is_empty());
            assert_eq!(again.header("etag"), Some(etag.clone()));
            let stale = app.get_with(path, &[("if-none-match", "\"something-else\"")]).await;
            assert_eq!(stale.status, StatusCode::OK, "{path}");
        }
        let page_one = app.get("/api/v1/recognition-items?limit=5").await.header("etag");
        let page_two = app.get("/api/v1/recognition-items?limit=6").await.header("etag");
        assert_ne!(page_one, page_two, "different pages need different tags");
    }

    async fn bad_list_parameters_are_400_problems_naming_them(app) {
        let cases = [
            ("/api/v1/recognition-items?limit=0", "limit"),
            ("/api/v1/recognition-items?limit=-3", "limit"),
            ("/api/v1/recognition-items?limit=100000", "limit"),
            ("/api/v1/recognition-items?limit=abc", "limit"),
            ("/api/v1/recognition-items?cursor=not-a-cursor", "cursor"),
            ("/api/v1/recognition-items?cursor=YzE6eHg6", "cursor"),
            ("/api/v1/recognition-items?region=SH", "region"),
            ("/api/v1/recognition-items?region=%E5%8C%97%E4%BA%AC", "region"),
            ("/api/v1/recognition-items?kind=wizard", "kind"),
            ("/api/v1/recognition-items?sector=space", "sector"),
            ("/api/v1/recognition-items?status=gone", "status"),
            ("/api/v1/recognition-items?scenario=SC-999", "scenario"),
            ("/api/v1/recognition-items?colour=red", "colour"),
            ("/api/v1/standard-items?item_type=x", "item_type"),
            ("/api/v1/standard-items?limit=201", "limit"),
            ("/api/v1/scenarios?region=XX", "region"),
            ("/api/v1/deviations?aspect=colour", "aspect"),
            ("/api/v1/deviations?region=ZZ", "region"),
        ];
        for (path, field) in cases {
            app.get(path).await.problem_naming(field);
        }
        for punctuation_only in ["!!!", "%20-%20", "%E2%80%8B"] {
            app.get(&format!("/api/v1/recognition-items?q={punctuation_only}")).await.problem_naming("q");
        }
        // One rule for every parameter: an empty value is refused, not ignored.
        for empty in ["q", "region", "kind", "sector", "status", "scenario", "limit", "cursor"] {
            app.get(&format!("/api/v1/recognition-items?{empty}=")).await.problem_naming(empty);
        }
        app.get("/api/v1/recognition-items?limit=%2010").await.problem_naming("limit");
        let long_query = "a".repeat(101);
        app.get(&format!("/api/v1/recognition-items?q={long_query}")).await.problem_naming("q");
    }

    async fn a_cursor_cannot_be_reused_with_other_filters(app) {
        let page = app.get_json("/api/v1/recognition-items?region=TJ&limit=2").await;
        let cursor = page["next_cursor"].as_str().unwrap();
        app.get(&format!("/api/v1/recognition-items?region=HE&limit=2&cursor={cursor}")).await.problem_naming("cursor");
        let next = app.get_json(&format!("/api/v1/recognition-items?region=TJ&limit=2&cursor={cursor}")).await;
        assert_eq!(next["items"].as_array().unwrap().len(), 2);
    }

    async fn deviations_of_one_item_match_the_hand_checked_differences(app) {
        let report = app.get_json("/api/v1/standard-items/SS-MR-001/deviations").await;
        let by_region = |region: &str| report["regions"].as_array().unwrap().iter().find(|r| r["region"] == region).unwrap().clone();
        assert_eq!(by_region("BJ"), json!({"region": "BJ", "implementation_status": "implemented", "conforms": true, "stricter": false, "more_convenient": false, "differences": []}));
        // Tianjin's 7 days against a 10-day standard is a departure to praise, not to fix.
        assert_eq!(
            by_region("TJ"),
            json!({"region": "TJ", "implementation_status": "implemented", "conforms": false, "stricter": false, "more_convenient": true,
                   "differences": [{"aspect": "time_limit", "standard_days": 10, "local_days": 7, "direction": "more_convenient"}]})
        );
        assert_eq!(
            by_region("HE"),
            json!({"region": "HE", "implementation_status": "implemented", "conforms": false, "stricter": false, "more_convenient": false,
                   "differences": [{"aspect": "name", "standard": "食品经营许可（新办）", "local": "食品经营许可证核发", "direction": "neutral"}]})
        );
        let materials = app.get_json("/api/v1/standard-items/SS-CN-001/deviations").await;
        let bj = materials["regions"].as_array().unwrap().iter().find(|r| r["region"] == "BJ").unwrap();
        assert_eq!(
            bj["differences"],
            json!([{"aspect": "materials", "missing": [], "extra": ["工程质量安全承诺书"], "changed": [], "direction": "stricter"}])
        );
        assert_eq!((bj["stricter"].clone(), bj["more_convenient"].clone()), (json!(true), json!(false)));
        // Beijing asks the applicant for a certificate the standard verifies from shared
        // data (数据核验): stricter, though it asks for fewer copies of another material.
        let data = app.get_json("/api/v1/standard-items/SS-MR-004/deviations").await;
        let bj = data["regions"].as_array().unwrap().iter().find(|r| r["region"] == "BJ").unwrap();
        assert_eq!(
            bj["differences"][0]["changed"],
            json!([
                {"name_zh": "特种设备使用登记表", "standard_form": "original", "local_form": "original", "standard_copies": 2, "local_copies": 1,
                 "standard_mandatory": true, "local_mandatory": true, "standard_satisfied_by": "applicant", "local_satisfied_by": "applicant", "direction": "more_convenient"},
                {"name_zh": "使用单位统一社会信用代码证明", "standard_form": "copy", "local_form": "copy", "standard_copies": 1, "local_copies": 1,
                 "standard_mandatory": true, "local_mandatory": true, "standard_satisfied_by": "shared_data", "local_satisfied_by": "applicant", "direction": "stricter"},
            ])
        );
        assert_eq!(bj["differences"][0]["direction"], "mixed");
        assert_eq!((bj["stricter"].clone(), bj["more_convenient"].clone()), (json!(true), json!(true)));
    }

    async fn the_deviation_report_lists_every_deviating_item_per_region(app) {
        let report = app.get_json("/api/v1/deviations").await;
        let codes: BTreeSet<&str> = report["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        for expected in ["SS-MR-001", "SS-NR-001", "SS-PS-001", "SS-CN-001", "SS-TR-001", "SS-HL-005"] {
            assert!(codes.contains(expected), "{expected} missing from {codes:?}");
        }
        // Items whose local parts override nothing and recognise results cannot deviate.
        let conforming = codes_where("standard-items", |e| {
            e["local_parts"].as_array().unwrap().iter().all(|p| {
                p["name_zh"].is_null() && p["conditions_zh"].is_null() && p["materials"].is_null() && p["time_limit_days"].is_null() && p["result_recognised"] == true
            })
        });
        assert!(conforming.iter().all(|c| !codes.contains(c.as_str())));
        let results = app.get_json("/api/v1/deviations?region=BJ&aspect=result_recognition").await;
        let bj_codes: BTreeSet<&str> = results["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        assert_eq!(bj_codes, BTreeSet::from(["SS-CT-002", "SS-HL-005"]));
        assert_eq!(results["summary"], json!([{"region": "BJ", "items_with_deviations": 2, "items_stricter": 2, "items_more_convenient": 0, "by_aspect": {"result_recognition": 2}}]));
        // Direction: what each region must fix, apart from what it does better.
        for (direction, leans) in [("stricter", "stricter"), ("more_convenient", "more_convenient")] {
            let report = app.get_json(&format!("/api/v1/deviations?direction={direction}")).await;
            let listed: BTreeSet<(String, String)> = report["items"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|i| i["regions"].as_array().unwrap().iter().map(move |r| (i["code"].as_str().unwrap().to_owned(), r["region"].as_str().unwrap().to_owned())))
                .collect();
            let all = app.get_json("/api/v1/deviations").await;
            let expected: BTreeSet<(String, String)> = all["items"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|i| i["regions"].as_array().unwrap().iter().filter(|r| r[leans] == true).map(move |r| (i["code"].as_str().unwrap().to_owned(), r["region"].as_str().unwrap().to_owned())))
                .collect();
            assert!(!expected.is_empty(), "{direction}");
            assert_eq!(listed, expected, "{direction}");
        }
        let tj_praised = app.get_json("/api/v1/deviations?region=TJ&aspect=time_limit&direction=more_convenient").await;
        assert!(tj_praised["items"].as_array().unwrap().iter().any(|i| i["code"] == "SS-MR-001"));
        let tj_to_fix = app.get_json("/api/v1/deviations?region=TJ&aspect=time_limit&direction=stricter").await;
        assert!(tj_to_fix["items"].as_array().unwrap().iter().all(|i| i["code"] != "SS-MR-001"));
        app.get("/api/v1/deviations?direction=worse").await.problem_naming("direction");
        let time_limits = app.get_json("/api/v1/deviations?aspect=time_limit").await;
        for summary in time_limits["summary"].as_array().unwrap() {
            let aspects: Vec<&String> = summary["by_aspect"].as_object().unwrap().keys().collect();
            assert!(aspects.iter().all(|a| *a == "time_limit"), "{summary}");
        }
        let tj = time_limits["summary"].as_array().unwrap().iter().find(|s| s["region"] == "TJ").unwrap();
        assert!(tj["by_aspect"]["time_limit"].as_u64().unwrap() >= 1, "SS-MR-001 differs in TJ's time limit");
        let hebei = app.get_json("/api/v1/deviations?region=HE").await;
        let hebei_items = hebei["items"].as_array().unwrap();
        // Not vacuous: Hebei deviates in the sample (SS-MR-001's name, SS-HR-002's materials).
        let hebei_codes: BTreeSet<&str> = hebei_items.iter().map(|i| i["code"].as_str().unwrap()).collect();
        assert!(hebei_codes.is_superset(&BTreeSet::from(["SS-MR-001", "SS-HR-002"])), "{hebei_codes:?}");
        assert!(hebei_items.iter().all(|i| i["regions"].as_array().unwrap().iter().all(|r| r["region"] == "HE")));
    }

    async fn stats_count_the_catalog(app) {
        let stats = app.get_json("/api/v1/stats").await;
        let today = stats["as_of"].as_str().unwrap().to_owned();
        // In the catalog today: published by today (the batch's date) and not retired.
        let published: BTreeMap<String, String> = sample("batches")
            .iter()
            .map(|b| (b["code"].as_str().unwrap().to_owned(), b["published_on"].as_str().unwrap().to_owned()))
            .collect();
        let in_catalog = |entry: &Value| {
            published[entry["batch"].as_str().unwrap()].as_str() <= today.as_str()
                && !(entry["status"] == "retired" && entry["status_since"].as_str().is_none_or(|since| since <= today.as_str()))
        };
        let all_items = sample("recognition-items");
        let items: Vec<&Value> = all_items.iter().filter(|i| in_catalog(i)).collect();
        assert!(items.len() < all_items.len(), "the sample has retired items");
        assert_eq!(stats["recognition_items"], items.len());
        assert_eq!(stats["standard_items"], sample("standard-items").iter().filter(|i| in_catalog(i)).count());
        let launched = sample("scenarios").iter().filter(|s| s["launched_on"].as_str().unwrap() <= today.as_str() && s["status"] != "retired").count();
        assert_eq!(stats["scenarios"], launched);
        assert_eq!(stats["recognition_items_by_kind"]["test_result"], items.iter().filter(|i| i["kind"] == "test_result").count());
        assert_eq!(stats["by_region"]["TJ"]["recognition_items"], items.iter().filter(|i| has_region(i, "TJ")).count());
        assert_eq!(stats["recognition_items_by_status"]["suspended"], 2);
        assert_eq!(stats["recognition_items_by_status"].get("retired"), None, "retired items are out of the catalog");
        assert_eq!(stats["recognised_pairs"].as_array().unwrap().len(), 6);
        let with_deviations = app.get_json("/api/v1/deviations").await["items"].as_array().unwrap().len();
        assert_eq!(stats["standard_items_with_deviations"], with_deviations);
        let implemented_in_he = sample("standard-items")
            .iter()
            .flat_map(|i| i["local_parts"].as_array().unwrap().clone())
            .filter(|p| p["region"] == "HE" && p["implementation_status"] == "implemented")
            .count();
        assert_eq!(stats["by_region"]["HE"]["standard_items_implemented"], implemented_in_he);
        // The per-pair counts agree with asking the status query about every item.
        for pair in stats["recognised_pairs"].as_array().unwrap() {
            let questions: Vec<Value> = items
                .iter()
                .map(|i| json!({"item": i["code"], "issued_in": pair["issued_in"], "used_in": pair["used_in"], "on": today}))
                .collect();
            let results = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": questions})).await.json();
            let recognised = results["results"].as_array().unwrap().iter().filter(|r| r["answer"]["decision"] == "recognised").count();
            assert_eq!(pair["recognised_items"], recognised, "{pair}");
            assert!(recognised > 0);
        }
        let sectors = app.get_json("/api/v1/sectors").await;
        assert!(sectors["items"].as_array().unwrap().len() >= 8);
    }
}
