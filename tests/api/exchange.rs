//! Bulk exchange: exports in CSV, XLSX and JSON, the template, and the command line's
//! import, which reads every format back (dry run, or into an empty registry) so that
//! export → import → export gives the same files, on each backend and across them.

use std::process::{Command, Output};

use awc::http::StatusCode;
use jjj_registry::domain::exchange::Sheet;
use jjj_registry::formats::read_xlsx;
use jjj_registry::storage::DatabaseUrl;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestDatabase, both_backends};
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

async fn export(app: &TestApp, query: &str) -> Vec<u8> {
    let response = app.get(&format!("/api/v1/export?{query}")).await;
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
    let csv_export = export(app, "format=csv&sheet=standard_local_parts").await;
    for (name, bytes) in [
        ("catalog.json", &json_export),
        ("catalog.xlsx", &xlsx_export),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let target = TestDatabase::empty(backend);
        let imported = succeeded(&registry(&target.url, &["import", file.to_str().unwrap()]));
        assert!(
            imported.ends_with(&format!("imported 150 entries from {}\n", file.display())),
            "{imported}"
        );
        let again = dir.path().join(format!("again-{name}"));
        let format = name.rsplit('.').next().unwrap();
        succeeded(&registry(
            &target.url,
            &["export", "--format", format, "-o", again.to_str().unwrap()],
        ));
        assert!(
            std::fs::read(&again).unwrap() == *bytes,
            "{name}: the command line's export after import differs"
        );
        let copy = TestApp::spawn_on(target).await;
        assert!(export(&copy, "format=json").await == json_export, "{name}: JSON differs");
        assert!(export(&copy, "format=xlsx").await == xlsx_export, "{name}: XLSX differs");
        assert!(
            export(&copy, "format=csv&sheet=standard_local_parts").await == csv_export,
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
        let response = app.get("/api/v1/export?format=csv&sheet=recognition_items&sector=construction&region=TJ").await;
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
        let again = app.get_with("/api/v1/export?format=csv&sheet=recognition_items&sector=construction&region=TJ", &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        let other_sheet = app.get("/api/v1/export?format=csv&sheet=arrangements&sector=construction&region=TJ").await;
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
    }

    async fn export_parameters_are_checked(app) {
        for (query, field) in [
            ("format=pdf", "format"),
            ("format=csv", "sheet"),
            ("format=xlsx&sheet=arrangements", "sheet"),
            ("format=json&sheet=arrangements", "sheet"),
            ("format=csv&sheet=suspensions", "sheet"),
            ("sector=", "sector"),
            ("sector=astrology", "sector"),
            ("region=XX", "region"),
            ("as_known_at=yesterday", "as_known_at"),
            ("limit=10", "limit"),
        ] {
            let response = app.get(&format!("/api/v1/export?{query}")).await;
            response.problem_naming(field);
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        }
        for (query, field) in [("format=json", "format"), ("format=csv", "sheet"), ("format=xlsx&sheet=targets", "sheet")] {
            let response = app.get(&format!("/api/v1/export/template?{query}")).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
            response.problem_naming(field);
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
        let csv = app.get("/api/v1/export/template?format=csv&sheet=recognition_local_parts").await;
        assert_eq!(csv.status, StatusCode::OK);
        let mut expected = b"\xEF\xBB\xBF".to_vec();
        expected.extend(Sheet::RecognitionLocalParts.headers().join(",").as_bytes());
        expected.extend(b"\r\n");
        assert_eq!(csv.body, expected);
    }

    async fn the_command_line_checks_a_file_and_never_loads_over_a_catalog(app) {
        let dir = tempfile::tempdir().unwrap();
        let materials = export(&app, "format=csv&sheet=materials").await;
        let file = dir.path().join("jjj-registry-materials.csv");
        std::fs::write(&file, &materials).unwrap();
        // A dry run against the catalog it came from: every item unchanged.
        let report = succeeded(&registry(&app.db.url, &["import", "--dry-run", file.to_str().unwrap()]));
        assert!(report.lines().filter(|l| l.starts_with("standard_items ")).all(|l| l.ends_with(": Unchanged")), "{report}");
        assert!(report.contains("would import"), "{report}");

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
