//! The command line, the binary's front door.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::application::exchange::{ImportFile, ImportReport, LoadError, load_into_empty};
use crate::application::verify_audit_chain;
use crate::auth::{Authenticator, mint_dev_token, parse_ttl};
use crate::domain::exchange::{ExportFilter, FileFormat, Sheet};
use crate::domain::governance::Role;
use crate::domain::read_model::Catalog;
use crate::domain::region::RegionCode;
use crate::formats::ExportChunks;
use crate::http::openapi::openapi_json;
use crate::registry::{SampleLoad, load_sample};
use crate::settings::Settings;
use crate::startup::Application;
use crate::storage::Database;

/// Settings most often needed, shown under `--help`; `.env.example` lists them all.
const ENVIRONMENT_HELP: &str = "\
Environment (or KEY=value lines in --config FILE; the environment wins):
  DATABASE_URL            sqlite://<path> (default sqlite://data/jjj-registry.db) or postgres://user@host:port/db
  REGISTRY_BIND           listen address, default 127.0.0.1:8080 (healthcheck probes it too)
  REGISTRY_WORKERS        HTTP worker threads, default one per core
  REGISTRY_SAMPLE_CATALOG auto | always | never: load the sample into an empty database
  RUST_LOG                log filter, default info
See .env.example for every setting.";

/// JJJ mutual-recognition registry (京津冀互认事项目录).
#[derive(Debug, Parser)]
#[command(name = "jjj-registry", version, about, long_about = None, after_help = ENVIRONMENT_HELP)]
pub struct Cli {
    /// Config file of KEY=value lines (see .env.example); environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API (migrates the database first; loads the sample catalog into an empty embedded database).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the bundled sample catalog into an empty database, on any backend.
    LoadSample,
    /// Probe a running server's /readyz (for container health checks); exit 0 when ready.
    Healthcheck {
        /// URL to probe (plain http); default: /readyz at REGISTRY_BIND.
        #[arg(long)]
        url: Option<String>,
    },
    /// Mint a development token (needs REGISTRY_DEV_SECRET); prints only the token.
    Token {
        /// The region the token speaks for (BJ, TJ, HE).
        #[arg(long)]
        region: String,
        /// Comma-separated roles: editor, approver, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Lifetime, e.g. 15m, 2h, 1d (at most 30 days).
        #[arg(long, default_value = "15m")]
        ttl: String,
        /// Who the token is for (`sub`).
        #[arg(long, default_value = "developer")]
        sub: String,
    },
    /// Check the whole audit chain; exit 1 and name the first broken link if it fails.
    VerifyAudit,
    /// Write the catalog (or a filtered part) in the exchange layout, to stdout or a file.
    Export {
        /// csv (one sheet, `--sheet`), xlsx (every sheet) or json (whole entries).
        #[arg(long, default_value = "json")]
        format: String,
        /// The sheet of a CSV export (recognition_items, arrangements, …).
        #[arg(long)]
        sheet: Option<String>,
        /// Only items of this sector.
        #[arg(long)]
        sector: Option<String>,
        /// Only items and scenarios in which this region takes part.
        #[arg(long)]
        region: Option<String>,
        /// The catalog as the registry recorded it at this moment (RFC 3339).
        #[arg(long)]
        as_known_at: Option<String>,
        /// Where to write; default: stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check an exchange file against the catalog and load it into an empty catalog.
    Import {
        /// The file: .csv (its name ends with the sheet, e.g. `arrangements.csv`, or
        /// give `--sheet`), .xlsx or .json.
        file: PathBuf,
        /// The sheet a CSV file holds.
        #[arg(long)]
        sheet: Option<String>,
        /// Only check the file and report; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the OpenAPI description generated from the code.
    Openapi {
        /// Where to write it.
        #[arg(long, default_value = "openapi/openapi.json")]
        output: PathBuf,
        /// Only check that the file is up to date; exit 1 if not.
        #[arg(long)]
        check: bool,
    },
}

/// Parses arguments, runs the command, and turns errors into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let command = cli.command.unwrap_or(Command::Serve);
    match &command {
        Command::Openapi { output, check } => return write_openapi(output, *check),
        Command::Healthcheck { url: Some(url) } => return healthcheck(url),
        _ => {}
    }
    let settings = Settings::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    if let Command::Healthcheck { url: None } = command {
        return healthcheck(&format!(
            "{}/readyz",
            local_base_url(&settings, settings.bind.port())
        ));
    }
    crate::telemetry::init(&settings);
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            // Opening the database applies pending migrations.
            let database = Database::open(&settings.database_url, 1, settings.db_timeout)
                .map_err(|e| e.to_string())?;
            let database_url = settings.database_url.redacted();
            match database.applied_migrations() {
                [] => println!("{database_url}: migrations were already up to date"),
                applied => {
                    println!("{database_url}: applied {} migrations:", applied.len());
                    for name in applied {
                        println!("  {name}");
                    }
                }
            }
            Ok(())
        }
        Command::LoadSample => {
            let database = Database::open(&settings.database_url, 1, settings.db_timeout)
                .map_err(|e| e.to_string())?;
            match database.run_here(load_sample).map_err(|e| e.to_string())? {
                SampleLoad::Loaded(entries) => println!(
                    "loaded {entries} sample entries into {}",
                    settings.database_url.redacted()
                ),
                SampleLoad::SkippedNotEmpty => println!("the catalog is not empty; nothing loaded"),
            }
            Ok(())
        }
        Command::Token {
            region,
            roles,
            ttl,
            sub,
        } => {
            let secret = settings.dev_secret.as_ref().ok_or(
                "REGISTRY_DEV_SECRET is not set: development tokens are disabled".to_owned(),
            )?;
            let region = RegionCode::parse(&region)
                .ok()
                .filter(|code| code.as_str() == region)
                .ok_or(format!(
                    "`{region}` is not a region code such as BJ, TJ or HE"
                ))?;
            let roles = roles
                .iter()
                .map(|role| {
                    Role::parse(role.trim()).ok_or(format!(
                        "unknown role `{role}`; roles are {}",
                        Role::expected()
                    ))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let ttl = parse_ttl(&ttl)?;
            // The audience the server checks: the issuers file's, else the default.
            let audience = Authenticator::load(settings.issuers_file.as_deref(), None)
                .map_err(|e| e.to_string())?
                .audience()
                .to_owned();
            println!(
                "{}",
                mint_dev_token(secret, &audience, &region, &roles, ttl, &sub)?
            );
            Ok(())
        }
        Command::VerifyAudit => {
            let database = Database::open(&settings.database_url, 1, settings.db_timeout)
                .map_err(|e| e.to_string())?;
            let verdict = database
                .run_here(verify_audit_chain)
                .map_err(|e| e.to_string())?;
            match verdict.first_broken {
                None => {
                    println!("audit chain intact: {} records", verdict.records);
                    Ok(())
                }
                Some(broken) => Err(format!(
                    "audit chain broken at record {}: {}",
                    broken.seq, broken.problem
                )),
            }
        }
        Command::Export {
            format,
            sheet,
            sector,
            region,
            as_known_at,
            output,
        } => {
            let format = parse_format(&format)?;
            let sheet = sheet.as_deref().map(parse_sheet).transpose()?;
            if format == FileFormat::Csv && sheet.is_none() {
                return Err(format!(
                    "a CSV export is one sheet: give --sheet ({})",
                    Sheet::expected()
                ));
            }
            let filter = ExportFilter {
                owners: Vec::new(),
                sector,
                region: region
                    .as_deref()
                    .map(RegionCode::parse)
                    .transpose()
                    .map_err(|e| format!("--region: {e}"))?,
            };
            let at = as_known_at
                .as_deref()
                .map(|text| {
                    chrono::DateTime::parse_from_rfc3339(text)
                        .map(|at| at.with_timezone(&chrono::Utc))
                        .map_err(|e| format!("--as-known-at: {e}"))
                })
                .transpose()?;
            let database = Database::open(&settings.database_url, 1, settings.db_timeout)
                .map_err(|e| e.to_string())?;
            let content = database
                // One snapshot, as the server reads it: a write committed meanwhile is
                // wholly in the export or wholly out of it.
                .run_here(|conn| {
                    crate::storage::connection::in_snapshot(conn, |conn| match at {
                        None => crate::storage::catalog::load_catalog(conn),
                        Some(at) => {
                            let seq = crate::storage::history::seq_known_at(conn, at)?;
                            crate::storage::history::content_at(conn, seq)
                        }
                    })
                })
                .map_err(|e: crate::storage::StorageError| e.to_string())?;
            let catalog = Catalog::build(content).map_err(|problems| problems.join("; "))?;
            let chunks = ExportChunks::new(std::sync::Arc::new(catalog), format, sheet, filter);
            let mut out: Box<dyn std::io::Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            let (total, _) = chunks.progress();
            let progress = Progress::counting(total as u64, "exporting");
            let mut chunks = chunks;
            while let Some(chunk) = chunks.next() {
                out.write_all(&chunk?).map_err(|e| e.to_string())?;
                progress.reached(chunks.progress().1 as u64);
            }
            out.flush().map_err(|e| e.to_string())?;
            progress.done(&match &output {
                Some(path) => format!("exported {total} entries to {}", path.display()),
                None => format!("exported {total} entries"),
            });
            Ok(())
        }
        Command::Import {
            file,
            sheet,
            dry_run,
        } => {
            let progress = Progress::stages();
            progress.stage(&format!("reading {}", file.display()));
            let import = import_file(&file, sheet.as_deref())?;
            let database = Database::open(&settings.database_url, 1, settings.db_timeout)
                .map_err(|e| e.to_string())?;
            progress.stage(&format!(
                "checking {} bytes against the catalog{}",
                import.bytes.len(),
                if dry_run { "" } else { " and loading it" }
            ));
            let outcome = database
                .run_here(|conn| Ok::<_, LoadError>(load_into_empty(conn, &import, dry_run)))
                .map_err(|e| e.to_string())?;
            progress.done("");
            match outcome {
                Ok(report) => {
                    print_import_report(&report);
                    println!(
                        "{} {} entries from {} ({} unchanged)",
                        if dry_run { "would import" } else { "imported" },
                        report.entries.len(),
                        file.display(),
                        report.unchanged
                    );
                    Ok(())
                }
                Err(LoadError::Invalid(report)) => {
                    print_import_report(&report);
                    Err(format!(
                        "{} has {} problem(s); nothing was imported",
                        file.display(),
                        report.problems.len()
                    ))
                }
                Err(other) => Err(other.to_string()),
            }
        }
        Command::Openapi { .. } | Command::Healthcheck { .. } => Ok(()),
    }
}

/// How a long command shows it is getting on: a bar (or spinner) on a terminal, plain
/// lines on standard error otherwise (a log, a pipe), never on standard output, which
/// carries the command's own output.
enum Progress {
    Bar(indicatif::ProgressBar),
    Lines {
        total: u64,
        shown: std::cell::Cell<u64>,
    },
}

impl Progress {
    fn on_terminal() -> bool {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal()
    }

    /// Progress through `total` entries.
    fn counting(total: u64, what: &str) -> Self {
        if Self::on_terminal() {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} entries")
            {
                bar.set_style(style);
            }
            bar.set_message(what.to_owned());
            Self::Bar(bar)
        } else {
            eprintln!("{what}: {total} entries");
            Self::Lines {
                total,
                shown: std::cell::Cell::new(0),
            }
        }
    }

    /// Progress through named stages.
    fn stages() -> Self {
        if Self::on_terminal() {
            let spinner = indicatif::ProgressBar::new_spinner();
            spinner.enable_steady_tick(std::time::Duration::from_millis(120));
            Self::Bar(spinner)
        } else {
            Self::Lines {
                total: 0,
                shown: std::cell::Cell::new(0),
            }
        }
    }

    fn stage(&self, message: &str) {
        match self {
            Self::Bar(bar) => bar.set_message(message.to_owned()),
            Self::Lines { .. } => eprintln!("{message}"),
        }
    }

    /// `done` entries so far; as lines, one each tenth of the way.
    fn reached(&self, done: u64) {
        match self {
            Self::Bar(bar) => bar.set_position(done),
            Self::Lines { total, shown } => {
                let tenth = (*total / 10).max(1);
                if done >= shown.get() + tenth && done < *total {
                    shown.set(done);
                    eprintln!("  {done}/{total}");
                }
            }
        }
    }

    fn done(&self, message: &str) {
        if let Self::Bar(bar) = self {
            bar.finish_and_clear();
        }
        if !message.is_empty() {
            eprintln!("{message}");
        }
    }
}

fn parse_format(text: &str) -> Result<FileFormat, String> {
    FileFormat::parse(text).ok_or_else(|| {
        format!(
            "--format: `{text}` is not one of {}",
            FileFormat::expected()
        )
    })
}

fn parse_sheet(text: &str) -> Result<Sheet, String> {
    Sheet::parse(text)
        .ok_or_else(|| format!("--sheet: `{text}` is not one of {}", Sheet::expected()))
}

/// Reads an import file, its format from its extension and a CSV file's sheet from
/// `--sheet` or the end of its name (`jjj-registry-arrangements.csv`).
fn import_file(path: &std::path::Path, sheet: Option<&str>) -> Result<ImportFile, String> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let format = FileFormat::parse(&extension).ok_or_else(|| {
        format!(
            "{}: the name must end in .csv, .xlsx or .json",
            path.display()
        )
    })?;
    let sheet = match sheet {
        Some(text) => Some(parse_sheet(text)?),
        None if format == FileFormat::Csv => {
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            // The longest sheet name the file name ends with (`recognition_local_parts`
            // before `local_parts`-like shorter names).
            let found = Sheet::ALL
                .iter()
                .filter(|sheet| stem.ends_with(sheet.as_str()))
                .max_by_key(|sheet| sheet.as_str().len())
                .copied();
            Some(found.ok_or_else(|| {
                format!(
                    "{}: cannot tell the sheet from the name; give --sheet ({})",
                    path.display(),
                    Sheet::expected()
                )
            })?)
        }
        None => None,
    };
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(ImportFile {
        format,
        sheet,
        bytes,
    })
}

/// The report as plain lines: each problem where it is, then each entry that changes.
fn print_import_report(report: &ImportReport) {
    for problem in &report.problems {
        println!("{}: {}", problem.place(), problem.description());
    }
    // What changes, by kind and outcome (a file of ten thousand entries is not listed).
    let mut counts: std::collections::BTreeMap<(&str, String), usize> = Default::default();
    for entry in &report.entries {
        let outcome = format!("{:?}", entry.outcome).to_lowercase();
        *counts.entry((entry.kind, outcome)).or_default() += 1;
    }
    for ((kind, outcome), count) in counts {
        println!("{kind}: {count} {outcome}");
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings).map_err(|e| e.to_string())?;
        let base = local_base_url(&settings, app.port());
        tracing::info!(
            address = %settings.bind.ip(),
            port = app.port(),
            database = %settings.database_url.redacted(),
            "jjj-registry listening on {base}; API docs at {base}/docs"
        );
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

/// Where this instance can be reached from the same machine: a wildcard bind address
/// (`0.0.0.0`, `::`) is reached through loopback.
fn local_base_url(settings: &Settings, port: u16) -> String {
    let ip = settings.bind.ip();
    let host = match ip {
        ip if ip.is_unspecified() && ip.is_ipv4() => "127.0.0.1".to_owned(),
        ip if ip.is_unspecified() => "[::1]".to_owned(),
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        std::net::IpAddr::V4(v4) => v4.to_string(),
    };
    format!("http://{host}:{port}")
}

fn write_openapi(output: &std::path::Path, check: bool) -> Result<(), String> {
    let text = openapi_json();
    if check {
        let current = std::fs::read_to_string(output).map_err(|e| {
            format!(
                "cannot read {} ({e}); run from the repository root or pass --output <path to openapi.json>",
                output.display()
            )
        })?;
        return if current == text {
            println!("{} matches the code", output.display());
            Ok(())
        } else {
            Err(format!(
                "{} differs from the spec the code generates; run `cargo run -- openapi` and commit the result",
                output.display()
            ))
        };
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(output, text).map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!("wrote {}", output.display());
    Ok(())
}

/// A minimal HTTP/1.1 GET, so the container image needs no curl.
fn healthcheck(url: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs can be probed")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let mut stream =
        TcpStream::connect(authority).map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let status_line = response.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!("{url} answered `{status_line}`"))
    }
}
