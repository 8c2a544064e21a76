//! The binary's command line, start-up failures, and the deployment files (validated
//! without a Docker engine, which this machine lacks).

use std::process::Command;

use serde_yaml::Value;

use crate::helpers::{Backend, TestDatabase};

fn registry_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jjj-registry"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["load-sample", "--help"],
        vec!["openapi", "--help"],
        vec!["healthcheck", "--help"],
        vec!["token", "--help"],
        vec!["verify-audit", "--help"],
        vec!["export", "--help"],
        vec!["import", "--help"],
    ] {
        let output = registry_command().args(&args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let help = registry_command().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for variable in ["DATABASE_URL", "REGISTRY_BIND", ".env.example"] {
        assert!(
            help.contains(variable),
            "--help does not mention {variable}:\n{help}"
        );
    }
}

#[test]
fn migrate_says_which_migrations_it_applied() {
    let db = TestDatabase::empty(Backend::Sqlite);
    let jjj_registry::storage::DatabaseUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    let url = format!("sqlite://{}", path.display());
    let first = registry_command()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&first.stdout).into_owned();
    let migrations: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
    assert!(
        first.contains(&format!("applied {} migrations:", migrations.len())),
        "{first}"
    );
    for name in &migrations {
        assert!(
            first.contains(name.as_str()),
            "{name} not named in: {first}"
        );
    }
    let again = registry_command()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already up to date"),
        "{again:?}"
    );
}

#[test]
fn openapi_check_tells_a_missing_file_from_a_stale_one() {
    let elsewhere = tempfile::tempdir().unwrap();
    let missing = registry_command()
        .args(["openapi", "--check"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot read openapi/openapi.json"),
        "{stderr}"
    );
    assert!(stderr.contains("repository root"), "{stderr}");
    let stale = elsewhere.path().join("stale.json");
    std::fs::write(&stale, "{}").unwrap();
    let output = registry_command()
        .args(["openapi", "--check", "--output"])
        .arg(&stale)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("differs from the spec the code generates"),
        "{stderr}"
    );
}

#[actix_rt::test]
async fn healthcheck_probes_the_configured_bind_address() {
    let app = crate::helpers::TestApp::spawn(Backend::Sqlite).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let probe = actix_web::rt::task::spawn_blocking(move || {
        registry_command()
            .arg("healthcheck")
            .env("REGISTRY_BIND", &address)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    // Nothing listens on the discard port: the probe fails and names the address.
    let closed = registry_command()
        .arg("healthcheck")
        .env("REGISTRY_BIND", "127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&closed.stderr).contains("127.0.0.1:9"),
        "{closed:?}"
    );
}

#[test]
fn serve_logs_the_full_docs_url_and_rounded_durations() {
    use std::io::{BufRead, BufReader, Read, Write};
    let db = TestDatabase::create(Backend::Sqlite);
    let jjj_registry::storage::DatabaseUrl::Sqlite(path) = &db.url else {
        unreachable!()
    };
    let mut server = registry_command()
        .arg("serve")
        .env("DATABASE_URL", format!("sqlite://{}", path.display()))
        .env("REGISTRY_BIND", "127.0.0.1:0")
        .env("REGISTRY_WORKERS", "1")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("listening"))
        .expect("a start-up line");
    let docs = listening
        .split_whitespace()
        .find(|word| word.starts_with("http://") && word.ends_with("/docs"))
        .unwrap_or_else(|| panic!("no docs URL in: {listening}"));
    let authority = docs.trim_start_matches("http://").trim_end_matches("/docs");
    assert!(
        authority.starts_with("127.0.0.1:") && !authority.ends_with(":0"),
        "{listening}"
    );
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream.read_to_end(&mut Vec::new()).unwrap();
    let served = lines
        .map_while(Result::ok)
        .find(|line| line.contains("request served"))
        .expect("an access log line");
    server.kill().unwrap();
    let _ = server.wait();
    let duration = served
        .split_whitespace()
        .find_map(|field| field.strip_prefix("duration_ms="))
        .unwrap_or_else(|| panic!("no duration_ms in: {served}"));
    let decimals = duration.split_once('.').map_or(0, |(_, d)| d.len());
    assert!(
        decimals <= 3,
        "duration_ms={duration} is not rounded: {served}"
    );
}

#[test]
fn start_up_with_postgres_down_names_the_real_cause() {
    let output = registry_command()
        .args(["serve"])
        .env("DATABASE_URL", "postgres://registry:s3cret@127.0.0.1:9/jjj")
        .env("REGISTRY_BIND", "127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .contains("cannot connect to the database at postgres://registry:***@127.0.0.1:9/jjj"),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn start_up_with_an_unusable_sqlite_path_names_the_folder() {
    let output = registry_command()
        .args(["migrate"])
        .env("DATABASE_URL", "sqlite:///proc/no-such-place/registry.db")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("/proc/no-such-place"), "{stderr}");
}

#[test]
fn invalid_settings_are_reported_by_name() {
    let output = registry_command()
        .args(["migrate"])
        .env("REGISTRY_DB_POOL_SIZE", "lots")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("REGISTRY_DB_POOL_SIZE"));
}

#[test]
fn migrate_and_load_sample_work_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::empty(backend);
        let url = match &db.url {
            jjj_registry::storage::DatabaseUrl::Sqlite(path) => {
                format!("sqlite://{}", path.display())
            }
            jjj_registry::storage::DatabaseUrl::Postgres(url) => url.clone(),
        };
        let migrate = registry_command()
            .arg("migrate")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            migrate.status.success(),
            "{backend:?}: {}",
            String::from_utf8_lossy(&migrate.stderr)
        );
        let load = registry_command()
            .arg("load-sample")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&load.stdout).contains("loaded"),
            "{backend:?}: {load:?}"
        );
        let again = registry_command()
            .arg("load-sample")
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&again.stdout).contains("not empty"),
            "{backend:?}: {again:?}"
        );
    }
}

#[test]
fn the_openapi_command_reproduces_the_committed_file() {
    let output = registry_command()
        .args(["openapi", "--check", "--output"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn compose() -> Value {
    serde_yaml::from_str(include_str!("../../docker-compose.yml"))
        .expect("docker-compose.yml is valid YAML")
}

#[test]
fn compose_runs_postgres_with_a_volume_and_a_healthcheck() {
    let compose = compose();
    let db = &compose["services"]["db"];
    assert!(db["image"].as_str().unwrap().starts_with("postgres:"));
    assert!(db["healthcheck"]["test"].is_sequence());
    let volume = db["volumes"][0].as_str().unwrap();
    let volume_name = volume.split(':').next().unwrap();
    assert!(
        compose["volumes"].get(volume_name).is_some(),
        "named volume {volume_name} is declared"
    );
}

#[test]
fn compose_starts_the_api_after_a_healthy_database_and_checks_readyz() {
    let compose = compose();
    let api = &compose["services"]["api"];
    assert_eq!(api["depends_on"]["db"]["condition"], "service_healthy");
    assert!(api["build"].is_mapping() || api["build"].is_string());
    let env = &api["environment"];
    assert!(
        env["DATABASE_URL"]
            .as_str()
            .unwrap()
            .starts_with("postgres://")
    );
    assert!(
        env["REGISTRY_BIND"]
            .as_str()
            .unwrap()
            .starts_with("0.0.0.0:")
    );
    let check: Vec<&str> = api["healthcheck"]["test"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        check.iter().any(|part| part.contains("/readyz")),
        "{check:?}"
    );
    for (name, value) in env.as_mapping().unwrap() {
        let key = name.as_str().unwrap();
        assert!(
            jjj_registry::settings::SETTINGS
                .iter()
                .any(|s| s.key == key),
            "compose sets {key}, which is not a setting ({value:?})"
        );
    }
}

#[test]
fn the_dockerfile_is_multi_stage_non_root_with_a_readyz_healthcheck() {
    let dockerfile = include_str!("../../Dockerfile");
    let stages = dockerfile
        .lines()
        .filter(|l| l.trim_start().to_ascii_uppercase().starts_with("FROM "))
        .count();
    assert!(stages >= 2, "multi-stage build expected");
    let user = dockerfile
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("USER "))
        .expect("USER line");
    assert!(
        !user.contains("root") && !user.trim().ends_with(" 0"),
        "{user}"
    );
    assert!(dockerfile.contains("HEALTHCHECK") && dockerfile.contains("/readyz"));
}

/// Every file the crate embeds at compile time (`include_str!`, `embed_migrations!`)
/// must be inside something the Dockerfile copies into the build stage, or the image
/// cannot build.
#[test]
fn the_docker_build_context_holds_every_file_the_crate_embeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = include_str!("../../Dockerfile");
    let copied: Vec<String> = dockerfile
        .lines()
        .filter_map(|line| line.trim().strip_prefix("COPY "))
        .filter(|args| !args.starts_with("--from"))
        .flat_map(|args| {
            let parts: Vec<&str> = args.split_whitespace().collect();
            parts[..parts.len() - 1]
                .iter()
                .map(|s| s.trim_end_matches('/').to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut embedded = Vec::new();
    let mut stack = vec![root.join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for (marker, relative_to_file) in
                [("include_str!(\"", true), ("embed_migrations!(\"", false)]
            {
                for piece in text.split(marker).skip(1) {
                    let target = piece.split('"').next().unwrap();
                    let resolved = if relative_to_file {
                        path.parent().unwrap().join(target)
                    } else {
                        root.join(target)
                    };
                    let resolved = resolved
                        .canonicalize()
                        .unwrap_or_else(|e| panic!("{} embeds {target}: {e}", path.display()));
                    embedded.push(
                        resolved
                            .strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
    }
    assert!(
        embedded.iter().any(|p| p.starts_with("openapi/")),
        "the scan found the embedded files: {embedded:?}"
    );
    for file in embedded {
        assert!(
            copied
                .iter()
                .any(|c| file == *c || file.starts_with(&format!("{c}/"))),
            "{file} is embedded by the crate but the Dockerfile does not COPY it (copies: {copied:?})"
        );
    }
}

#[actix_rt::test]
async fn the_token_command_mints_a_working_token_and_verify_audit_checks_the_chain() {
    use crate::helpers::{TEST_DEV_SECRET, TestApp};

    let app = TestApp::spawn(Backend::Sqlite).await;
    let mint = |args: &[&str]| {
        registry_command()
            .env("REGISTRY_DEV_SECRET", TEST_DEV_SECRET)
            .arg("token")
            .args(args)
            .output()
            .unwrap()
    };
    let minted = mint(&["--region", "TJ", "--roles", "editor", "--sub", "zhang.wei"]);
    assert!(
        minted.status.success(),
        "{}",
        String::from_utf8_lossy(&minted.stderr)
    );
    let token = String::from_utf8(minted.stdout).unwrap();
    assert_eq!(
        token.trim().split('.').count(),
        3,
        "only the token is printed: {token}"
    );
    let path = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
    let response = app
        .patch(
            path,
            token.trim(),
            "\"RI-CON-002.TJ.1\"",
            &serde_json::json!({"notes": "CLI"}),
        )
        .await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );

    for (args, message) in [
        (
            vec!["--region", "tj", "--roles", "editor"],
            "error: `tj` is not a region code such as BJ, TJ or HE",
        ),
        (
            vec!["--region", "TJ", "--roles", "editor,boss"],
            "error: unknown role `boss`; roles are editor, approver, admin",
        ),
        (
            vec!["--region", "TJ", "--roles", "editor", "--ttl", "90d"],
            "error: a token lives between 1 second and 30 days",
        ),
    ] {
        let refused = mint(&args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
    let without_secret = registry_command()
        .args(["token", "--region", "TJ", "--roles", "editor"])
        .output()
        .unwrap();
    assert!(!without_secret.status.success());
    assert!(
        String::from_utf8_lossy(&without_secret.stderr).contains("REGISTRY_DEV_SECRET is not set")
    );

    let database_url = match &app.db.url {
        jjj_registry::storage::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        other => panic!("{other:?}"),
    };
    let verify = || {
        registry_command()
            .env("DATABASE_URL", &database_url)
            .arg("verify-audit")
            .output()
            .unwrap()
    };
    let intact = verify();
    assert!(
        intact.status.success(),
        "{}",
        String::from_utf8_lossy(&intact.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&intact.stdout),
        "audit chain intact: 1 records\n"
    );
    let database =
        jjj_registry::storage::Database::open(&app.db.url, 1, std::time::Duration::from_secs(5))
            .unwrap();
    database
        .run_here(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("UPDATE audit_log SET subject = 'someone else'")
                .execute(conn)
                .map_err(jjj_registry::storage::StorageError::from)
        })
        .unwrap();
    let broken = verify();
    assert!(!broken.status.success());
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("audit chain broken at record 1: its content does not match its hash: the record was altered"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
}

/// A server process, killed when dropped (also when a test fails).
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `jjj-registry serve` with `envs` on a free port; returns it and its address.
fn start_server(envs: &[(&str, &str)]) -> (Server, String) {
    let (server, authority, _log) = start_server_logging(envs);
    (server, authority)
}

/// Like [`start_server`], also keeping every line the server logs after start-up.
fn start_server_logging(
    envs: &[(&str, &str)],
) -> (
    Server,
    String,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::{BufRead, BufReader};
    let mut server = registry_command()
        .arg("serve")
        .env("REGISTRY_BIND", "127.0.0.1:0")
        .env("REGISTRY_WORKERS", "1")
        .envs(envs.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let server = Server(server);
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("listening"))
        .expect("a start-up line");
    // Keep draining the log so the server never blocks on a full pipe.
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = std::sync::Arc::clone(&log);
    std::thread::spawn(move || {
        lines
            .map_while(Result::ok)
            .for_each(|line| kept.lock().unwrap().push(line))
    });
    let authority = listening
        .split("http://")
        .skip(1)
        .find_map(|rest| Some(rest.split_once("/docs")?.0))
        .filter(|authority| !authority.contains(' '))
        .unwrap_or_else(|| panic!("no docs URL in: {listening}"))
        .to_owned();
    (server, authority, log)
}

#[actix_rt::test]
async fn two_processes_on_one_postgres_converge_after_a_write() {
    use crate::helpers::TEST_DEV_SECRET;
    use std::time::{Duration, Instant};

    let db = TestDatabase::create(Backend::Postgres);
    let jjj_registry::storage::DatabaseUrl::Postgres(url) = &db.url else {
        unreachable!()
    };
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("REGISTRY_DEV_SECRET", TEST_DEV_SECRET),
        ("REGISTRY_REFRESH_MS", "200"),
    ];
    let (writer, writer_at) = start_server(&envs);
    let (follower, follower_at) = start_server(&envs);
    let token = registry_command()
        .env("REGISTRY_DEV_SECRET", TEST_DEV_SECRET)
        .args(["token", "--region", "TJ", "--roles", "editor"])
        .output()
        .unwrap()
        .stdout;
    let token = String::from_utf8(token).unwrap();
    let client = awc::Client::default();
    let notes = |item: &serde_json::Value| {
        item["local_parts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["region"] == "TJ")
            .unwrap()["notes"]
            .clone()
    };
    let item_path = "/api/v1/recognition-items/RI-CON-002";
    let read = |at: &str| {
        let request = client.get(format!("http://{at}{item_path}"));
        async move {
            let mut response = request.send().await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&response.body().await.unwrap()).unwrap()
        }
    };
    assert_eq!(notes(&read(&follower_at).await), serde_json::Value::Null);
    let feed = |at: &str, after: i64| {
        let request = client.get(format!(
            "http://{at}/api/v1/changes?after={after}&limit=1000"
        ));
        async move {
            let mut response = request.send().await.unwrap();
            serde_json::from_slice::<serde_json::Value>(&response.body().await.unwrap()).unwrap()
        }
    };
    let head = feed(&follower_at, 0).await["next_after"].as_i64().unwrap();
    assert!(head > 0);

    let written = client
        .patch(format!("http://{writer_at}{item_path}/local-parts/TJ"))
        .insert_header(("authorization", format!("Bearer {}", token.trim())))
        .insert_header(("if-match", "\"RI-CON-002.TJ.1\""))
        .insert_header(("content-type", "application/merge-patch+json"))
        .send_body(r#"{"notes": "written through the other instance"}"#)
        .await
        .unwrap();
    assert_eq!(written.status(), 200);
    let committed = Instant::now();
    // The writing instance answers from its read model with the change at once.
    assert_eq!(
        notes(&read(&writer_at).await),
        "written through the other instance"
    );
    // The other one follows the feed: within its polling interval and one catching-up.
    // Once its feed lists the change, what it serves includes it.
    loop {
        let listed = feed(&follower_at, head).await;
        if let Some(change) = listed["items"].as_array().unwrap().first() {
            assert_eq!(change["seq"], head + 1);
            assert_eq!(change["kind"], "local_part_changed");
            assert_eq!(
                notes(&read(&follower_at).await),
                "written through the other instance"
            );
            break;
        }
        assert!(
            committed.elapsed() < Duration::from_secs(2),
            "the second instance had not converged 2 s after the write (polling every 200 ms)"
        );
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
    drop((writer, follower));
}

#[actix_rt::test]
async fn webhook_deliveries_survive_a_killed_instance_and_two_instances_send_each_change_once() {
    use crate::helpers::TEST_DEV_SECRET;
    use crate::receiver::Receiver;
    use std::time::Duration;

    let db = TestDatabase::create(Backend::Postgres);
    let jjj_registry::storage::DatabaseUrl::Postgres(url) = &db.url else {
        unreachable!()
    };
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("REGISTRY_DEV_SECRET", TEST_DEV_SECRET),
        ("REGISTRY_REFRESH_MS", "100"),
        ("REGISTRY_WEBHOOK_HOSTS", "127.0.0.1"),
        ("REGISTRY_WEBHOOK_RETRY_MS", "100"),
        ("REGISTRY_WEBHOOK_MAX_FAILURES", "1000"),
        ("REGISTRY_WEBHOOK_TIMEOUT_MS", "1000"),
    ];
    let mut receiver = Receiver::down();
    let (first, first_at) = start_server(&envs);
    let (_second, second_at) = start_server(&envs);
    let token = registry_command()
        .env("REGISTRY_DEV_SECRET", TEST_DEV_SECRET)
        .args(["token", "--region", "TJ", "--roles", "editor"])
        .output()
        .unwrap()
        .stdout;
    let bearer = format!("Bearer {}", String::from_utf8(token).unwrap().trim());
    let client = awc::Client::default();
    let made = client
        .post(format!("http://{first_at}/api/v1/webhooks"))
        .insert_header(("authorization", bearer.as_str()))
        .send_json(&serde_json::json!({"url": receiver.url(), "secret": "x".repeat(32)}))
        .await
        .unwrap();
    assert_eq!(made.status(), 201);
    let write = |at: String, version: i64| {
        let request = client
            .patch(format!(
                "http://{at}/api/v1/recognition-items/RI-CON-002/local-parts/TJ"
            ))
            .insert_header(("authorization", bearer.as_str()))
            .insert_header(("if-match", format!("\"RI-CON-002.TJ.{version}\"")))
            .insert_header(("content-type", "application/merge-patch+json"));
        async move {
            let answer = request
                .send_body(format!(r#"{{"notes": "write {version}"}}"#))
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
        }
    };
    // Three writes acknowledged while the receiver is down; then the instance that
    // made them dies without a chance to do anything more.
    for version in 1..=3 {
        write(first_at.clone(), version).await;
    }
    drop(first);
    receiver.restart();
    let events = |received: &[crate::receiver::Received]| -> Vec<(i64, i64)> {
        received
            .iter()
            .flat_map(|d| d.json()["events"].as_array().unwrap().clone())
            .map(|e| (e["seq"].as_i64().unwrap(), e["version"].as_i64().unwrap()))
            .collect()
    };
    let received = receiver
        .wait_for(Duration::from_secs(30), |r| events(r).len() >= 3)
        .await;
    let delivered = events(&received);
    assert_eq!(
        delivered.iter().map(|e| e.1).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert!(
        delivered.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "in feed order: {delivered:?}"
    );

    // Back to two instances, and a slow receiver: while one instance waits for its
    // answer the other finds the same changes due, yet each reaches the receiver once.
    let (_restarted, restarted_at) = start_server(&envs);
    receiver.answer_after(Duration::from_millis(400));
    write(second_at.clone(), 4).await;
    write(restarted_at, 5).await;
    let received = receiver
        .wait_for(Duration::from_secs(30), |r| events(r).len() >= 5)
        .await;
    actix_rt::time::sleep(Duration::from_millis(1000)).await;
    let delivered = events(&receiver.received());
    assert_eq!(
        delivered.iter().map(|e| e.1).collect::<Vec<_>>(),
        vec![2, 3, 4, 5, 6],
        "each change once: {received:?}"
    );
}

#[test]
fn start_up_against_a_database_that_never_answers_fails_in_bounded_time() {
    use std::time::{Duration, Instant};
    // Accepts connections and never says a word, like a stopped database process.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        silent
            .incoming()
            .take(8)
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let started = Instant::now();
    let mut child = registry_command()
        .arg("serve")
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:{port}/registry"),
        )
        .env("REGISTRY_BIND", "127.0.0.1:0")
        .env("REGISTRY_DB_TIMEOUT_MS", "2000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("start-up still hanging after 20 s against a silent database");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains(&format!(
            "cannot connect to the database at postgres://postgres@127.0.0.1:{port}/registry"
        )),
        "{stderr}"
    );
    assert!(
        stderr.to_lowercase().contains("timeout") || stderr.contains("timed out"),
        "{stderr}"
    );
    drop(held);
}

#[test]
fn malformed_requests_are_answered_without_flooding_the_log_with_errors() {
    use std::io::{Read, Write};
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("r.db").display());
    let (server, authority, log) = start_server_logging(&[("DATABASE_URL", url.as_str())]);
    for garbage in [
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nBad\u{1}Header: y\r\n\r\n",
    ] {
        for _ in 0..10 {
            let mut stream = std::net::TcpStream::connect(&authority).unwrap();
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .unwrap();
            stream.write_all(garbage.as_bytes()).unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let errors: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("ERROR"))
        .cloned()
        .collect();
    assert!(
        errors.is_empty(),
        "a client's malformed request is not the server's error: {errors:#?}"
    );
    drop(server);
}

/// Sends one HTTP/1.1 request and returns the whole answer.
fn send(authority: &str, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

#[test]
fn json_logs_name_the_route_status_and_the_writer_but_never_the_token() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("r.db").display());
    let (server, authority, log) = start_server_logging(&[
        ("DATABASE_URL", url.as_str()),
        ("REGISTRY_LOG_FORMAT", "json"),
        ("REGISTRY_DEV_SECRET", crate::helpers::TEST_DEV_SECRET),
    ]);
    let path = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
    let read = send(
        &authority,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    let etag = read
        .lines()
        .find_map(|line| line.strip_prefix("etag: "))
        .unwrap_or_else(|| panic!("no ETag in {read}"))
        .trim()
        .to_owned();
    let token = crate::tokens::dev_token("TJ", &["editor"]);
    let body = r#"{"notes":"日志测试"}"#;
    let written = send(
        &authority,
        &format!(
            "PATCH {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nIf-Match: {etag}\r\nX-Request-Id: log-test-1\r\nContent-Type: application/merge-patch+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(written.starts_with("HTTP/1.1 200"), "{written}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let lines = log.lock().unwrap().clone();
    drop(server);
    let records: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let served = records
        .iter()
        .find(|r| r["message"] == "request served" && r["span"]["request_id"] == "log-test-1")
        .unwrap_or_else(|| panic!("no access record of the write in {lines:#?}"));
    assert_eq!(served["level"], "INFO");
    assert_eq!(served["status"], 200);
    assert_eq!(
        served["route"],
        "/api/v1/recognition-items/{code}/local-parts/{region}"
    );
    assert_eq!(served["actor"], "dev@TJ (TJ)");
    assert_eq!(served["span"]["method"], "PATCH");
    assert!(served["duration_ms"].as_f64().is_some(), "{served}");
    // The read names no actor; no line carries the token or the body.
    let read_served = records
        .iter()
        .find(|r| {
            r["message"] == "request served"
                && r["span"]["method"] == "GET"
                && r["route"] != "/readyz"
        })
        .expect("the read's record");
    assert!(read_served.get("actor").is_none(), "{read_served}");
    let signature = token.rsplit('.').next().unwrap();
    for line in &lines {
        assert!(!line.contains(signature), "the token is in the log: {line}");
        assert!(!line.contains("日志测试"), "the body is in the log: {line}");
    }
}

/// SIGTERM (what `docker stop` and Kubernetes send) stops taking new connections at once,
/// lets the request in flight finish and be answered, then exits 0; what it wrote is
/// there after a restart.
#[test]
fn sigterm_finishes_the_request_in_flight_and_refuses_new_ones() {
    use std::io::{Read, Write};
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("r.db").display());
    let envs = [
        ("DATABASE_URL", url.as_str()),
        ("REGISTRY_DEV_SECRET", crate::helpers::TEST_DEV_SECRET),
    ];
    let (mut server, authority, _log) = start_server_logging(&envs);
    let path = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
    let read = send(
        &authority,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    let etag = read
        .lines()
        .find_map(|line| line.strip_prefix("etag: "))
        .unwrap_or_else(|| panic!("no ETag in {read}"))
        .trim()
        .to_owned();
    let token = crate::tokens::dev_token("TJ", &["editor"]);
    let body = r#"{"notes":"停机前的最后一次修改"}"#;
    let mut in_flight = std::net::TcpStream::connect(&authority).unwrap();
    in_flight
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    write!(
        in_flight,
        "PATCH {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nIf-Match: {etag}\r\nContent-Type: application/merge-patch+json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    in_flight.write_all(&body.as_bytes()[..5]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));

    // SAFETY: a plain signal to our own child process.
    assert_eq!(
        unsafe { libc::kill(server.0.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        std::net::TcpStream::connect(&authority).is_err(),
        "a stopping server must not take new connections"
    );
    in_flight.write_all(&body.as_bytes()[5..]).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    drop(server);

    let (_restarted, authority) = start_server(&envs);
    let after = send(
        &authority,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    );
    assert!(after.contains("停机前的最后一次修改"), "{after}");
}

/// The URL text of a test database, as `DATABASE_URL` takes it.
fn url_text(url: &jjj_registry::storage::DatabaseUrl) -> String {
    match url {
        jjj_registry::storage::DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        jjj_registry::storage::DatabaseUrl::Postgres(url) => url.clone(),
    }
}

/// The documented backup commands (README, "Back up and restore"), run while the server
/// serves: the copy, restored into a fresh database, holds the same catalog (the same
/// export, byte for byte) and an intact audit chain.
#[test]
fn a_backup_taken_while_serving_restores_into_a_fresh_instance_with_the_same_catalog() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let original = TestDatabase::create(backend);
        let original_url = url_text(&original.url);
        let envs = [
            ("DATABASE_URL", original_url.as_str()),
            ("REGISTRY_DEV_SECRET", crate::helpers::TEST_DEV_SECRET),
        ];
        let (server, authority) = start_server(&envs);
        let path = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";
        let read = send(
            &authority,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        let etag = read
            .lines()
            .find_map(|line| line.strip_prefix("etag: "))
            .unwrap()
            .trim()
            .to_owned();
        let token = crate::tokens::dev_token("TJ", &["editor"]);
        let body = r#"{"notes":"备份之前的修改"}"#;
        let written = send(
            &authority,
            &format!(
                "PATCH {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nIf-Match: {etag}\r\nContent-Type: application/merge-patch+json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        );
        assert!(
            written.starts_with("HTTP/1.1 200"),
            "{backend:?}: {written}"
        );

        let dir = tempfile::tempdir().unwrap();
        let restored = TestDatabase::empty(backend);
        let restored_url = url_text(&restored.url);
        match (&original.url, &restored.url) {
            (
                jjj_registry::storage::DatabaseUrl::Sqlite(from),
                jjj_registry::storage::DatabaseUrl::Sqlite(to),
            ) => {
                let backup = dir.path().join("backup.db");
                let status = Command::new("sqlite3")
                    .arg(from)
                    .arg(format!(".backup '{}'", backup.display()))
                    .status()
                    .expect("sqlite3 (scripts/test.sh installs it)");
                assert!(status.success());
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(&backup, to).unwrap();
            }
            _ => {
                let backup = dir.path().join("backup.dump");
                let dumped = Command::new("pg_dump")
                    .args(["--format=custom", "--file"])
                    .arg(&backup)
                    .arg(&original_url)
                    .status()
                    .expect("pg_dump (scripts/test.sh installs it)");
                assert!(dumped.success());
                let restored_ok = Command::new("pg_restore")
                    .args(["--no-owner", "--exit-on-error", "--dbname", &restored_url])
                    .arg(&backup)
                    .status()
                    .expect("pg_restore");
                assert!(restored_ok.success());
            }
        }
        drop(server);

        let export = |url: &str| {
            let output = registry_command()
                .args(["export", "--format", "json"])
                .env("DATABASE_URL", url)
                .env("REGISTRY_SAMPLE_CATALOG", "never")
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{backend:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        };
        let before = export(&original_url);
        let after = export(&restored_url);
        assert!(
            String::from_utf8_lossy(&after).contains("备份之前的修改"),
            "{backend:?}"
        );
        assert!(before == after, "{backend:?}: the restored catalog differs");
        let verified = registry_command()
            .arg("verify-audit")
            .env("DATABASE_URL", &restored_url)
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "{backend:?}: {}",
            String::from_utf8_lossy(&verified.stdout)
        );
    }
}
