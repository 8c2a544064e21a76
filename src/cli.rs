//! The command line, the binary's front door.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::http::openapi::openapi_json;
use crate::registry::{SampleLoad, load_sample};
use crate::settings::Settings;
use crate::startup::Application;
use crate::storage::Database;

/// JJJ mutual-recognition registry (京津冀互认事项目录).
#[derive(Debug, Parser)]
#[command(name = "jjj-registry", version, about, long_about = None)]
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
    if let Command::Openapi { output, check } = &command {
        return write_openapi(output, *check);
    }
    let settings = Settings::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    crate::telemetry::init(&settings);
    match command {
        Command::Serve => serve(settings),
        Command::Migrate => {
            // Opening the database applies pending migrations.
            Database::open(&settings.database_url, 1, settings.db_timeout).map_err(|e| e.to_string())?;
            println!("migrations are up to date on {}", settings.database_url.redacted());
            Ok(())
        }
        Command::LoadSample => {
            let database = Database::open(&settings.database_url, 1, settings.db_timeout).map_err(|e| e.to_string())?;
            match database.run_here(load_sample).map_err(|e| e.to_string())? {
                SampleLoad::Loaded(entries) => println!("loaded {entries} sample entries into {}", settings.database_url.redacted()),
                SampleLoad::SkippedNotEmpty => println!("the catalog is not empty; nothing loaded"),
            }
            Ok(())
        }
        Command::Openapi { .. } => unreachable!("handled above"),
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(&settings).map_err(|e| e.to_string())?;
        tracing::info!(
            address = %settings.bind.ip(),
            port = app.port(),
            database = %settings.database_url.redacted(),
            "jjj-registry listening; API docs at /docs"
        );
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}

fn write_openapi(output: &std::path::Path, check: bool) -> Result<(), String> {
    let text = openapi_json();
    if check {
        let current = std::fs::read_to_string(output).unwrap_or_default();
        return if current == text {
            Ok(())
        } else {
            Err(format!("{} is out of date; run `cargo run -- openapi`", output.display()))
        };
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(output, text).map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    println!("wrote {}", output.display());
    Ok(())
}

