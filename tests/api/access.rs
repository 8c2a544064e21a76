//! Who may call from where and how often: CORS for browser pages, rate limits per client
//! address and per token subject, and the metrics endpoint.

use std::time::Duration;

use awc::http::{Method, StatusCode};
use jjj_registry::settings::{Networks, Origins};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestDatabase, test_settings};
use crate::tokens::Signer;

const TJ_SIDE: &str = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
const APP_ORIGIN: &str = "https://app.tj.example";
const OTHER_ORIGIN: &str = "https://evil.example";

async fn spawn(
    backend: Backend,
    configure: impl FnOnce(&mut jjj_registry::settings::Settings),
) -> TestApp {
    let db = TestDatabase::create(backend);
    let mut settings = test_settings(db.url.clone());
    configure(&mut settings);
    TestApp::spawn_with(db, settings).await
}

/// A value no earlier write used.
fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn tianjin_side(app: &TestApp) -> (Value, String) {
    let read = app.get(TJ_SIDE).await;
    assert_eq!(read.status, StatusCode::OK);
    (read.json(), read.header("etag").expect("etag"))
}

async fn rename_tianjin_side(
    app: &TestApp,
    token: Option<&str>,
    tag: &str,
    headers: &[(&str, &str)],
) -> crate::helpers::TestResponse {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut all: Vec<(&str, &str)> = vec![("if-match", tag)];
    if let Some(bearer) = &bearer {
        all.push(("authorization", bearer));
    }
    all.extend_from_slice(headers);
    app.request(
        Method::PATCH,
        TJ_SIDE,
        &all,
        Some((
            "application/merge-patch+json",
            json!({"notes": format!("限流与跨域测试 {}", uuid_like())})
                .to_string()
                .into_bytes(),
        )),
    )
    .await
}

#[actix_rt::test]
async fn any_page_may_read_but_only_listed_origins_may_write() {
    let app = spawn(Backend::Sqlite, |s| {
        s.access.write_origins = Origins::parse(APP_ORIGIN).unwrap();
    })
    .await;

    // A plain cross-origin read: the origin is echoed, the useful headers exposed.
    let read = app
        .get_with("/api/v1/regions", &[("origin", OTHER_ORIGIN)])
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(
        read.header("access-control-allow-origin").as_deref(),
        Some(OTHER_ORIGIN)
    );
    let exposed = read
        .header("access-control-expose-headers")
        .unwrap()
        .to_lowercase();
    for header in ["etag", "location", "retry-after", "x-request-id"] {
        assert!(exposed.contains(header), "{exposed}");
    }
    assert_eq!(read.header("access-control-allow-credentials"), None);

    // A preflight for a conditional read (If-None-Match is not safelisted) from anywhere.
    let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
        let app = &app;
        async move {
            app.request(
                Method::OPTIONS,
                TJ_SIDE,
                &[
                    ("origin", origin),
                    ("access-control-request-method", method),
                    ("access-control-request-headers", headers),
                ],
                None,
            )
            .await
        }
    };
    let read_preflight = preflight(OTHER_ORIGIN, "GET", "if-none-match").await;
    assert_eq!(read_preflight.status, StatusCode::OK);
    assert_eq!(
        read_preflight
            .header("access-control-allow-origin")
            .as_deref(),
        Some(OTHER_ORIGIN)
    );
    assert_eq!(
        read_preflight.header("access-control-max-age").as_deref(),
        Some("600")
    );

    // A write preflight: only the listed origin, with the headers a write needs.
    let write_preflight =
        preflight(APP_ORIGIN, "PATCH", "authorization, content-type, if-match").await;
    assert_eq!(write_preflight.status, StatusCode::OK);
    assert_eq!(
        write_preflight
            .header("access-control-allow-origin")
            .as_deref(),
        Some(APP_ORIGIN)
    );
    let methods = write_preflight
        .header("access-control-allow-methods")
        .unwrap();
    assert!(methods.contains("PATCH"), "{methods}");
    let refused_preflight = preflight(
        OTHER_ORIGIN,
        "PATCH",
        "authorization, content-type, if-match",
    )
    .await;
    assert!(
        refused_preflight.status.is_client_error(),
        "{:?}",
        refused_preflight.status
    );
    assert_eq!(
        refused_preflight.header("access-control-allow-origin"),
        None
    );
    // The CORS layer answers preflights itself, outside the problem+json layer: a
    // browser never shows a preflight's body to the page anyway.
    assert_eq!(refused_preflight.status, StatusCode::BAD_REQUEST);

    // The write itself from another origin is refused and changes nothing; from the
    // listed origin it is made.
    let token = Signer::Tianjin.token(&["editor"]);
    let (before, tag) = tianjin_side(&app).await;
    let refused = rename_tianjin_side(&app, Some(&token), &tag, &[("origin", OTHER_ORIGIN)]).await;
    assert_eq!(
        refused.problem(403)["detail"],
        "Pages of https://evil.example may not write to the registry; the origins allowed to are set by REGISTRY_CORS_WRITE_ORIGINS."
    );
    assert_eq!(refused.header("access-control-allow-origin"), None);
    assert_eq!(tianjin_side(&app).await.0, before);
    // The registry's own pages (the documentation trying a write) are not cross-origin.
    let own_origin = app.base.clone();
    let (_, tag) = tianjin_side(&app).await;
    let own =
        rename_tianjin_side(&app, Some(&token), &tag, &[("origin", own_origin.as_str())]).await;
    assert_eq!(own.status, StatusCode::OK);
    let (before, tag) = tianjin_side(&app).await;
    let made = rename_tianjin_side(&app, Some(&token), &tag, &[("origin", APP_ORIGIN)]).await;
    assert_eq!(
        made.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    assert_eq!(
        made.header("access-control-allow-origin").as_deref(),
        Some(APP_ORIGIN)
    );
    assert_eq!(tianjin_side(&app).await.0["notes"], made.json()["notes"]);
    assert_ne!(before["notes"], made.json()["notes"]);
}

#[actix_rt::test]
async fn with_no_read_origins_no_page_reads() {
    let app = spawn(Backend::Sqlite, |s| {
        s.access.read_origins = Origins::parse("").unwrap();
    })
    .await;
    let read = app
        .get_with("/api/v1/regions", &[("origin", OTHER_ORIGIN)])
        .await;
    assert_eq!(read.header("access-control-allow-origin"), None);
    // Clients that are not browsers send no Origin and are served as before.
    assert_eq!(app.get("/api/v1/regions").await.status, StatusCode::OK);
}

#[actix_rt::test]
async fn anonymous_reads_are_limited_per_client_address() {
    let app = spawn(Backend::Sqlite, |s| {
        s.access.read_rate = 3;
        s.access.trusted_proxies = Networks::parse("127.0.0.1").unwrap();
    })
    .await;
    let from = |address: &'static str| [("x-forwarded-for", address)];
    for _ in 0..3 {
        let served = app.get_with("/api/v1/regions", &from("203.0.113.1")).await;
        assert_eq!(served.status, StatusCode::OK);
    }
    let refused = app
        .get_with(
            "/api/v1/regions",
            &[("x-forwarded-for", "203.0.113.1"), ("origin", OTHER_ORIGIN)],
        )
        .await;
    // A page reads the refusal too (its browser would otherwise hide it).
    assert_eq!(
        refused.header("access-control-allow-origin").as_deref(),
        Some(OTHER_ORIGIN)
    );
    let problem = refused.problem(429);
    assert_eq!(
        problem["type"],
        "urn:jjj-registry:problem:too-many-requests"
    );
    assert_eq!(
        problem["detail"],
        "More than 3 reads a second from client address 203.0.113.1; ask again in 1 s."
    );
    assert_eq!(refused.header("retry-after").as_deref(), Some("1"));
    assert!(refused.header("x-request-id").is_some());

    // Another client behind the same proxy has its own allowance; probes are not limited.
    assert_eq!(
        app.get_with("/api/v1/regions", &from("203.0.113.2"))
            .await
            .status,
        StatusCode::OK
    );
    for _ in 0..10 {
        assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    }
    // The allowance comes back with time.
    actix_rt::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.get_with("/api/v1/regions", &from("203.0.113.1"))
            .await
            .status,
        StatusCode::OK
    );

    // The rate limit shows in the metrics.
    let metrics = String::from_utf8(app.get("/metrics").await.body).unwrap();
    assert!(
        metrics.contains("registry_rate_limited_requests_total{limit=\"read\"} 1"),
        "{metrics}"
    );
}

#[actix_rt::test]
async fn a_forwarded_address_is_ignored_from_an_untrusted_peer() {
    let app = spawn(Backend::Sqlite, |s| s.access.read_rate = 2).await;
    // Every request names a new address, but the peer is not a trusted proxy: all count
    // against 127.0.0.1.
    assert_eq!(
        app.get_with("/api/v1/regions", &[("x-forwarded-for", "198.51.100.1")])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get_with("/api/v1/regions", &[("x-forwarded-for", "198.51.100.2")])
            .await
            .status,
        StatusCode::OK
    );
    let refused = app
        .get_with("/api/v1/regions", &[("x-forwarded-for", "198.51.100.3")])
        .await;
    assert_eq!(
        refused.problem(429)["detail"],
        "More than 2 reads a second from client address 127.0.0.1; ask again in 1 s."
    );
}

#[actix_rt::test]
async fn writes_are_limited_per_token_subject_and_a_refused_write_changes_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, |s| s.access.write_rate = 2).await;
        let tianjin = Signer::Tianjin.token(&["editor"]);
        let (_, mut tag) = tianjin_side(&app).await;
        for _ in 0..2 {
            let made = rename_tianjin_side(&app, Some(&tianjin), &tag, &[]).await;
            assert_eq!(made.status, StatusCode::OK, "{backend:?}");
            tag = made.header("etag").unwrap();
        }
        let before = tianjin_side(&app).await;
        let refused = rename_tianjin_side(&app, Some(&tianjin), &tag, &[]).await;
        assert_eq!(
            refused.problem(429)["detail"],
            "More than 2 writes a second from token subject `tester@TJ`; ask again in 1 s.",
            "{backend:?}"
        );
        assert_eq!(refused.header("retry-after").as_deref(), Some("1"));
        assert_eq!(tianjin_side(&app).await, before, "{backend:?}");

        // Another subject writes on; without a valid token the client address counts
        // (so guessing tokens is limited too).
        let hebei = Signer::Hebei.token(&["editor"]);
        let he_side = "/api/v1/recognition-items/RI-CON-002/local-parts/HE";
        let he = app.get(he_side).await;
        let he_written = app
            .patch(
                he_side,
                &hebei,
                &he.header("etag").unwrap(),
                &json!({"notes": "限流测试"}),
            )
            .await;
        assert_eq!(
            he_written.status,
            StatusCode::OK,
            "{backend:?}: {}",
            String::from_utf8_lossy(&he_written.body)
        );
        for expected in [401, 401, 429] {
            let anonymous = rename_tianjin_side(&app, Some("not.a.token"), &tag, &[]).await;
            assert_eq!(anonymous.status.as_u16(), expected, "{backend:?}");
        }
        assert_eq!(tianjin_side(&app).await, before, "{backend:?}");
    }
}

#[actix_rt::test]
async fn metrics_count_requests_by_route_and_report_the_feed_and_the_outbox() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn(backend, |_| {}).await;
        app.get("/api/v1/regions").await;
        app.get("/api/v1/regions").await;
        app.get("/api/v1/recognition-items/RI-CON-002").await;
        app.get("/api/v1/recognition-items/RI-XXX-999").await;
        let token = Signer::Tianjin.token(&["editor"]);
        let (_, tag) = tianjin_side(&app).await;
        assert_eq!(
            rename_tianjin_side(&app, Some(&token), &tag, &[])
                .await
                .status,
            StatusCode::OK
        );

        let scraped = app.get("/metrics").await;
        assert_eq!(scraped.status, StatusCode::OK);
        assert_eq!(
            scraped.header("content-type").as_deref(),
            Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
        );
        let text = String::from_utf8(scraped.body).unwrap();
        let value = |series: &str| -> f64 {
            text.lines()
                .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("{backend:?}: no {series} in\n{text}"))
        };
        assert_eq!(
            value(
                "registry_http_requests_total{route=\"/api/v1/regions\",method=\"GET\",status=\"200\"}"
            ),
            2.0
        );
        assert_eq!(
            value(
                "registry_http_requests_total{route=\"/api/v1/recognition-items/{code}\",method=\"GET\",status=\"200\"}"
            ),
            1.0
        );
        assert_eq!(
            value(
                "registry_http_requests_total{route=\"/api/v1/recognition-items/{code}\",method=\"GET\",status=\"404\"}"
            ),
            1.0
        );
        assert_eq!(
            value(
                "registry_http_requests_total{route=\"/api/v1/recognition-items/{code}/local-parts/{region}\",method=\"PATCH\",status=\"200\"}"
            ),
            1.0
        );
        assert_eq!(
            value(
                "registry_http_request_duration_seconds_count{route=\"/api/v1/regions\",method=\"GET\"}"
            ),
            2.0
        );
        assert_eq!(value("registry_database_up"), 1.0);
        let head = app.get_json("/api/v1/changes?after=0&limit=1000").await["items"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["seq"]
            .as_f64()
            .unwrap();
        assert_eq!(value("registry_change_feed_head"), head);
        assert_eq!(value("registry_read_model_sequence"), head);
        assert_eq!(value("registry_read_model_lag_changes"), 0.0);
        assert_eq!(value("registry_webhook_backlog_changes"), 0.0);
        assert_eq!(value("registry_webhook_failing_subscriptions"), 0.0);
        assert!(value("registry_audit_chain_head") >= 1.0);
        assert!(value("registry_db_pool_connections") >= 1.0);
        assert!(text.ends_with("# EOF\n"));
    }
}

#[actix_rt::test]
async fn metrics_are_served_only_to_the_configured_networks() {
    let app = spawn(Backend::Sqlite, |s| {
        s.access.metrics_from = Networks::parse("10.0.0.0/8").unwrap();
    })
    .await;
    // Forwarding headers do not open the door.
    let refused = app
        .get_with("/metrics", &[("x-forwarded-for", "10.0.0.1")])
        .await;
    assert_eq!(
        refused.problem(403)["detail"],
        "Metrics are served only to the addresses in REGISTRY_METRICS_FROM."
    );
}
