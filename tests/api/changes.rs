//! The change feed: every committed change once, in commit order, numbered without
//! gaps, however many writers commit at once; cheap, cacheable polls.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use awc::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::editing::futures_join;
use crate::helpers::{TestApp, both_backends};
use crate::proposals::{legal_basis_change, proposed, voted};
use crate::tokens::Signer;

/// Every change after `after`, page by page.
pub(crate) async fn feed_after(app: &TestApp, mut after: i64) -> Vec<Value> {
    let mut changes = Vec::new();
    loop {
        let page = app
            .get_json(&format!("/api/v1/changes?after={after}&limit=1000"))
            .await;
        let items = page["items"].as_array().unwrap().clone();
        if items.is_empty() {
            assert_eq!(page["next_after"], after);
            return changes;
        }
        after = page["next_after"].as_i64().unwrap();
        assert_eq!(items.last().unwrap()["seq"], after);
        changes.extend(items);
    }
}

/// The codes of every entry the sample catalog loads, by feed entry kind.
async fn sample_entries(app: &TestApp) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    for (kind, path) in [
        ("batch", "/api/v1/batches"),
        ("recognition_item", "/api/v1/recognition-items?limit=200"),
        ("standard_item", "/api/v1/standard-items?limit=200"),
        ("scenario", "/api/v1/scenarios?limit=200"),
        ("target", "/api/v1/targets"),
    ] {
        let page = app.get_json(path).await;
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty(), "{path}");
        entries.extend(
            items
                .iter()
                .map(|e| (kind.to_owned(), e["code"].as_str().unwrap().to_owned())),
        );
    }
    entries.sort();
    entries
}

/// `change` without its commit time, which is checked to be an RFC 3339 time in
/// microseconds.
fn timeless(change: &Value) -> Value {
    let mut change = change.clone();
    let time = change
        .as_object_mut()
        .unwrap()
        .remove("recorded_at")
        .unwrap();
    let time = time.as_str().unwrap();
    chrono::DateTime::parse_from_rfc3339(time).unwrap();
    // To the microsecond on both backends, as stored and read back.
    let fraction = time
        .split_once('.')
        .map_or("", |(_, f)| f.trim_end_matches('Z'));
    assert!(fraction.len() <= 6, "{time}");
    change
}

/// Runs futures concurrently on the test's runtime, returning their outputs in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none()
                && let Poll::Ready(value) = future.as_mut().poll(cx)
            {
                *output = Some(value);
            }
        }
        if outputs.iter().all(Option::is_some) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

both_backends! {
    async fn the_feed_lists_every_change_once_in_commit_order(app) {
        // The sample catalog: one `entry_created` per entry, numbered 1, 2, 3, …
        let loaded = feed_after(&app, 0).await;
        let head = loaded.len() as i64;
        for (change, seq) in loaded.iter().zip(1..) {
            assert_eq!(change["seq"], seq);
            assert_eq!(timeless(change), json!({
                "seq": seq, "kind": "entry_created", "entry_kind": change["entry_kind"],
                "entry_code": change["entry_code"], "region": null, "version": 1,
                "proposal": null, "state": null,
            }));
        }
        let mut named: Vec<(String, String)> = loaded.iter()
            .map(|c| (c["entry_kind"].as_str().unwrap().to_owned(), c["entry_code"].as_str().unwrap().to_owned()))
            .collect();
        named.sort();
        assert_eq!(named, sample_entries(&app).await);

        // An empty poll: nothing new, revalidated cheaply with its ETag.
        let empty = app.get(&format!("/api/v1/changes?after={head}")).await;
        assert_eq!(empty.status, StatusCode::OK);
        assert_eq!(empty.json(), json!({"items": [], "next_after": head}));
        assert_eq!(empty.header("cache-control").as_deref(), Some("no-cache"));
        let tag = empty.header("etag").unwrap();
        let again = app.get_with(&format!("/api/v1/changes?after={head}"), &[("if-none-match", &tag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
        // A full page never changes: it may be cached for good.
        let full = app.get("/api/v1/changes?after=0&limit=2").await;
        assert_eq!(full.header("cache-control").as_deref(), Some("public, max-age=31536000, immutable"));
        assert_eq!(full.json()["items"].as_array().unwrap().len(), 2);
        assert_eq!(full.json()["next_after"], 2);

        // A region's edit of its own side.
        let side = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
        let edit = app.patch(side, &Signer::Tianjin.token(&["editor"]), "\"RI-CON-002.TJ.1\"", &json!({"contact": "022-12345678"})).await;
        assert_eq!(edit.status, StatusCode::OK);
        let polled = app.get_with(&format!("/api/v1/changes?after={head}"), &[("if-none-match", &tag)]).await;
        assert_eq!(polled.status, StatusCode::OK, "the old ETag no longer matches");
        let items = polled.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.iter().map(timeless).collect::<Vec<_>>(), vec![json!({
            "seq": head + 1, "kind": "local_part_changed", "entry_kind": "recognition_item",
            "entry_code": "RI-CON-002", "region": "TJ", "version": 2, "proposal": null, "state": null,
        })]);

        // A proposal: opened, then applied by the last approval.
        let item_version = app.get_json("/api/v1/recognition-items/RI-CON-002").await["version"].as_i64().unwrap();
        let proposal = proposed(&app, Signer::Tianjin, &legal_basis_change(item_version, "三地联合通知")).await;
        let id = proposal["id"].as_i64().unwrap();
        voted(&app, id, Signer::Beijing, "approve").await;
        voted(&app, id, Signer::Tianjin, "approve").await;
        let applied = voted(&app, id, Signer::Hebei, "approve").await;
        assert_eq!(applied["state"], "applied");
        let code = id.to_string();
        assert_eq!(feed_after(&app, head + 1).await.iter().map(timeless).collect::<Vec<_>>(), vec![
            json!({"seq": head + 2, "kind": "proposal_state_changed", "entry_kind": "proposal", "entry_code": code,
                   "region": null, "version": 1, "proposal": id, "state": "open"}),
            json!({"seq": head + 3, "kind": "entry_changed", "entry_kind": "recognition_item", "entry_code": "RI-CON-002",
                   "region": null, "version": item_version + 1, "proposal": id, "state": null}),
            json!({"seq": head + 4, "kind": "proposal_state_changed", "entry_kind": "proposal", "entry_code": code,
                   "region": null, "version": applied["version"], "proposal": id, "state": "applied"}),
        ]);

        // The unilateral act.
        let suspended = app.write(Method::POST, "/api/v1/recognition-items/RI-CON-002/suspensions",
            Some(&Signer::Tianjin.token(&["approver"])), None,
            Some(("application/json", json!({"used_in": "TJ", "reason": "核验接口维护"}).to_string().into_bytes()))).await;
        assert_eq!(suspended.status, StatusCode::CREATED);
        let version = app.get_json("/api/v1/recognition-items/RI-CON-002").await["version"].clone();
        assert_eq!(feed_after(&app, head + 4).await.iter().map(timeless).collect::<Vec<_>>(), vec![
            json!({"seq": head + 5, "kind": "acceptance_suspended", "entry_kind": "recognition_item", "entry_code": "RI-CON-002",
                   "region": "TJ", "version": version, "proposal": null, "state": null}),
        ]);

        // `minimal=true`: numbers, entries and versions only.
        let minimal = app.get_json(&format!("/api/v1/changes?after={head}&limit=2&minimal=true")).await;
        assert_eq!(minimal, json!({"items": [
            {"seq": head + 1, "entry_kind": "recognition_item", "entry_code": "RI-CON-002", "version": 2},
            {"seq": head + 2, "entry_kind": "proposal", "entry_code": code, "version": 1},
        ], "next_after": head + 2}));
        // The forms are different representations: one's ETag is not the other's.
        let full_tag = app.get(&format!("/api/v1/changes?after={head}&limit=2")).await.header("etag").unwrap();
        let minimal_tag = app.get(&format!("/api/v1/changes?after={head}&limit=2&minimal=true")).await.header("etag").unwrap();
        assert_ne!(full_tag, minimal_tag);
    }

    async fn bad_feed_parameters_are_refused_by_name(app) {
        for (query, field) in [
            ("after=-1", "after"),
            ("after=x", "after"),
            ("limit=0", "limit"),
            ("limit=1001", "limit"),
            ("minimal=yes", "minimal"),
            ("since=3", "since"),
        ] {
            let response = app.get(&format!("/api/v1/changes?{query}")).await;
            let problem = response.problem_naming(field);
            assert_eq!(problem["status"], 400, "{query}");
        }
    }

    async fn concurrent_writers_each_appear_once_in_order(app) {
        const WRITERS: usize = 16;
        const WRITES_EACH: usize = 4;
        let start = feed_after(&app, 0).await.len() as i64;
        // Sixteen regions' sides, one per writer, none shared.
        let items = app.get_json("/api/v1/recognition-items?limit=200").await;
        let tokens: BTreeMap<&str, String> = [Signer::Beijing, Signer::Tianjin, Signer::Hebei]
            .into_iter()
            .map(|s| (s.region(), s.token(&["editor"])))
            .collect();
        let sides: Vec<(String, String)> = items["items"].as_array().unwrap().iter()
            .flat_map(|item| item["local_parts"].as_array().unwrap().iter()
                .map(move |part| (item["code"].as_str().unwrap().to_owned(), part["region"].as_str().unwrap().to_owned())))
            .take(WRITERS)
            .collect();
        assert_eq!(sides.len(), WRITERS);

        let writing = Cell::new(true);
        let writers = join_all(sides.iter().map(|(code, region)| {
            let (app, tokens) = (&app, &tokens);
            async move {
                let path = format!("/api/v1/recognition-items/{code}/local-parts/{region}");
                let mut tag = app.get(&path).await.header("etag").unwrap();
                let mut written = Vec::new();
                for n in 0..WRITES_EACH {
                    let response = app.patch(&path, &tokens[region.as_str()], &tag, &json!({"notes": format!("write {n}")})).await;
                    assert_eq!(response.status, StatusCode::OK, "{}", String::from_utf8_lossy(&response.body));
                    tag = response.header("etag").unwrap();
                    written.push((code.clone(), region.clone(), response.json()["version"].as_i64().unwrap()));
                }
                written
            }
        }).collect());
        // A follower polls the feed the whole time, as a provincial system would.
        let follower = async {
            let mut seen = Vec::new();
            let mut after = start;
            loop {
                let done = !writing.get();
                let page = app.get_json(&format!("/api/v1/changes?after={after}&limit=7")).await;
                let items = page["items"].as_array().unwrap().clone();
                if items.is_empty() && done {
                    return seen;
                }
                for change in &items {
                    after += 1;
                    assert_eq!(change["seq"], after, "gap-free and in order");
                }
                seen.extend(items);
            }
        };
        let writes = async {
            let written = writers.await;
            writing.set(false);
            written
        };
        let (written, seen) = futures_join(writes, follower).await;
        let mut acknowledged: Vec<(String, String, i64)> = written.into_iter().flatten().collect();
        let mut followed: Vec<(String, String, i64)> = seen.iter()
            .map(|c| {
                assert_eq!(c["kind"], "local_part_changed");
                (c["entry_code"].as_str().unwrap().to_owned(), c["region"].as_str().unwrap().to_owned(), c["version"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(acknowledged.len(), WRITERS * WRITES_EACH);
        acknowledged.sort();
        followed.sort();
        assert_eq!(followed, acknowledged, "every acknowledged write exactly once, nothing else");
        // The instance's read model followed too.
        for (code, region) in &sides {
            let item = app.get_json(&format!("/api/v1/recognition-items/{code}")).await;
            let part = item["local_parts"].as_array().unwrap().iter().find(|p| &p["region"] == region).unwrap();
            assert_eq!(part["notes"], format!("write {}", WRITES_EACH - 1));
        }
    }
}
