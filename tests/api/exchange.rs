//! Bulk exchange: exports in CSV, XLSX and JSON, the template, and the command line's
//! import, which reads every format back (dry run, or into an empty registry) so that
//! export → import → export gives the same files, on each backend and across them.

use std::process::{Command, Output};

use awc::http::{Method, StatusCode};
use jjj_registry::domain::exchange::Sheet;
use jjj_registry::formats::read_xlsx;
use jjj_registry::storage::DatabaseUrl;
use serde_json::{Value, json};

use crate::editing::audit_log;
use crate::helpers::{Backend, TestApp, TestDatabase, both_backends};
use crate::proposals::voted;
use crate::tokens::Signer;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn url_text(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

/// The binary with `DATABASE_URL` and nothing else of this environment.
fn registry(url: &DatabaseUrl, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jjj-registry"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url_text(url))
        .env("REGISTRY_SAMPLE_CATALOG", "never")
        .args(args)
        .output()
        .expect("run the binary")
}

fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `GET /api/v1/export?{query}`, or of the path `query` names when it starts with `/`
/// (`/sheets/arrangements?…`), expecting 200.
async fn export(app: &TestApp, query: &str) -> Vec<u8> {
    let path = if query.starts_with('/') {
        format!("/api/v1/export{query}")
    } else {
        format!("/api/v1/export?{query}")
    };
    let response = app.get(&path).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{query}: {}",
        String::from_utf8_lossy(&response.body)
    );
    response.body
}

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

/// Exports `app`'s catalog as JSON and XLSX, imports each file with the command line
/// into an empty database of `backend`, and checks that the new registry exports the
/// same bytes in every format, over HTTP and from the command line.
async fn round_trip_into(app: &TestApp, backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let json_export = export(app, "format=json").await;
    let xlsx_export = export(app, "format=xlsx").await;
    let csv_export = export(app, "/sheets/standard_local_parts").await;
    for (name, bytes) in [
        ("catalog.json", &json_export),
        ("catalog.xlsx", &xlsx_export),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let target = TestDatabase::empty(backend);
        let imported = succeeded(&registry(&target.url, &["import", file.to_str().unwrap()]));
        assert_eq!(
            imported,
            format!(
                "batches: 9 created\nrecognition_items: 77 created\nscenarios: 11 created\nstandard_items: 49 created\ntargets: 4 created\nimported 150 entries from {} (0 unchanged)\n",
                file.display()
            )
        );
        let again = dir.path().join(format!("again-{name}"));
        let format = name.rsplit('.').next().unwrap();
        let exported = registry(
            &target.url,
            &["export", "--format", format, "-o", again.to_str().unwrap()],
        );
        succeeded(&exported);
        let progress = String::from_utf8_lossy(&exported.stderr);
        assert!(
            progress.starts_with("exporting: 150 entries\n"),
            "{progress}"
        );
        assert!(
            progress.ends_with(&format!("exported 150 entries to {}\n", again.display())),
            "{progress}"
        );
        assert!(
            std::fs::read(&again).unwrap() == *bytes,
            "{name}: the command line's export after import differs"
        );
        let copy = TestApp::spawn_on(target).await;
        assert!(
            export(&copy, "format=json").await == json_export,
            "{name}: JSON differs"
        );
        assert!(
            export(&copy, "format=xlsx").await == xlsx_export,
            "{name}: XLSX differs"
        );
        assert!(
            export(&copy, "/sheets/standard_local_parts").await == csv_export,
            "{name}: CSV differs"
        );
    }
}

both_backends! {
    async fn an_export_imported_into_an_empty_registry_exports_the_same_files(app) {
        let backend = if app.db.url.is_sqlite() { Backend::Sqlite } else { Backend::Postgres };
        round_trip_into(&app, backend).await;
    }

    async fn an_export_moves_across_backends_unchanged(app) {
        let backend = if app.db.url.is_sqlite() { Backend::Sqlite } else { Backend::Postgres };
        round_trip_into(&app, other(backend)).await;
    }

    async fn a_csv_export_is_one_sheet_with_a_bom_chinese_headers_and_the_filters_applied(app) {
        let response = app.get("/api/v1/export/sheets/recognition_items?sector=construction&region=TJ").await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
        assert_eq!(
            response.header("content-disposition").as_deref(),
            Some("attachment; filename=\"jjj-registry-recognition_items.csv\"")
        );
        assert!(response.body.starts_with(b"\xEF\xBB\xBF"), "a byte order mark first");
        let text = String::from_utf8(response.body[3..].to_vec()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
        assert_eq!(headers, Sheet::RecognitionItems.headers());
        assert_eq!(headers[1], "中文名称（name_zh）");
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        // Exactly the items the list endpoint gives for the same filters.
        let listed = app.get_json("/api/v1/recognition-items?sector=construction&region=TJ&limit=100").await;
        let listed: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
        let exported: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(exported, listed);
        assert!(!exported.is_empty());
        let item = app.get_json(&format!("/api/v1/recognition-items/{}", exported[0])).await;
        let first = &rows[0];
        assert_eq!(&first[1], item["name_zh"].as_str().unwrap());
        assert_eq!(&first[5], "construction");
        let aliases: Vec<&str> = item["aliases"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(&first[3], aliases.join("\n"), "a list is one value per line");
        let regions: Vec<&str> = item["regions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert_eq!(&first[11], regions.join("\n"));

        // The same export again is not modified; the tag names this catalog and query.
        let etag = response.header("etag").unwrap();
        let again = app.get_with("/api/v1/export/sheets/recognition_items?sector=construction&region=TJ", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        let other_sheet = app.get("/api/v1/export/sheets/arrangements?sector=construction&region=TJ").await;
        assert_ne!(other_sheet.header("etag"), Some(etag));
    }

    async fn an_export_as_known_at_a_past_moment_is_the_catalog_of_that_moment(app) {
        let before = export(&app, "format=json").await;
        let moment = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        std::thread::sleep(std::time::Duration::from_millis(20));
        let token = Signer::Tianjin.token(&["editor"]);
        let edited = app.patch(
            "/api/v1/recognition-items/RI-CON-002/local-parts/TJ",
            &token,
            "\"RI-CON-002.TJ.1\"",
            &json!({"contact": "022-5555-0000"}),
        ).await;
        assert_eq!(edited.status, StatusCode::OK);
        let now = export(&app, "format=json").await;
        assert!(now != before, "the edit shows in the current export");
        let document: Value = serde_json::from_slice(&now).unwrap();
        let item = document["recognition_items"].as_array().unwrap().iter().find(|i| i["code"] == "RI-CON-002").unwrap();
        let side = item["local_parts"].as_array().unwrap().iter().find(|p| p["region"] == "TJ").unwrap();
        assert_eq!(side["contact"], "022-5555-0000");
        let then = export(&app, &format!("format=json&as_known_at={}", moment.replace('+', "%2B"))).await;
        assert!(then == before, "the export as known before the edit is the export of then");
        // Before anything was recorded: a whole document of empty arrays.
        let nothing: Value = serde_json::from_slice(&export(&app, "as_known_at=0873-11-19T01:02:33Z").await).unwrap();
        assert_eq!(nothing, json!({"batches": [], "recognition_items": [], "standard_items": [], "scenarios": [], "targets": []}));
    }

    async fn export_parameters_are_checked(app) {
        for (path, field) in [
            ("/api/v1/export?format=pdf", "format"),
            ("/api/v1/export?format=csv", "format"),
            ("/api/v1/export?sheet=arrangements", "sheet"),
            ("/api/v1/export?sector=", "sector"),
            ("/api/v1/export?sector=astrology", "sector"),
            ("/api/v1/export?region=XX", "region"),
            ("/api/v1/export?as_known_at=yesterday", "as_known_at"),
            ("/api/v1/export?limit=10", "limit"),
            ("/api/v1/export/sheets/arrangements?format=csv", "format"),
            ("/api/v1/export/sheets/arrangements?region=X", "region"),
            ("/api/v1/export/template?sheet=targets", "sheet"),
            ("/api/v1/export/template/targets?format=csv", "format"),
        ] {
            let response = app.get(path).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{path}");
            response.problem_naming(field);
        }
        for path in ["/api/v1/export/sheets/suspensions", "/api/v1/export/template/suspensions"] {
            let problem = app.get(path).await.problem(404);
            assert!(problem["detail"].as_str().unwrap().starts_with("No sheet `suspensions`; the sheets are batches, recognition_items"), "{problem}");
        }
    }

    async fn the_template_is_the_layout_without_rows(app) {
        let workbook = app.get("/api/v1/export/template").await;
        assert_eq!(workbook.status, StatusCode::OK);
        assert_eq!(workbook.header("content-type").as_deref(), Some(XLSX));
        let tables = read_xlsx(workbook.body).unwrap();
        assert_eq!(tables.iter().map(|t| t.sheet).collect::<Vec<_>>(), Sheet::ALL.to_vec());
        for table in &tables {
            assert_eq!(table.header, table.sheet.headers());
            assert!(table.rows.is_empty());
        }
        let csv = app.get("/api/v1/export/template/recognition_local_parts").await;
        assert_eq!(csv.status, StatusCode::OK);
        let mut expected = b"\xEF\xBB\xBF".to_vec();
        expected.extend(Sheet::RecognitionLocalParts.headers().join(",").as_bytes());
        expected.extend(b"\r\n");
        assert_eq!(csv.body, expected);
    }

    async fn the_command_line_checks_a_file_and_never_loads_over_a_catalog(app) {
        let dir = tempfile::tempdir().unwrap();
        let materials = export(&app, "/sheets/materials").await;
        let file = dir.path().join("jjj-registry-materials.csv");
        std::fs::write(&file, &materials).unwrap();
        // A dry run against the catalog it came from: every item unchanged.
        let output = registry(&app.db.url, &["import", "--dry-run", file.to_str().unwrap()]);
        let report = succeeded(&output);
        // Off a terminal, progress is plain lines on standard error.
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("reading {}\nchecking {} bytes against the catalog\n", file.display(), materials.len())
        );
        assert_eq!(report, format!("would import 0 entries from {} (49 unchanged)\n", file.display()));

        // Two broken cells and an item the catalog lacks: each named where it is.
        let text = String::from_utf8(materials).unwrap();
        let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
        let mut cells: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
        cells[5] = "two".into();
        cells[6] = "yes".into();
        lines[2] = cells.join(",");
        let mut orphan: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
        orphan[0] = "SS-NO-999".into();
        lines[3] = orphan.join(",");
        std::fs::write(&file, lines.join("\r\n")).unwrap();
        let refused = registry(&app.db.url, &["import", "--dry-run", file.to_str().unwrap()]);
        assert!(!refused.status.success());
        let report = String::from_utf8_lossy(&refused.stdout);
        assert_eq!(
            report.lines().collect::<Vec<_>>(),
            vec![
                "materials row 3 column copies: a whole number from 0 is expected (found `two`)",
                "materials row 3 column mandatory: true or false is expected (found `yes`)",
                "materials row 4 column item_code: no entry with this code in the catalog or in the sheet standard_items (found `SS-NO-999`)",
            ],
        );
        assert!(String::from_utf8_lossy(&refused.stderr).contains("has 3 problem(s); nothing was imported"));

        // A valid file never loads over a catalog that has entries.
        let whole = dir.path().join("catalog.json");
        std::fs::write(&whole, export(&app, "format=json").await).unwrap();
        let before = export(&app, "format=json").await;
        let refused = registry(&app.db.url, &["import", whole.to_str().unwrap()]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("the catalog already has entries"));
        assert!(export(&app, "format=json").await == before, "nothing changed");
        let changes = app.get_json("/api/v1/changes?after=0&limit=1000").await;
        assert!(changes["items"].as_array().unwrap().iter().all(|c| c["kind"] == "entry_created"));
    }
}

#[test]
fn a_csv_file_names_its_sheet_or_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mystery.csv");
    std::fs::write(&file, "\u{feff}a,b\r\n").unwrap();
    let db = TestDatabase::empty(Backend::Sqlite);
    let output = registry(&db.url, &["import", "--dry-run", file.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot tell the sheet from the name"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pdf = dir.path().join("catalog.pdf");
    std::fs::write(&pdf, "%PDF").unwrap();
    let output = registry(&db.url, &["import", pdf.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("must end in .csv, .xlsx or .json"));
}

/// A bad import: what it is, its token, query, media type and body, and its status.
type BadImport<'a> = (&'a str, Option<&'a str>, &'a str, &'a str, Vec<u8>, u16);

async fn import(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> crate::helpers::TestResponse {
    app.write(
        Method::POST,
        &format!("/api/v1/import{query}"),
        token,
        None,
        Some((content_type, bytes)),
    )
    .await
}

/// A CSV export with `edit` applied to its rows (header left alone), written back as
/// the export writes it.
fn edited_csv(export: &[u8], edit: impl Fn(&mut Vec<Vec<String>>)) -> Vec<u8> {
    let text = std::str::from_utf8(&export[3..]).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let header = rows.remove(0);
    edit(&mut rows);
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(&header).unwrap();
    for row in &rows {
        writer.write_record(row).unwrap();
    }
    writer.into_inner().unwrap()
}

/// Sets the accepting department (the fifth column) of `region`'s side of `code`.
fn set_contact(rows: &mut [Vec<String>], code: &str, region: &str, department: &str) {
    let row = rows
        .iter_mut()
        .find(|r| r[0] == code && r[1] == region)
        .unwrap();
    row[4] = department.to_owned();
}

fn path_of(code: &str) -> String {
    format!("/api/v1/recognition-items/{code}")
}

/// The entries a result says change.
fn changed_entries(result: &Value) -> Vec<Value> {
    result["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] != "unchanged")
        .cloned()
        .collect()
}

/// How many refused imports the audit log holds.
async fn refused_imports(app: &TestApp) -> usize {
    audit_log(app)
        .await
        .iter()
        .filter(|r| r["action"] == "import" && r["outcome"] == "refused")
        .count()
}

async fn feed_length(app: &TestApp) -> usize {
    app.get_json("/api/v1/changes?after=0&limit=1000").await["items"]
        .as_array()
        .unwrap()
        .len()
}

const SIDES: &str = "/sheets/recognition_local_parts";
const TJ_SIDE: &str = "/api/v1/recognition-items/RI-CON-002/local-parts/TJ";

both_backends! {
    async fn a_region_imports_its_own_sides_at_once_and_a_second_import_changes_nothing(app) {
        let token = Signer::Tianjin.token(&["editor"]);
        let sides = export(&app, "/sheets/recognition_local_parts").await;
        let file = edited_csv(&sides, |rows| set_contact(rows, "RI-CON-002", "TJ", "天津市政务服务办公室"));
        let feed_before = feed_length(&app).await;

        let checked = import(&app, Some(&token), &format!("{SIDES}?dry_run=true"), "text/csv", file.clone()).await;
        assert_eq!(checked.status, StatusCode::OK, "{}", String::from_utf8_lossy(&checked.body));
        let checked = checked.json();
        let expected_entries = json!([{"kind": "recognition_items", "code": "RI-CON-002", "outcome": "changed",
            "shared_changed": false, "local_parts_changed": ["TJ"]}]);
        assert_eq!(checked["dry_run"], true);
        assert_eq!(Value::Array(changed_entries(&checked)), expected_entries);
        assert_eq!(checked["local_parts"], json!([{"kind": "recognition_items", "code": "RI-CON-002", "region": "TJ"}]));
        assert_eq!(checked["proposal"], Value::Null);
        assert_eq!(checked["problems"], json!([]));
        assert_eq!(app.get(TJ_SIDE).await.header("etag").as_deref(), Some("\"RI-CON-002.TJ.1\""), "a dry run writes nothing");
        assert_eq!(feed_length(&app).await, feed_before);

        let imported = import(&app, Some(&token), SIDES, "text/csv", file.clone()).await;
        assert_eq!(imported.status, StatusCode::OK, "{}", String::from_utf8_lossy(&imported.body));
        let imported = imported.json();
        let mut expected = checked.clone();
        expected["dry_run"] = json!(false);
        assert_eq!(imported, expected);
        let record = audit_log(&app).await.last().unwrap().clone();
        assert_eq!(
            (record["action"].as_str(), record["outcome"].as_str(), record["region"].as_str(), record["target_region"].as_str()),
            (Some("import"), Some("accepted"), Some("TJ"), Some("TJ")),
            "an import acts for its token's region: {record}"
        );
        let side = app.get(TJ_SIDE).await;
        assert_eq!(side.header("etag").as_deref(), Some("\"RI-CON-002.TJ.2\""));
        assert_eq!(side.json()["accepting_department"], "天津市政务服务办公室");
        let status = app.get_json("/api/v1/recognition-status?item=RI-CON-002&issued_in=HE&used_in=TJ&on=2025-06-01").await;
        assert_eq!(status["accepting_department"], "天津市政务服务办公室", "the read model has it when the import returns");
        let feed = app.get_json("/api/v1/changes?after=0&limit=1000").await;
        let items = feed["items"].as_array().unwrap();
        assert_eq!(items.len(), feed_before + 1);
        let last = items.last().unwrap();
        assert_eq!((last["kind"].as_str(), last["entry_code"].as_str(), last["region"].as_str()),
            (Some("local_part_changed"), Some("RI-CON-002"), Some("TJ")));

        // The same file again: every entry unchanged, nothing written.
        let again = import(&app, Some(&token), SIDES, "text/csv", file).await;
        assert_eq!(again.status, StatusCode::OK);
        let again = again.json();
        assert_eq!(changed_entries(&again), Vec::<Value>::new());
        assert_eq!(again["local_parts"], json!([]));
        assert_eq!(feed_length(&app).await, feed_before + 1);

        // The whole catalog exported and imported again: nothing to do, whatever order
        // the database keeps an item's regions in.
        for format in ["json", "xlsx"] {
            let whole = export(&app, &format!("format={format}")).await;
            let media = if format == "json" { "application/json" } else { XLSX };
            let again = import(&app, Some(&token), "", media, whole).await;
            assert_eq!(again.status, StatusCode::OK, "{}", String::from_utf8_lossy(&again.body));
            let again = again.json();
            assert_eq!(changed_entries(&again), Vec::<Value>::new(), "{format}");
            assert_eq!(again["unchanged"], 150);
            assert_eq!(again["proposal"], Value::Null);
        }
        assert_eq!(feed_length(&app).await, feed_before + 1);
    }

    async fn shared_changes_of_an_import_become_one_proposal_applied_by_every_region(app) {
        let mut document: Value = serde_json::from_slice(&export(&app, "format=json").await).unwrap();
        let mut item = document["recognition_items"].as_array().unwrap().iter()
            .find(|i| i["code"] == "RI-CON-002").unwrap().clone();
        let legal_basis_before = item["legal_basis"].clone();
        item["legal_basis"] = json!("《注册建造师管理规定》（2026年修订）");
        document = json!({"recognition_items": [item]});
        let token = Signer::Tianjin.token(&["editor"]);
        let response = import(&app, Some(&token), "", "application/json", document.to_string().into_bytes()).await;
        assert_eq!(response.status, StatusCode::OK, "{}", String::from_utf8_lossy(&response.body));
        let result = response.json();
        assert_eq!(Value::Array(changed_entries(&result)), json!([{"kind": "recognition_items", "code": "RI-CON-002",
            "outcome": "changed", "shared_changed": true, "local_parts_changed": []}]));
        assert_eq!(result["local_parts"], json!([]));
        let proposal = &result["proposal"];
        assert_eq!(proposal["changes"], 1);
        let id = proposal["id"].as_i64().unwrap();
        let participants: Vec<String> = proposal["participants"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_owned()).collect();
        assert_eq!(participants, ["BJ", "TJ", "HE"]);

        let open = app.get_json(&format!("/api/v1/proposals/{id}")).await;
        assert_eq!(open["state"], "open");
        assert_eq!(open["proposer"]["region"], "TJ");
        assert_eq!(open["title"], "Bulk import of 1 shared change(s) from a json file");
        assert_eq!(open["rationale"], "Imported by tester@TJ of TJ.");
        let item_before = app.get_json(path_of("RI-CON-002").as_str()).await;
        assert_eq!(open["changes"], json!([{
            "action": "update", "kind": "recognition_item", "code": "RI-CON-002",
            "base_version": item_before["version"],
            "diff": [{"path": "legal_basis", "before": legal_basis_before, "after": "《注册建造师管理规定》（2026年修订）"}],
            "added_local_parts": [],
        }]));
        let path = "/api/v1/recognition-items/RI-CON-002";
        assert_eq!(app.get_json(path).await["legal_basis"], legal_basis_before, "nothing shared changes before approval");
        for signer in [Signer::Beijing, Signer::Tianjin] {
            assert_eq!(voted(&app, id, signer, "approve").await["state"], "open");
            assert_eq!(app.get_json(path).await["legal_basis"], legal_basis_before);
        }
        assert_eq!(voted(&app, id, Signer::Hebei, "approve").await["state"], "applied");
        assert_eq!(app.get_json(path).await["legal_basis"], "《注册建造师管理规定》（2026年修订）");
    }

    async fn an_import_touching_another_regions_side_is_refused_whole(app) {
        let token = Signer::Tianjin.token(&["editor"]);
        let sides = export(&app, "/sheets/recognition_local_parts").await;
        let file = edited_csv(&sides, |rows| {
            set_contact(rows, "RI-CON-002", "TJ", "天津市政务服务办公室");
            set_contact(rows, "RI-CON-002", "BJ", "北京市政务服务中心");
        });
        let before = export(&app, "format=json").await;
        let feed_before = feed_length(&app).await;
        let refused = import(&app, Some(&token), SIDES, "text/csv", file.clone()).await;
        let problem = refused.problem(403);
        assert_eq!(problem["detail"], "recognition_items: BJ's side of RI-CON-002 is BJ's to change; a token of TJ imports only TJ's sides (found `RI-CON-002`)");
        assert!(export(&app, "format=json").await == before, "not even Tianjin's own side changed");
        assert_eq!(feed_length(&app).await, feed_before);

        let checked = import(&app, Some(&token), &format!("{SIDES}?dry_run=true"), "text/csv", file).await;
        assert_eq!(checked.status, StatusCode::OK);
        assert_eq!(checked.json()["problems"], json!([{"sheet": "recognition_items", "row": null, "column": null,
            "value": "RI-CON-002", "problem": "BJ's side of RI-CON-002 is BJ's to change; a token of TJ imports only TJ's sides"}]));

        let last = audit_log(&app).await.last().unwrap().clone();
        assert_eq!((last["action"].as_str(), last["outcome"].as_str(), last["status"].as_u64()),
            (Some("import"), Some("refused"), Some(403)), "{last}");
    }

    async fn bad_imports_get_a_clear_error_and_change_nothing(app) {
        let before = export(&app, "format=json").await;
        let feed_before = feed_length(&app).await;
        let sides = export(&app, "/sheets/recognition_local_parts").await;
        let editor = Signer::Tianjin.token(&["editor"]);
        let mut expired_claims = Signer::Tianjin.claims(&["editor"]);
        expired_claims["exp"] = json!(chrono::Utc::now().timestamp() - 3600);
        let expired = crate::tokens::sign(&Signer::Tianjin.header(), &expired_claims, Signer::Tianjin);
        let mut forged = editor.clone();
        let claims_end = forged.rfind('.').unwrap();
        forged.replace_range(claims_end - 2..claims_end - 1, "A");
        let approver = Signer::Tianjin.token(&["approver"]);
        let mut not_utf8 = b"\xEF\xBB\xBF".to_vec();
        not_utf8.extend(b"\xFF\xFE,\r\n");
        let mut oversized = sides.clone();
        oversized.resize(4 * 1024 * 1024 + 1, b' ');
        let unknown_field = json!({"targets": [{"code": "TG-X", "colour": "red"}]}).to_string().into_bytes();
        let imports_audited = refused_imports(&app).await;
        // (case, token, query, media type, body, status)
        let cases: Vec<BadImport> = vec![
            ("no token", None, SIDES, "text/csv", sides.clone(), 401),
            ("expired token", Some(&expired), SIDES, "text/csv", sides.clone(), 401),
            ("forged token", Some(&forged), SIDES, "text/csv", sides.clone(), 401),
            ("no editor role", Some(&approver), SIDES, "text/csv", sides.clone(), 403),
            ("plain text", Some(&editor), SIDES, "text/plain", sides.clone(), 415),
            ("over the limit", Some(&editor), SIDES, "text/csv", oversized, 413),
            ("not UTF-8", Some(&editor), SIDES, "text/csv", not_utf8, 400),
            ("CSV as a whole file", Some(&editor), "", "text/csv", sides.clone(), 415),
            ("JSON as a sheet", Some(&editor), SIDES, "application/json", b"{}".to_vec(), 415),
            ("no such sheet", Some(&editor), "/sheets/suspensions", "text/csv", sides.clone(), 404),
            ("unknown parameter", Some(&editor), "/sheets/arrangements?force=1", "text/csv", sides.clone(), 400),
            ("dry_run neither true nor false", Some(&editor), "/sheets/arrangements?dry_run=maybe", "text/csv", sides.clone(), 400),
            ("malformed JSON", Some(&editor), "", "application/json", b"{\"targets\": [".to_vec(), 400),
            ("unknown field", Some(&editor), "", "application/json", unknown_field, 400),
            ("not a workbook", Some(&editor), "", XLSX, b"PK not really".to_vec(), 400),
            ("not a document, even in a dry run", Some(&editor), "?dry_run=true", "application/json", b"[null, null]".to_vec(), 400),
            ("another header, even in a dry run", Some(&editor), "/sheets/recognition_local_parts?dry_run=true", "text/csv", b"{}".to_vec(), 400),
        ];
        let attempts = cases.len();
        for (case, token, query, content_type, bytes, status) in cases {
            let response = import(&app, token, query, content_type, bytes).await;
            let problem = response.problem(status);
            assert!(!problem["detail"].as_str().unwrap_or_default().is_empty(), "{case}: {problem}");
            if status == 401 {
                assert!(response.header("www-authenticate").unwrap().starts_with("Bearer"), "{case}");
            }
        }
        let unknown = import(&app, Some(&editor), "", "application/json",
            json!({"targets": [{"code": "TG-X", "colour": "red"}]}).to_string().into_bytes()).await.problem(400);
        assert!(unknown["detail"].as_str().unwrap().contains("unknown field `colour`"), "{unknown}");
        // A file of the layout with a bad cell: a dry run reports it where it is.
        let bad_cell = edited_csv(&sides, |rows| rows[2][8] = "fax".into());
        let report = import(&app, Some(&editor), &format!("{SIDES}?dry_run=true"), "text/csv", bad_cell.clone()).await;
        assert_eq!(report.status, StatusCode::OK);
        assert_eq!(report.json()["problems"], json!([{"sheet": "recognition_local_parts", "row": 4, "column": "verification.method",
            "value": null, "problem": "unknown variant `fax`, expected one of `e_licence_sharing`, `online_lookup`, `paper_original`, `platform_login`"}]));
        let refused = import(&app, Some(&editor), SIDES, "text/csv", bad_cell).await.problem(400);
        assert_eq!(refused["errors"], json!([{"field": "recognition_local_parts row 4 column verification.method",
            "message": "unknown variant `fax`, expected one of `e_licence_sharing`, `online_lookup`, `paper_original`, `platform_login`"}]));
        // Every refused attempt is in the audit log, whatever refused it.
        assert_eq!(refused_imports(&app).await, imports_audited + attempts + 2);
        assert!(export(&app, "format=json").await == before, "nothing changed");
        assert_eq!(feed_length(&app).await, feed_before);
    }
}
