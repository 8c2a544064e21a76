//! Keys from a `jwks_url`: fetched at start, fetched again when a token names a key the
//! issuer has rotated in, at most once a minute; served here by a JWKS endpoint on
//! loopback that counts its requests.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use awc::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestDatabase, fixture, test_settings};
use crate::tokens::{Signer, sign};

/// A JWKS endpoint on 127.0.0.1 serving whatever `keys` holds, counting requests.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Value>>,
    requests: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(keys: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let keys = Arc::new(Mutex::new(keys));
        let requests = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (Arc::clone(&keys), Arc::clone(&requests));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let body = served.lock().unwrap().to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            url,
            keys,
            requests,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Tianjin's fixture key under another key id, as if the issuer had rotated one in.
fn tianjin_key(kid: &str) -> Value {
    let set: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("auth/tj.jwks.json")).unwrap())
            .unwrap();
    let mut key = set["keys"][0].clone();
    key["kid"] = json!(kid);
    key
}

fn token_with_kid(kid: &str) -> String {
    let mut header = Signer::Tianjin.header();
    header["kid"] = json!(kid);
    sign(
        &header,
        &Signer::Tianjin.claims(&["editor"]),
        Signer::Tianjin,
    )
}

async fn audit_status(app: &TestApp, token: &str) -> StatusCode {
    app.write(Method::GET, "/api/v1/audit", Some(token), None, None)
        .await
        .status
}

async fn app_trusting(jwks_url: &str) -> (TestApp, tempfile::TempDir) {
    let folder = tempfile::tempdir().unwrap();
    let issuers = folder.path().join("issuers.json");
    std::fs::write(
        &issuers,
        json!({"audience": "jjj-registry", "issuers": [
            {"iss": Signer::Tianjin.issuer(), "region": "TJ", "algorithms": ["ES256"], "jwks_url": jwks_url}
        ]})
        .to_string(),
    )
    .unwrap();
    let db = TestDatabase::create(Backend::Sqlite);
    let mut settings = test_settings(db.url.clone());
    settings.issuers_file = Some(issuers);
    (TestApp::spawn_with(db, settings).await, folder)
}

#[actix_rt::test]
async fn keys_rotated_in_at_the_issuer_are_fetched_on_first_use_at_most_once_a_minute() {
    let jwks = JwksServer::start(json!({"keys": [tianjin_key("tj-2026")]}));
    let (app, _folder) = app_trusting(&jwks.url).await;
    assert_eq!(jwks.requests(), 1, "fetched once at start");
    assert_eq!(
        audit_status(&app, &token_with_kid("tj-2026")).await,
        StatusCode::OK
    );
    assert_eq!(jwks.requests(), 1, "a known key needs no fetch");

    // The issuer rotates a key in: the first token naming it makes the registry fetch
    // the set again, and is accepted.
    *jwks.keys.lock().unwrap() = json!({"keys": [tianjin_key("tj-2026"), tianjin_key("tj-2027")]});
    assert_eq!(
        audit_status(&app, &token_with_kid("tj-2027")).await,
        StatusCode::OK
    );
    assert_eq!(jwks.requests(), 2);
    // Made-up key ids within the minute cause no further fetch.
    for kid in ["tj-9999", "tj-0000", "tj-2028"] {
        let refused = app
            .write(
                Method::GET,
                "/api/v1/audit",
                Some(&token_with_kid(kid)),
                None,
                None,
            )
            .await;
        assert_eq!(
            refused.problem(401)["detail"],
            "no key of issuer https://id.tj.example matches the token's `kid`"
        );
    }
    assert_eq!(jwks.requests(), 2, "at most one fetch a minute");
    assert_eq!(
        audit_status(&app, &token_with_kid("tj-2026")).await,
        StatusCode::OK
    );
}

#[actix_rt::test]
async fn an_issuer_unreachable_at_start_is_fetched_when_its_tokens_arrive() {
    // Nothing listens on this port when the registry starts.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (app, _folder) = app_trusting(&format!("http://127.0.0.1:{port}/jwks.json")).await;
    assert_eq!(
        audit_status(&app, &token_with_kid("tj-2026")).await,
        StatusCode::UNAUTHORIZED,
        "no keys yet, and the fetch fails"
    );
    // Another issuer's endpoint that works; the registry started all the same.
    let jwks = JwksServer::start(json!({"keys": [tianjin_key("tj-2026")]}));
    let (app, _folder) = app_trusting(&jwks.url).await;
    assert_eq!(
        audit_status(&app, &token_with_kid("tj-2026")).await,
        StatusCode::OK
    );
}
