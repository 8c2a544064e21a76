//! Probes, documentation, request ids and the error contract.

use awc::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestDatabase, both_backends};

both_backends! {
    async fn healthz_answers_ok(app) {
        let response = app.get("/healthz").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.json(), json!({"status": "ok"}));
    }

    async fn readyz_answers_ok_when_the_database_is_reachable(app) {
        assert_eq!(app.get_json("/readyz").await, json!({"status": "ok"}));
    }

    async fn regions_are_the_three_members_with_gb_codes(app) {
        let body = app.get_json("/api/v1/regions").await;
        let regions: Vec<(String, String, String)> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["code"].as_str().unwrap().into(), r["gb_code"].as_str().unwrap().into(), r["name_zh"].as_str().unwrap().into()))
            .collect();
        assert_eq!(
            regions,
            [("BJ", "110000", "北京市"), ("TJ", "120000", "天津市"), ("HE", "130000", "河北省")]
                .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
        );
        assert_eq!(body["items"][2]["name_en"], "Hebei");
    }

    async fn the_served_openapi_document_is_the_committed_one(app) {
        let served = app.get_json("/openapi.json").await;
        let committed: serde_json::Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
        assert_eq!(served, committed);
    }

    async fn docs_are_served_without_network_access(app) {
        let redirect = app.get("/docs").await;
        assert!(redirect.status.is_redirection(), "{:?}", redirect.status);
        let page = app.get("/docs/").await;
        assert_eq!(page.status, StatusCode::OK);
        let html = String::from_utf8(page.body).unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        assert!(html.contains("<title>JJJ Registry API · 京津冀互认事项目录 API</title>"), "{html}");
        assert!(!html.contains("https://"), "the page must not load assets from the network: {html}");
        let script = app.get("/docs/swagger-ui-bundle.js").await;
        assert_eq!(script.status, StatusCode::OK);
        assert!(script.body.len() > 100_000);
        let init = String::from_utf8(app.get("/docs/swagger-initializer.js").await.body).unwrap();
        assert!(init.contains("/openapi.json"), "{init}");
    }

    async fn request_ids_are_generated_or_echoed(app) {
        let generated = app.get("/healthz").await.header("x-request-id").unwrap();
        assert_eq!(generated.len(), 36);
        let echoed = app.get_with("/healthz", &[("x-request-id", "tj-licensing-42")]).await;
        assert_eq!(echoed.header("x-request-id").as_deref(), Some("tj-licensing-42"));
        let unsafe_id = app.get_with("/healthz", &[("x-request-id", "<script>")]).await;
        let replaced = unsafe_id.header("x-request-id").expect("a request id even when the client's is refused");
        assert_eq!(replaced.len(), 36, "a generated UUID replaces `<script>`: {replaced}");
        assert_ne!(replaced, "<script>");
    }

    async fn an_unknown_path_is_a_404_problem(app) {
        let body = app.get("/api/v1/nothing-here").await.problem(404);
        assert_eq!(body["type"], "urn:jjj-registry:problem:not-found");
        app.get("/").await.problem(404);
    }

    async fn a_trailing_slash_is_a_different_unknown_path(app) {
        app.get("/api/v1/regions/").await.problem(404);
        app.get("/api/v1/recognition-items/").await.problem(404);
    }

    async fn unknown_query_parameters_are_rejected_everywhere_under_the_api(app) {
        for path in [
            "/api/v1/regions?foo=bar",
            "/api/v1/sectors?lang=en",
            "/api/v1/stats?as_of=2020-01-01",
            "/api/v1/recognition-items/RI-CON-001?on=2020-01-01",
            "/api/v1/standard-items/SS-MR-001?region=BJ",
            "/api/v1/standard-items/SS-MR-001/deviations?aspect=name",
            "/api/v1/scenarios/SC-001?x=1",
        ] {
            let field = path.split('?').nth(1).unwrap().split('=').next().unwrap();
            app.get(path).await.problem_naming(field);
        }
    }

    async fn a_wrong_method_is_a_405_problem_with_allow(app) {
        let response = app.request(Method::POST, "/api/v1/regions", &[], None).await;
        response.problem(405);
        assert_eq!(response.header("allow").as_deref(), Some("GET, HEAD"));
        let response = app.request(Method::DELETE, "/api/v1/recognition-items/RI-CON-001", &[], None).await;
        response.problem(405);
        let response = app.request(Method::GET, "/api/v1/recognition-status/batch", &[], None).await;
        response.problem(405);
        assert_eq!(response.header("allow").as_deref(), Some("POST"));
    }

    async fn head_answers_like_get_without_a_body(app) {
        for path in ["/api/v1/regions", "/api/v1/recognition-items/RI-CON-001", "/healthz"] {
            let get = app.get(path).await;
            let head = app.request(Method::HEAD, path, &[], None).await;
            assert_eq!(head.status, StatusCode::OK, "{path}");
            assert!(head.body.is_empty(), "{path}");
            assert_eq!(head.header("content-length"), Some(get.body.len().to_string()), "{path}");
            assert_eq!(head.header("etag"), get.header("etag"), "{path}");
        }
        let response = app.request(Method::HEAD, "/api/v1/recognition-status/batch", &[], None).await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    }

    async fn malformed_json_is_a_400_problem(app) {
        let response = app
            .request(Method::POST, "/api/v1/recognition-status/batch", &[], Some(("application/json", b"{\"questions\": [".to_vec())))
            .await;
        let body = response.problem(400);
        assert_eq!(body["type"], "urn:jjj-registry:problem:invalid-body");
    }

    async fn unknown_body_fields_are_a_400_problem_naming_them(app) {
        let response = app.post_json("/api/v1/recognition-status/batch", &json!({"questions": [], "questoins": []})).await;
        response.problem_naming("questoins");
    }

    async fn a_body_over_the_limit_is_a_413_problem(app) {
        let huge = format!("{{\"questions\": [{}]}}", "\"x\",".repeat(40_000));
        let response = app.request(Method::POST, "/api/v1/recognition-status/batch", &[], Some(("application/json", huge.into_bytes()))).await;
        let body = response.problem(413);
        assert_eq!(body["type"], "urn:jjj-registry:problem:payload-too-large");
    }

    async fn a_body_that_is_not_json_is_a_415_problem(app) {
        let response = app.request(Method::POST, "/api/v1/recognition-status/batch", &[], Some(("text/plain", b"hello".to_vec()))).await;
        response.problem(415);
    }
}

#[actix_rt::test]
async fn readyz_is_503_when_postgres_goes_away() {
    let mut app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    app.db.make_unreachable();
    let unready = app.get("/readyz").await;
    // A client (or a load balancer) is told when to ask again.
    assert_eq!(unready.header("retry-after").as_deref(), Some("2"));
    let mut body = unready.problem(503);
    let text = body.to_string();
    // The documented 503 is the body a client really gets (its request id aside).
    let doc = app.get_json("/openapi.json").await;
    let mut documented = doc["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/problem+json"]["example"].clone();
    assert!(body["request_id"].is_string(), "{body}");
    body["request_id"] = json!("<request id>");
    documented["request_id"] = json!("<request id>");
    assert_eq!(body, documented);
    assert!(
        !text.contains("postgres://") && !text.contains("jjj_"),
        "503 body leaks internals: {text}"
    );
    // Reads keep working from the read model while the database is away.
    let regions = app.get_json("/api/v1/regions").await;
    let codes: Vec<&str> = regions["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["BJ", "TJ", "HE"]);
    let answer = app
        .get_json(
            "/api/v1/recognition-status?item=RI-CON-001&issued_in=HE&used_in=TJ&on=2025-06-01",
        )
        .await;
    assert_eq!(
        (
            answer["decision"].as_str(),
            answer["accepting_department"].as_str()
        ),
        (Some("recognised"), Some("天津市住房和城乡建设委员会"))
    );
}

#[actix_rt::test]
async fn an_empty_database_is_migrated_at_start_and_serves_an_empty_catalog() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn_on(TestDatabase::empty(backend)).await;
        assert_eq!(
            app.get_json("/api/v1/regions").await["items"]
                .as_array()
                .unwrap()
                .len(),
            3,
            "{backend:?}"
        );
        assert_eq!(
            app.get_json("/api/v1/recognition-items").await["items"],
            json!([]),
            "{backend:?}"
        );
    }
}

#[actix_rt::test]
async fn swagger_ui_renders_the_api_in_a_real_browser() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let url = format!("{}/docs/", app.base);
    let dom = actix_web::rt::task::spawn_blocking(move || headless_chromium_dom(&url))
        .await
        .unwrap();
    assert!(
        dom.contains("JJJ Mutual-Recognition Registry API"),
        "the spec title was not rendered:\n{}",
        &dom[..dom.len().min(3000)]
    );
    assert!(
        dom.contains("/api/v1/recognition-status"),
        "operations were not rendered"
    );
    assert!(
        dom.contains("opblock"),
        "operation blocks were not rendered"
    );
}

/// Loads `url` in headless Chromium with networking beyond loopback disabled and
/// returns the DOM after scripts ran.
fn headless_chromium_dom(url: &str) -> String {
    let browser = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&browser).exists(),
        "Chromium is required for the docs test ({browser} not found); scripts/test.sh installs it"
    );
    let profile = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            // Anything not on loopback fails, as on a machine with no internet.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[actix_rt::test]
async fn a_catalog_loaded_by_another_process_is_served_within_the_refresh_interval() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn_on(TestDatabase::empty(backend)).await;
        assert_eq!(
            app.get_json("/api/v1/recognition-items").await["items"],
            json!([])
        );

        // Another instance (its own pool) loads the sample catalog.
        let other = jjj_registry::storage::Database::open(
            &app.db.url,
            1,
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        other.run_here(jjj_registry::registry::load_sample).unwrap();

        let started = std::time::Instant::now();
        loop {
            let items = app.get_json("/api/v1/recognition-items?limit=1").await;
            if items["items"].as_array().is_some_and(|i| !i.is_empty()) {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{backend:?}: not refreshed after 5 s (interval 200 ms)"
            );
            actix_rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

#[actix_rt::test]
async fn readyz_is_503_when_the_sqlite_file_is_deleted_under_the_server() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    let jjj_registry::storage::DatabaseUrl::Sqlite(path) = &app.db.url else {
        unreachable!()
    };
    // The open connections still reach the unlinked file; a new instance would not.
    std::fs::remove_file(path).unwrap();
    let unready = app.get("/readyz").await;
    assert_eq!(unready.header("retry-after").as_deref(), Some("2"));
    unready.problem(503);
}

/// The test server's database, reached through a proxy that can freeze.
async fn app_behind_a_freezing_proxy() -> (TestApp, crate::proxy::FreezingProxy) {
    use jjj_registry::storage::DatabaseUrl;
    let db = crate::helpers::TestDatabase::create(Backend::Postgres);
    let DatabaseUrl::Postgres(url) = &db.url else {
        unreachable!()
    };
    let proxy = crate::proxy::FreezingProxy::start("127.0.0.1:5432".parse().unwrap());
    let proxied = url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(&proxied, url, "the test database is on 127.0.0.1:5432");
    let settings = crate::helpers::test_settings(DatabaseUrl::Postgres(proxied));
    (TestApp::spawn_with(db, settings).await, proxy)
}

#[actix_rt::test]
async fn readyz_answers_503_in_time_when_postgres_stops_answering_and_200_once_it_does() {
    let (app, proxy) = app_behind_a_freezing_proxy().await;
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    proxy.freeze();
    for _ in 0..3 {
        let asked = std::time::Instant::now();
        let unready = app.get("/readyz").await;
        // REGISTRY_DB_TIMEOUT_MS is 1500 in the test settings.
        assert!(
            asked.elapsed() < std::time::Duration::from_millis(2500),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(unready.header("retry-after").as_deref(), Some("2"));
        unready.problem(503);
    }
    // Reads are answered from the read model meanwhile.
    assert_eq!(
        app.get("/api/v1/recognition-items/RI-CON-002").await.status,
        StatusCode::OK
    );
    proxy.thaw();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while app.get("/readyz").await.status != StatusCode::OK {
        assert!(
            std::time::Instant::now() < deadline,
            "not ready again after the database came back"
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// While PostgreSQL does not answer, reads go on from the read model and say since when
/// it is stale; writes are answered 503 at once and change nothing; once it answers
/// again, both are back without a restart.
#[actix_rt::test]
async fn while_postgres_is_frozen_reads_say_they_are_stale_and_writes_get_503_at_once() {
    let (app, proxy) = app_behind_a_freezing_proxy().await;
    let path = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
    // Served from the read model, not the database.
    let item = "/api/v1/recognition-items/RI-CON-002";
    let token = crate::tokens::Signer::Tianjin.token(&["editor"]);
    let fresh = app.get(path).await;
    assert_eq!(fresh.header("x-registry-stale-since"), None);
    let tag = fresh.header("etag").unwrap();

    proxy.freeze();
    let frozen_at = chrono::Utc::now();
    // The catching-up (every 200 ms here) gives up after REGISTRY_DB_TIMEOUT_MS (1.5 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let stale = loop {
        let read = app.get(item).await;
        assert_eq!(read.status, StatusCode::OK);
        if read.header("x-registry-stale-since").is_some() {
            break read;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reads never said they were stale"
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let since =
        chrono::DateTime::parse_from_rfc3339(&stale.header("x-registry-stale-since").unwrap())
            .expect("an RFC 3339 time");
    assert!(
        since >= frozen_at - chrono::Duration::seconds(1),
        "{since} before {frozen_at}"
    );
    assert_eq!(stale.json(), app.get(item).await.json());
    // A read that needs the database (one region's side, with its version) is 503 at
    // once too, rather than waiting on a database that does not answer.
    let side = app.get(path).await;
    assert_eq!(side.problem(503)["status"], 503);

    let asked = std::time::Instant::now();
    let refused = app
        .patch(path, &token, &tag, &json!({"notes": "数据库冻结时的修改"}))
        .await;
    assert!(
        asked.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(refused.header("retry-after").as_deref(), Some("2"));
    assert_eq!(
        refused.problem(503)["type"],
        "urn:jjj-registry:problem:service-unavailable"
    );

    proxy.thaw();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while app
        .get(path)
        .await
        .header("x-registry-stale-since")
        .is_some()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "still stale after the database came back"
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Nothing was written while frozen; now the write goes through. (A catching-up
    // that gave up just before the thaw may mark the database unreachable once more,
    // until the next one: wait for reads that need it to be answered.)
    let side = loop {
        let side = app.get(path).await;
        if side.status == StatusCode::OK {
            break side;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            String::from_utf8_lossy(&side.body)
        );
        actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(side.json(), fresh.json());
    let written = app
        .patch(path, &token, &tag, &json!({"notes": "数据库恢复后的修改"}))
        .await;
    assert_eq!(
        written.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&written.body)
    );
    assert_eq!(written.json()["notes"], "数据库恢复后的修改");
}
