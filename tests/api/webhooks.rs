//! Webhooks with a real receiver on loopback: a subscriber gets exactly the changes its
//! filters select, signed, in feed order; a receiver that is down for a while gets
//! everything once it is back; one that keeps failing stops its subscription until
//! resumed; and a bad subscription request is refused clearly and changes nothing.

use std::time::Duration;

use awc::http::{Method, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::changes::feed_after;
use crate::editing::audit_log;
use crate::helpers::{Backend, TestApp, TestDatabase, TestResponse, both_backends, test_settings};
use crate::receiver::{Received, Receiver};
use crate::tokens::{Signer, sign};

const SECRET: &str = "a-secret-of-the-tianjin-receiver-0123";
const TJ_SIDE: &str = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
const BJ_SIDE: &str = "/api/v1/recognition-items/RI-CON-002/local-parts/BJ";
const WAIT: Duration = Duration::from_secs(15);

fn json_body(value: &Value) -> Option<(&'static str, Vec<u8>)> {
    Some(("application/json", value.to_string().into_bytes()))
}

async fn subscribe(app: &TestApp, token: &str, body: &Value) -> TestResponse {
    app.write(
        Method::POST,
        "/api/v1/webhooks",
        Some(token),
        None,
        json_body(body),
    )
    .await
}

async fn read(app: &TestApp, token: &str, id: i64) -> TestResponse {
    app.write(
        Method::GET,
        &format!("/api/v1/webhooks/{id}"),
        Some(token),
        None,
        None,
    )
    .await
}

async fn head(app: &TestApp) -> i64 {
    feed_after(app, 0)
        .await
        .last()
        .map_or(0, |c| c["seq"].as_i64().unwrap())
}

/// Edits Tianjin's (or Beijing's) side of RI-CON-002, `n`-th time, with its own editor.
async fn edit(app: &TestApp, signer: Signer, path: &str, version: i64) {
    let region = signer.region();
    let tag = format!("\"RI-CON-002.{region}.{version}\"");
    let edited = app
        .patch(
            path,
            &signer.token(&["editor"]),
            &tag,
            &json!({"contact": format!("热线 {version}")}),
        )
        .await;
    assert_eq!(
        edited.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&edited.body)
    );
}

/// Checks a delivery as a receiver would, with HMAC-SHA256 computed here (not by the
/// registry's own code): `t=<unix seconds>,v1=<hex of HMAC(secret, "<t>.<body>")>`.
fn assert_signed(delivery: &Received) {
    let header = delivery
        .header("x-registry-signature")
        .expect("a signature");
    let (t, v1) = header.split_once(',').expect("t=…,v1=…");
    let t = t.strip_prefix("t=").expect("t=");
    let v1 = v1.strip_prefix("v1=").expect("v1=");
    let sent_at: i64 = t.parse().expect("a time");
    assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
    let mut mac = <Hmac<Sha256>>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&delivery.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        v1,
        expected,
        "signature of {}",
        String::from_utf8_lossy(&delivery.body)
    );
    assert_eq!(delivery.method, "POST");
    assert_eq!(delivery.path, "/events");
    assert_eq!(delivery.header("content-type"), Some("application/json"));
}

/// The events of every delivery, in the order received.
fn events(received: &[Received]) -> Vec<Value> {
    received
        .iter()
        .flat_map(|d| d.json()["events"].as_array().unwrap().clone())
        .collect()
}

both_backends! {
    async fn a_subscriber_receives_exactly_the_changes_it_asked_for_signed_and_in_order(app) {
        let receiver = Receiver::start();
        let tj = Signer::Tianjin.token(&["editor"]);
        let before = head(&app).await;
        let made = subscribe(&app, &tj, &json!({
            "url": receiver.url(),
            "events": ["local_part_changed"],
            "secret": SECRET,
            "description": "天津市政务服务平台同步",
        })).await;
        assert_eq!(made.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&made.body));
        assert_eq!(made.header("location").as_deref(), Some("/api/v1/webhooks/1"));
        assert_eq!(made.header("etag").as_deref(), Some("\"webhook.1.1\""));
        let mut subscription = made.json();
        for field in ["created_at", "updated_at"] {
            assert!(subscription[field].as_str().unwrap().ends_with('Z'));
            subscription[field] = json!("…");
        }
        // An editor's subscription concerns its own region; the secret is never shown.
        assert_eq!(subscription, json!({
            "id": 1, "version": 1, "region": "TJ", "created_by": "tester@TJ",
            "url": receiver.url(), "events": ["local_part_changed"], "regions": ["TJ"],
            "sectors": [], "programmes": [], "description": "天津市政务服务平台同步",
            "state": "active", "delivered_through": before, "failures": 0,
            "next_attempt_at": null, "last_error": null, "last_delivered_at": null,
            "created_at": "…", "updated_at": "…",
        }));

        // Tianjin's side twice (wanted), Beijing's once (another region: not wanted).
        edit(&app, Signer::Tianjin, TJ_SIDE, 1).await;
        edit(&app, Signer::Beijing, BJ_SIDE, 1).await;
        edit(&app, Signer::Tianjin, TJ_SIDE, 2).await;
        let received = receiver.wait_for(WAIT, |r| events(r).len() >= 2).await;
        let feed = feed_after(&app, before).await;
        assert_eq!(feed.len(), 3);
        let wanted: Vec<Value> = feed.iter().filter(|c| c["region"] == "TJ").cloned().collect();
        assert_eq!(wanted.len(), 2);
        // Exactly the feed's own records of those changes, whole, in feed order.
        assert_eq!(events(&received), wanted);
        for delivery in &received {
            assert_signed(delivery);
            let body = delivery.json();
            let seqs: Vec<i64> = body["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
            let name = format!("1-{}-{}", seqs[0], seqs[seqs.len() - 1]);
            assert_eq!(body["delivery"], name);
            assert_eq!(body["subscription"], 1);
            assert_eq!(delivery.header("x-registry-delivery"), Some(name.as_str()));
        }

        // Nothing more is sent, and the subscription shows its progress: acknowledged
        // through the last change, Beijing's included (looked at, not wanted).
        actix_rt::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(receiver.received().len(), received.len(), "nothing more was sent");
        let current = read(&app, &tj, 1).await.json();
        assert_eq!(current["delivered_through"], feed[2]["seq"]);
        assert_eq!(current["failures"], 0);
        // To the microsecond, as both backends keep every time.
        let delivered_at = current["last_delivered_at"].as_str().unwrap();
        let fraction = delivered_at.split_once('.').map_or("Z", |(_, f)| f);
        assert!(fraction.len() <= 7, "{delivered_at}");
        assert_eq!(current["version"], 1, "progress does not change the version");
    }

    async fn a_receiver_that_keeps_failing_stops_its_subscription_until_resumed(app) {
        let receiver = Receiver::start();
        receiver.answer(503);
        let tj = Signer::Tianjin.token(&["editor"]);
        let before = head(&app).await;
        assert_eq!(subscribe(&app, &tj, &json!({"url": receiver.url(), "secret": SECRET})).await.status, StatusCode::CREATED);
        edit(&app, Signer::Tianjin, TJ_SIDE, 1).await;
        // Three failures in a row (the test servers' limit): failing, at a new version.
        receiver.wait_for(WAIT, |r| r.len() >= 3).await;
        let deadline = std::time::Instant::now() + WAIT;
        let failing = loop {
            let now = read(&app, &tj, 1).await;
            if now.json()["state"] == "failing" {
                break now;
            }
            assert!(std::time::Instant::now() < deadline, "not failing: {}", now.json());
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(failing.header("etag").as_deref(), Some("\"webhook.1.2\""));
        let failing = failing.json();
        assert_eq!(failing["failures"], 3);
        assert_eq!(failing["last_error"], "the receiver answered 503 Service Unavailable");
        assert_eq!(failing["delivered_through"], before);
        // Nothing more is tried, whatever changes meanwhile.
        edit(&app, Signer::Tianjin, TJ_SIDE, 2).await;
        actix_rt::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(receiver.received().len(), 3);
        let every = receiver.received();
        assert!(every.iter().all(|d| d.header("x-registry-delivery") == every[0].header("x-registry-delivery")), "the same delivery each time");

        // Resuming needs the version read, by a manager of its region.
        let resumption = "/api/v1/webhooks/1/resumption";
        let he = Signer::Hebei.token(&["editor"]);
        assert_eq!(app.write(Method::POST, resumption, Some(&he), Some("\"webhook.1.2\""), None).await.problem(403)["detail"], "a token of HE cannot change TJ's side; each region edits only its own");
        assert_eq!(app.write(Method::POST, resumption, Some(&tj), None, None).await.problem(428)["detail"], "send If-Match with the ETag of the subscription you read");
        let stale = app.write(Method::POST, resumption, Some(&tj), Some("\"webhook.1.1\""), None).await;
        assert_eq!(stale.problem(412)["detail"], "If-Match \"webhook.1.1\" is not the current version of subscription 1 (now \"webhook.1.2\"); read it again");
        assert_eq!(app.write(Method::POST, resumption, Some(&tj), Some("\"webhook.1.2\""), json_body(&json!({"state": "active"}))).await.problem(400)["detail"], "The change is invalid: `body`: this request takes no body (or `{}`)");
        assert_eq!(read(&app, &tj, 1).await.json()["state"], "failing");
        receiver.answer(200);
        let resumed = app.write(Method::POST, resumption, Some(&tj), Some("\"webhook.1.2\""), None).await;
        assert_eq!(resumed.status, StatusCode::OK);
        assert_eq!(resumed.header("etag").as_deref(), Some("\"webhook.1.3\""));
        assert_eq!(resumed.json()["state"], "active");
        assert_eq!(resumed.json()["failures"], 0);
        // Everything since the last acknowledged change arrives: nothing was lost.
        let feed: Vec<Value> = feed_after(&app, before).await;
        let received = receiver.wait_for(WAIT, |r| events(&r[3..]).len() >= 2).await;
        assert_eq!(events(&received[3..]), feed);
        let log = audit_log(&app).await;
        let actions: Vec<(&str, u64)> = log.iter().filter(|r| r["action"] == "resume_webhook").map(|r| (r["outcome"].as_str().unwrap(), r["status"].as_u64().unwrap())).collect();
        assert_eq!(actions, vec![("refused", 403), ("refused", 428), ("refused", 412), ("refused", 400), ("accepted", 200)]);
    }

    async fn bad_subscription_requests_are_refused_clearly_and_change_nothing(app) {
        let tj = Signer::Tianjin.token(&["editor"]);
        let good = json!({"url": "http://127.0.0.1:9/events", "secret": SECRET});
        let send = |token: Option<String>, content_type: &'static str, body: Vec<u8>| {
            let app = &app;
            async move { app.write(Method::POST, "/api/v1/webhooks", token.as_deref(), None, Some((content_type, body))).await }
        };
        let as_tj = |body: Value| send(Some(tj.clone()), "application/json", body.to_string().into_bytes());
        let with = |field: &str, value: Value| {
            let mut body = good.clone();
            body[field] = value;
            body
        };

        let elsewhere = as_tj(with("url", json!("http://localhost:9/events"))).await;
        assert_eq!(elsewhere.problem_naming("url")["detail"], "The change is invalid: `url`: host `localhost` port 9 is not among the hosts the operator allows for webhooks");
        let userinfo = as_tj(with("url", json!("http://127.0.0.1@evil.example/"))).await;
        assert_eq!(userinfo.problem_naming("url")["status"], 400);
        let short = as_tj(with("secret", json!("short"))).await;
        assert_eq!(short.problem_naming("secret")["detail"], "The change is invalid: `secret`: must be 24 to 256 bytes long");
        let sector = as_tj(with("sectors", json!(["no-such-sector"]))).await;
        assert_eq!(sector.problem_naming("sectors")["status"], 400);
        let event = as_tj(with("events", json!(["everything"]))).await;
        assert!(event.problem(400)["detail"].as_str().unwrap().contains("unknown variant `everything`"));
        let unknown = as_tj(with("callback", json!("x"))).await;
        assert!(unknown.problem_naming("callback")["detail"].as_str().unwrap().starts_with("The change is invalid: `callback`: unknown field `callback`"));
        let owned = as_tj(with("state", json!("active"))).await;
        assert_eq!(owned.problem_naming("state")["detail"], "The change is invalid: `state`: is set by the server and cannot be changed");
        let missing = as_tj(json!({"url": "http://127.0.0.1:9/events"})).await;
        assert_eq!(missing.problem_naming("secret")["status"], 400);
        let malformed = send(Some(tj.clone()), "application/json", b"{\"url\": ".to_vec()).await;
        assert!(malformed.problem(400)["detail"].as_str().unwrap().starts_with("The JSON body is invalid"));
        let text = send(Some(tj.clone()), "text/plain", good.to_string().into_bytes()).await;
        assert_eq!(text.problem(415)["status"], 415);
        let oversized = as_tj(with("description", json!("x".repeat(70 * 1024)))).await;
        assert_eq!(oversized.problem(413)["detail"], "The body is larger than the limit of 65536 bytes.");
        // Another region's interests, the wrong role, and no, a forged or an expired token.
        let other = as_tj(with("regions", json!(["BJ"]))).await;
        assert_eq!(other.problem(403)["detail"], "a token of TJ cannot change BJ's side; each region edits only its own");
        let approver = send(Some(Signer::Tianjin.token(&["approver"])), "application/json", good.to_string().into_bytes()).await;
        assert_eq!(approver.problem(403)["detail"], "this action needs the `editor` role; the token grants `approver`");
        let anonymous = send(None, "application/json", good.to_string().into_bytes()).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
        assert_eq!(anonymous.header("www-authenticate").as_deref(), Some("Bearer realm=\"jjj-registry\", error=\"invalid_token\", error_description=\"this request needs a bearer token\""));
        let mut claims = Signer::Tianjin.claims(&["editor", "admin"]);
        let forged = format!("{}x", sign(&Signer::Tianjin.header(), &claims, Signer::Tianjin));
        assert_eq!(send(Some(forged), "application/json", good.to_string().into_bytes()).await.status, StatusCode::UNAUTHORIZED);
        claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        let expired = sign(&Signer::Tianjin.header(), &claims, Signer::Tianjin);
        assert_eq!(send(Some(expired), "application/json", good.to_string().into_bytes()).await.status, StatusCode::UNAUTHORIZED);
        let query = app.write(Method::POST, "/api/v1/webhooks?dry_run=true", Some(&tj), None, json_body(&good)).await;
        assert_eq!(query.problem_naming("query")["status"], 400);

        // Nothing was made; reading needs a manager's token too.
        let listed = app.write(Method::GET, "/api/v1/webhooks", Some(&tj), None, None).await;
        assert_eq!(listed.json(), json!({"items": []}));
        assert_eq!(app.get("/api/v1/webhooks").await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(app.write(Method::GET, "/api/v1/webhooks", Some(&Signer::Tianjin.token(&["approver"])), None, None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(read(&app, &tj, 1).await.problem(404)["detail"], "There is no webhook subscription 1.");
        assert_eq!(read(&app, &tj, 0).await.problem_naming("id")["status"], 400);
        let log = audit_log(&app).await;
        let statuses: Vec<u64> = log.iter().filter(|r| r["action"] == "subscribe_webhook").map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(statuses, vec![400, 400, 400, 400, 400, 400, 400, 400, 400, 415, 413, 403, 403, 401, 401, 401, 400]);
        assert!(log.iter().all(|r| r["outcome"] == "refused"));
        assert!(!log.iter().any(|r| r.to_string().contains(SECRET)), "the secret is never logged");
    }

    async fn each_region_manages_only_its_own_subscriptions(app) {
        let tj = Signer::Tianjin.token(&["editor"]);
        let he = Signer::Hebei.token(&["editor"]);
        let admin = Signer::Beijing.token(&["admin"]);
        for token in [&tj, &he, &admin] {
            let made = subscribe(&app, token, &json!({"url": "http://127.0.0.1:9/events", "secret": SECRET, "sectors": ["construction"]})).await;
            assert_eq!(made.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&made.body));
        }
        let ids = |response: TestResponse| -> Vec<i64> {
            response.json()["items"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect()
        };
        assert_eq!(ids(app.write(Method::GET, "/api/v1/webhooks", Some(&tj), None, None).await), vec![1]);
        assert_eq!(ids(app.write(Method::GET, "/api/v1/webhooks", Some(&he), None, None).await), vec![2]);
        assert_eq!(ids(app.write(Method::GET, "/api/v1/webhooks", Some(&admin), None, None).await), vec![1, 2, 3]);
        assert_eq!(read(&app, &he, 1).await.problem(403)["detail"], "a token of HE cannot change TJ's side; each region edits only its own");
        assert_eq!(read(&app, &admin, 1).await.json()["region"], "TJ");

        let one = "/api/v1/webhooks/1";
        assert_eq!(app.write(Method::DELETE, one, Some(&he), Some("\"webhook.1.1\""), None).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.write(Method::DELETE, one, Some(&tj), None, None).await.status, StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(app.write(Method::DELETE, one, Some(&tj), Some("\"webhook.1.7\""), None).await.status, StatusCode::PRECONDITION_FAILED);
        let deleted = app.write(Method::DELETE, one, Some(&tj), Some("\"webhook.1.1\""), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert!(deleted.body.is_empty());
        assert_eq!(read(&app, &tj, 1).await.status, StatusCode::NOT_FOUND);
        assert_eq!(app.write(Method::DELETE, one, Some(&tj), Some("\"webhook.1.1\""), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(ids(app.write(Method::GET, "/api/v1/webhooks", Some(&admin), None, None).await), vec![2, 3]);
        // The administrator manages any region's.
        assert_eq!(app.write(Method::DELETE, "/api/v1/webhooks/2", Some(&admin), Some("\"webhook.2.1\""), None).await.status, StatusCode::NO_CONTENT);

        let log = audit_log(&app).await;
        let accepted: Vec<(&str, &str, &str)> = log.iter().filter(|r| r["outcome"] == "accepted").map(|r| (r["action"].as_str().unwrap(), r["entry_code"].as_str().unwrap(), r["target_region"].as_str().unwrap())).collect();
        assert_eq!(accepted, vec![
            ("subscribe_webhook", "1", "TJ"), ("subscribe_webhook", "2", "HE"), ("subscribe_webhook", "3", "BJ"),
            ("unsubscribe_webhook", "1", "TJ"), ("unsubscribe_webhook", "2", "HE"),
        ]);
        let refused_delete: Vec<u64> = log.iter().filter(|r| r["action"] == "unsubscribe_webhook" && r["outcome"] == "refused").map(|r| r["status"].as_u64().unwrap()).collect();
        assert_eq!(refused_delete, vec![403, 428, 412, 404]);
    }
}

/// A server that keeps retrying (the test servers' default gives up after three
/// failures, sooner than a receiver is restarted on a loaded machine).
async fn patient_app(backend: Backend) -> TestApp {
    let db = TestDatabase::create(backend);
    let mut settings = test_settings(db.url.clone());
    settings.webhooks.max_failures = 1000;
    TestApp::spawn_with(db, settings).await
}

mod receiver_down {
    use super::*;

    #[actix_rt::test]
    async fn sqlite() {
        a_receiver_that_is_down_for_a_while_gets_every_change_once_it_is_back(
            patient_app(Backend::Sqlite).await,
        )
        .await;
    }

    #[actix_rt::test]
    async fn postgres() {
        a_receiver_that_is_down_for_a_while_gets_every_change_once_it_is_back(
            patient_app(Backend::Postgres).await,
        )
        .await;
    }
}

async fn a_receiver_that_is_down_for_a_while_gets_every_change_once_it_is_back(app: TestApp) {
    let mut receiver = Receiver::down();
    let admin = Signer::Hebei.token(&["admin"]);
    let before = head(&app).await;
    let made = subscribe(
        &app,
        &admin,
        &json!({"url": receiver.url(), "secret": SECRET}),
    )
    .await;
    assert_eq!(
        made.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&made.body)
    );
    // An administrator's subscription without filters takes everything.
    assert_eq!(made.json()["regions"], json!([]));
    edit(&app, Signer::Tianjin, TJ_SIDE, 1).await;
    edit(&app, Signer::Beijing, BJ_SIDE, 1).await;

    // Refused connections are failures, retried with growing waits.
    let deadline = std::time::Instant::now() + WAIT;
    let failed = loop {
        let now = read(&app, &admin, 1).await.json();
        if now["failures"].as_i64().unwrap() >= 2 {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failures recorded: {now}"
        );
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(failed["state"], "active");
    assert_eq!(failed["delivered_through"], before);
    assert!(failed["last_error"].as_str().unwrap().len() > 3, "{failed}");
    assert!(failed["next_attempt_at"].is_string());

    // Back up, with a change made while it was down still to come.
    edit(&app, Signer::Tianjin, TJ_SIDE, 2).await;
    receiver.restart();
    let feed = feed_after(&app, before).await;
    assert_eq!(feed.len(), 3);
    let received = receiver.wait_for(WAIT, |r| events(r).len() >= 3).await;
    assert_eq!(events(&received), feed, "every change once, in order");
    let back = read(&app, &admin, 1).await.json();
    assert_eq!(back["failures"], 0);
    assert_eq!(back["last_error"], Value::Null);
    assert_eq!(back["next_attempt_at"], Value::Null);
    assert_eq!(back["delivered_through"], feed[2]["seq"]);
}
