//! Test harness: the real application on 127.0.0.1:0 with a fresh database per test.
//!
//! SQLite: a migrated, sample-loaded template file is made once per test process and
//! copied per test. PostgreSQL: a migrated, sample-loaded template database is made once
//! per process; each test gets `CREATE DATABASE … TEMPLATE …`, dropped when the test
//! ends. Database names carry `JJJ_TEST_RUN_ID` (set by `scripts/test.sh`) so that
//! concurrent runs never collide and a run can clean up after itself.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use awc::http::{Method, StatusCode};
use diesel::{Connection, PgConnection, RunQueryDsl};
use jjj_registry::auth::Secret;
use jjj_registry::domain::webhook::HostAllowlist;
use jjj_registry::registry::load_sample;
use jjj_registry::settings::{
    AccessSettings, LogFormat, SampleCatalogPolicy, Settings, WebhookSettings,
};
use jjj_registry::startup::Application;
use jjj_registry::storage::{Database, DatabaseUrl};
use serde_json::Value;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs one async test body on both backends: `both_backends!(async fn name(app) { … });`
/// makes `name::sqlite` and `name::postgres`.
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)+) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::helpers::TestApp) $body

                #[actix_rt::test]
                async fn sqlite() {
                    run($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await
                }

                #[actix_rt::test]
                async fn postgres() {
                    run($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await
                }
            }
        )+
    };
}
pub(crate) use both_backends;

/// The PostgreSQL server tests use (maintenance database); `scripts/test.sh` makes
/// sure it runs.
///
/// Without TLS unless the URL asks for it: on loopback it protects nothing, and libpq's
/// OpenSSL state would otherwise be torn down at the process's exit while threads of
/// finished tests' pools may still be connecting (the suite once aborted at exit with a
/// corrupted heap, after every test had passed).
pub fn postgres_admin_url() -> String {
    let url = std::env::var("JJJ_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    if url.contains("sslmode=") {
        url
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

fn run_id() -> &'static str {
    static RUN_ID: OnceLock<String> = OnceLock::new();
    RUN_ID.get_or_init(|| {
        let id =
            std::env::var("JJJ_TEST_RUN_ID").unwrap_or_else(|_| format!("{}", std::process::id()));
        id.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase()
    })
}

fn unique_suffix() -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}_{}_{}",
        run_id(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

fn admin_connection() -> PgConnection {
    let url = postgres_admin_url();
    PgConnection::establish(&url).unwrap_or_else(|e| {
        panic!("PostgreSQL is required for the test suite and is not reachable at {url}: {e}\nRun the tests with scripts/test.sh, which starts it.")
    })
}

fn with_postgres_db(name: &str) -> String {
    let admin = postgres_admin_url();
    let (address, query) = admin.split_once('?').unwrap_or((admin.as_str(), ""));
    match address.rsplit_once('/') {
        Some((server, _)) if query.is_empty() => format!("{server}/{name}"),
        Some((server, _)) => format!("{server}/{name}?{query}"),
        None => panic!("JJJ_TEST_POSTGRES_URL must end with /<database>"),
    }
}

/// Makes a migrated database holding the sample catalog.
fn prepare(url: &DatabaseUrl) {
    let database = Database::open(url, 1, Duration::from_secs(10)).expect("migrate template");
    database
        .run_here(load_sample)
        .expect("load sample into template");
}

fn sqlite_template() -> &'static PathBuf {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("template.db");
            prepare(&DatabaseUrl::Sqlite(path.clone()));
            // The pool is dropped by now: SQLite has checkpointed the WAL into the file.
            (dir, path)
        })
        .1
}

static POSTGRES_TEMPLATE: OnceLock<String> = OnceLock::new();

fn postgres_template() -> &'static str {
    POSTGRES_TEMPLATE.get_or_init(|| {
        let name = format!("jjj_{}_tpl", unique_suffix());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin_connection())
            .expect("create template");
        prepare(&DatabaseUrl::Postgres(with_postgres_db(&name)));
        // Statics are never dropped: drop the template when the test process exits, so
        // that `cargo test` outside scripts/test.sh leaves nothing behind.
        // SAFETY: registers a plain `extern "C" fn` with no captured state.
        unsafe { libc::atexit(drop_postgres_template) };
        name
    })
}

extern "C" fn drop_postgres_template() {
    if let Some(name) = POSTGRES_TEMPLATE.get() {
        drop_postgres(name);
    }
}

/// A database that exists for one test.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    postgres_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh copy of the sample-loaded template.
    pub fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let path = dir.path().join("registry.db");
                std::fs::copy(sqlite_template(), &path).expect("copy template");
                Self {
                    url: DatabaseUrl::Sqlite(path),
                    postgres_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let template = postgres_template();
                let name = format!("jjj_{}_db", unique_suffix());
                diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
                    .execute(&mut admin_connection())
                    .expect("create test database");
                Self {
                    url: DatabaseUrl::Postgres(with_postgres_db(&name)),
                    postgres_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// An empty, unmigrated database.
    pub fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                Self {
                    url: DatabaseUrl::Sqlite(dir.path().join("nested/dir/registry.db")),
                    postgres_name: None,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let name = format!("jjj_{}_empty", unique_suffix());
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin_connection())
                    .expect("create empty database");
                Self {
                    url: DatabaseUrl::Postgres(with_postgres_db(&name)),
                    postgres_name: Some(name),
                    _dir: None,
                }
            }
        }
    }

    /// Makes a PostgreSQL database unreachable for the running server: drops it,
    /// terminating its connections.
    pub fn make_unreachable(&mut self) {
        if let Some(name) = self.postgres_name.take() {
            drop_postgres(&name);
        }
    }
}

fn drop_postgres(name: &str) {
    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin_connection());
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres_name {
            drop_postgres(name);
        }
    }
}

/// Settings for a test server on `url`.
pub fn test_settings(url: DatabaseUrl) -> Settings {
    Settings {
        database_url: url,
        bind: "127.0.0.1:0".parse().expect("address"),
        workers: Some(1),
        db_pool_size: 2,
        db_timeout: Duration::from_millis(1500),
        sample_catalog: SampleCatalogPolicy::Never,
        refresh_interval: Duration::from_millis(200),
        max_body_bytes: 64 * 1024,
        max_import_bytes: 4 * 1024 * 1024,
        body_timeout: Duration::from_secs(3),
        log_format: LogFormat::Compact,
        log_filter: "warn".into(),
        issuers_file: Some(fixture("auth/issuers.json")),
        dev_secret: Some(Secret::new(TEST_DEV_SECRET.to_owned()).expect("secret")),
        // Receivers listen on loopback (and the documented example's host is allowed,
        // as an operator would allow a real one); retries come quickly and give up
        // after three.
        webhooks: WebhookSettings {
            allowed_hosts: HostAllowlist::parse("127.0.0.1, sync.tj.example").expect("allowlist"),
            retry_delay: Duration::from_millis(100),
            max_failures: 3,
            timeout: Duration::from_secs(2),
        },
        access: AccessSettings::unlimited(),
    }
}

/// The development secret of every test server.
pub const TEST_DEV_SECRET: &str = "test-secret-of-the-development-issuer-0123456789";

/// A file under `tests/fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// A running application and a client for it.
pub struct TestApp {
    pub base: String,
    pub db: TestDatabase,
    client: awc::Client,
}

/// A response with its body read.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: awc::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as JSON (panics with the body text if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts an RFC 9457 problem with `status`, returning its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        for field in ["type", "title", "detail"] {
            assert!(
                body[field].as_str().is_some_and(|s| !s.is_empty()),
                "problem lacks {field}: {body}"
            );
        }
        body
    }

    /// Asserts a 400 problem naming `field` among its field errors.
    pub fn problem_naming(&self, field: &str) -> Value {
        let body = self.problem(400);
        let named = body["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|e| e["field"] == field));
        assert!(named, "no error for `{field}`: {body}");
        body
    }
}

impl TestApp {
    /// Starts the application on a fresh copy of the sample catalog.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_on(TestDatabase::create(backend)).await
    }

    /// Starts the application on `db`.
    pub async fn spawn_on(db: TestDatabase) -> Self {
        let settings = test_settings(db.url.clone());
        Self::spawn_with(db, settings).await
    }

    /// Starts the application on `db` with `settings` (whose database is `db`'s).
    pub async fn spawn_with(db: TestDatabase, settings: Settings) -> Self {
        let app = Application::build(&settings).expect("application starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        actix_rt::spawn(app.run_until_stopped());
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .disable_redirects()
            .finish();
        Self { base, db, client }
    }

    /// Sends a request with optional headers and body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> TestResponse {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.append_header((*name, *value));
        }
        let sent = match body {
            Some((content_type, bytes)) => {
                request
                    .insert_header(("content-type", content_type))
                    .send_body(bytes)
                    .await
            }
            None => request.send().await,
        };
        let mut response = sent.unwrap_or_else(|e| panic!("request to {path} failed: {e}"));
        let body = response
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .expect("body")
            .to_vec();
        TestResponse {
            status: response.status(),
            headers: response.headers().clone(),
            body,
        }
    }

    /// Like [`Self::request`] without a body, but a request the server refuses by
    /// closing the connection is an `Err`, not a panic. It goes out on a client of its
    /// own, so that the connection the server drops is never reused by later requests.
    pub async fn try_request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<TestResponse, String> {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(30))
            .disable_redirects()
            .finish();
        let mut request = client.request(method, format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.append_header((*name, *value));
        }
        let mut response = request.send().await.map_err(|e| e.to_string())?;
        let body = response
            .body()
            .limit(64 * 1024 * 1024)
            .await
            .map_err(|e| e.to_string())?;
        Ok(TestResponse {
            status: response.status(),
            headers: response.headers().clone(),
            body: body.to_vec(),
        })
    }
    /// GET.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(Method::GET, path, &[], None).await
    }

    /// GET with headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.request(Method::GET, path, headers, None).await
    }

    /// GET expecting 200 JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{path}: {}",
            String::from_utf8_lossy(&response.body)
        );
        response.json()
    }

    /// A request with a bearer token, optional `If-Match` and a JSON body of
    /// `content_type`.
    pub async fn write(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        if_match: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
    ) -> TestResponse {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer));
        }
        if let Some(tag) = if_match {
            headers.push(("if-match", tag));
        }
        self.request(method, path, &headers, body).await
    }

    /// PATCH a merge patch with a token and `If-Match`.
    pub async fn patch(
        &self,
        path: &str,
        token: &str,
        if_match: &str,
        patch: &Value,
    ) -> TestResponse {
        self.write(
            Method::PATCH,
            path,
            Some(token),
            Some(if_match),
            Some((
                "application/merge-patch+json",
                patch.to_string().into_bytes(),
            )),
        )
        .await
    }

    /// POST a JSON value.
    pub async fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.request(
            Method::POST,
            path,
            &[],
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }
}

/// A file of the bundled sample catalog, as JSON values.
pub fn sample(file: &str) -> Vec<serde_json::Value> {
    let text = match file {
        "batches" => include_str!("../../sample/batches.json"),
        "recognition-items" => include_str!("../../sample/recognition-items.json"),
        "standard-items" => include_str!("../../sample/standard-items.json"),
        "scenarios" => include_str!("../../sample/scenarios.json"),
        "targets" => include_str!("../../sample/targets.json"),
        other => panic!("no sample file {other}"),
    };
    serde_json::from_str(text).unwrap()
}
