//! Typed settings, layered defaults → optional config file → environment.
//!
//! Every setting is declared once in [`SETTINGS`]: its key (the same name in the
//! environment and in the config file), its default and its description. The README
//! table and `.env.example` are checked against that list by tests, so a new setting
//! cannot go undocumented.
//!
//! The config file uses the same `KEY=value` lines as the environment (blank lines and
//! `#` comments allowed), so `.env.example` is itself a valid config file.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::auth::Secret;
use crate::storage::DatabaseUrl;

/// One documented setting.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    /// Name in the environment and in the config file.
    pub key: &'static str,
    /// Value used when neither the file nor the environment sets it (empty: unset).
    pub default: &'static str,
    /// One-line description, as it appears in the README.
    pub description: &'static str,
}

/// The environment variable naming an optional config file (also `--config`).
pub const CONFIG_FILE_KEY: &str = "REGISTRY_CONFIG";

/// Every setting the registry reads, in the order the README documents them.
pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        key: "DATABASE_URL",
        default: "sqlite://data/jjj-registry.db",
        description: "Database to use. `sqlite://<path>` (embedded, file created on first run) or `postgres://user:password@host:port/db`.",
    },
    SettingSpec {
        key: "REGISTRY_BIND",
        default: "127.0.0.1:8080",
        description: "Address and port the HTTP server listens on (`0.0.0.0:8080` in containers).",
    },
    SettingSpec {
        key: "REGISTRY_WORKERS",
        default: "",
        description: "Number of HTTP worker threads; unset means one per CPU core.",
    },
    SettingSpec {
        key: "REGISTRY_DB_POOL_SIZE",
        default: "8",
        description: "Maximum number of pooled database connections per instance.",
    },
    SettingSpec {
        key: "REGISTRY_DB_TIMEOUT_MS",
        default: "3000",
        description: "How long to wait for a database connection before answering 503 (milliseconds).",
    },
    SettingSpec {
        key: "REGISTRY_SAMPLE_CATALOG",
        default: "auto",
        description: "Load the bundled sample catalog into an empty database: `auto` (embedded SQLite only), `always` (any backend, only when empty) or `never`.",
    },
    SettingSpec {
        key: "REGISTRY_REFRESH_MS",
        default: "500",
        description: "How often each instance polls the change feed for changes other instances committed and applies them to its read model (milliseconds): with one catching-up, the bound on how stale an instance can be.",
    },
    SettingSpec {
        key: "REGISTRY_MAX_BODY_BYTES",
        default: "1048576",
        description: "Largest accepted request body in bytes; larger bodies get 413.",
    },
    SettingSpec {
        key: "REGISTRY_MAX_IMPORT_BYTES",
        default: "67108864",
        description: "Largest file `POST /api/v1/import` accepts, in bytes (10,000 rows of XLSX or CSV take a few megabytes); larger files get 413.",
    },
    SettingSpec {
        key: "REGISTRY_BODY_TIMEOUT_MS",
        default: "10000",
        description: "How long a request body may take to arrive, from the request's start (milliseconds); later: 408 and the connection is closed.",
    },
    SettingSpec {
        key: "REGISTRY_LOG_FORMAT",
        default: "compact",
        description: "Log line format: `compact` (human-readable) or `json` (one object per line, for production).",
    },
    SettingSpec {
        key: "REGISTRY_ISSUERS_FILE",
        default: "",
        description: "JSON file naming the token issuers trusted for writes, one region each, with their keys (see docs/AUTH.md); unset: only the development issuer, if any.",
    },
    SettingSpec {
        key: "REGISTRY_DEV_SECRET",
        default: "",
        description: "Enables the development token issuer (HS256, at least 32 bytes; `jjj-registry token` mints its tokens). Never set it in production.",
    },
    SettingSpec {
        key: "REGISTRY_WEBHOOK_HOSTS",
        default: "",
        description: "Comma-separated hosts (`host` or `host:port`) webhook deliveries may go to; no other address is ever called, and a subscription to any other is refused. Empty: webhooks are off.",
    },
    SettingSpec {
        key: "REGISTRY_WEBHOOK_RETRY_MS",
        default: "1000",
        description: "Wait after a failed webhook delivery before the next attempt (milliseconds), doubled after each further failure up to an hour.",
    },
    SettingSpec {
        key: "REGISTRY_WEBHOOK_MAX_FAILURES",
        default: "12",
        description: "Failed webhook deliveries in a row after which a subscription is marked `failing` and no longer tried until resumed (12 at the default wait: about 68 minutes of trying).",
    },
    SettingSpec {
        key: "REGISTRY_WEBHOOK_TIMEOUT_MS",
        default: "10000",
        description: "How long one webhook delivery may take, connecting included, before it counts as failed (milliseconds).",
    },
    SettingSpec {
        key: "REGISTRY_CORS_READ_ORIGINS",
        default: "*",
        description: "Browser origins (`https://app.example`, comma-separated) whose pages may read the API (GET and HEAD, no credentials); `*`: any origin; empty: none.",
    },
    SettingSpec {
        key: "REGISTRY_CORS_WRITE_ORIGINS",
        default: "",
        description: "Browser origins whose pages may also write (POST, PUT, PATCH, DELETE with a bearer token); `*` is refused here. Empty: no browser page writes.",
    },
    SettingSpec {
        key: "REGISTRY_READ_RATE_LIMIT",
        default: "100",
        description: "Reads a second allowed to one client address (anonymous) or one token subject, in bursts of as many; beyond it 429 with `Retry-After`. `0` turns the limit off.",
    },
    SettingSpec {
        key: "REGISTRY_WRITE_RATE_LIMIT",
        default: "20",
        description: "Writes a second allowed to one token subject (to one client address when the token is missing or refused), in bursts of as many; beyond it 429 with `Retry-After`. `0` turns the limit off.",
    },
    SettingSpec {
        key: "REGISTRY_TRUSTED_PROXIES",
        default: "",
        description: "Addresses or networks (`10.0.0.0/8`, comma-separated) of reverse proxies whose `X-Forwarded-For` names the client for rate limiting; from any other peer the header is ignored.",
    },
    SettingSpec {
        key: "REGISTRY_METRICS_FROM",
        default: "127.0.0.0/8, ::1/128",
        description: "Addresses or networks allowed to read `/metrics` (Prometheus text format); any other client gets 403.",
    },
    SettingSpec {
        key: "RUST_LOG",
        default: "info",
        description: "Log filter in `tracing` syntax, e.g. `info,jjj_registry=debug`.",
    },
];

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable single lines.
    Compact,
    /// One JSON object per line.
    Json,
}

/// When the bundled sample catalog is loaded at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleCatalogPolicy {
    /// Into an empty embedded SQLite database only (the zero-set-up default).
    Auto,
    /// Into any empty database.
    Always,
    /// Never at start-up (the `load-sample` command still can).
    Never,
}

/// The registry's complete, validated configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which database to use.
    pub database_url: DatabaseUrl,
    /// Where the HTTP server listens.
    pub bind: SocketAddr,
    /// HTTP worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// Maximum pooled connections.
    pub db_pool_size: u32,
    /// Wait for a pooled connection at most this long.
    pub db_timeout: Duration,
    /// When to load the sample catalog.
    pub sample_catalog: SampleCatalogPolicy,
    /// How often to look for catalog changes made elsewhere.
    pub refresh_interval: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Largest accepted import file.
    pub max_import_bytes: usize,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
    /// Log line format.
    pub log_format: LogFormat,
    /// `tracing` filter directives.
    pub log_filter: String,
    /// The trusted token issuers (`None`: none but the development issuer).
    pub issuers_file: Option<PathBuf>,
    /// The development issuer's secret (`None`: development tokens are refused).
    pub dev_secret: Option<Secret>,
    /// How webhooks are delivered.
    pub webhooks: WebhookSettings,
    /// Who may call from where, and how often.
    pub access: AccessSettings,
}

/// Browser origins, request rates and the networks trusted for forwarding and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessSettings {
    /// Origins whose pages may read.
    pub read_origins: Origins,
    /// Origins whose pages may write.
    pub write_origins: Origins,
    /// Reads a second per client (0: unlimited).
    pub read_rate: u32,
    /// Writes a second per token subject (0: unlimited).
    pub write_rate: u32,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Networks,
    /// Peers that may read `/metrics`.
    pub metrics_from: Networks,
}

impl AccessSettings {
    /// No browser writes, no rate limits, metrics from loopback: what tests start from.
    pub fn unlimited() -> Self {
        Self {
            read_origins: Origins::Any,
            write_origins: Origins::Listed(Vec::new()),
            read_rate: 0,
            write_rate: 0,
            trusted_proxies: Networks::default(),
            metrics_from: Networks::parse("127.0.0.0/8, ::1/128").expect("loopback"),
        }
    }
}

/// Browser origins allowed by a CORS rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    /// Any origin.
    Any,
    /// Exactly these (`scheme://host[:port]`, lower case).
    Listed(Vec<String>),
}

impl Origins {
    /// Parses `*` or comma-separated `http(s)://host[:port]` origins (empty: none).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim() == "*" {
            return Ok(Self::Any);
        }
        let mut origins = Vec::new();
        for origin in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let valid = rest.is_some_and(|host| {
                !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
            });
            if !valid {
                return Err(format!(
                    "`{origin}` is not an origin such as https://app.example or http://localhost:3000 (scheme and host, no path)"
                ));
            }
            origins.push(origin.to_ascii_lowercase());
        }
        Ok(Self::Listed(origins))
    }

    /// Whether a request's `Origin` value is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Listed(origins) => origins.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }
}

/// IP networks (a bare address is a network of one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networks(Vec<ipnet::IpNet>);

impl Networks {
    /// Parses comma-separated addresses and CIDR networks (empty: none).
    pub fn parse(text: &str) -> Result<Self, String> {
        text.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| {
                n.parse::<ipnet::IpNet>()
                    .or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!("`{n}` is not an IP address or network such as 10.0.0.0/8")
                    })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Whether `address` is in one of the networks.
    pub fn contains(&self, address: &std::net::IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }
}

/// Where and how webhook deliveries are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// The hosts deliveries may go to.
    pub allowed_hosts: crate::domain::webhook::HostAllowlist,
    /// The wait after a first failure (doubled after each further one).
    pub retry_delay: Duration,
    /// Failures in a row after which a subscription stops.
    pub max_failures: u32,
    /// How long one delivery may take.
    pub timeout: Duration,
}

/// A setting that could not be read or understood.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A config-file line is not `KEY=value`.
    #[error("config file {path}, line {line}: expected KEY=value")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A config file sets a key the registry does not know (a typo would otherwise be silently ignored).
    #[error("config file {path}, line {line}: unknown setting `{key}`")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The key.
        key: String,
    },
    /// A config file sets one key twice (the first or the last would silently win).
    #[error("config file {path}, line {line}: {key} is already set on line {first}")]
    DuplicateKey {
        /// The file.
        path: PathBuf,
        /// 1-based line number of the second setting.
        line: usize,
        /// 1-based line number of the first.
        first: usize,
        /// The key.
        key: String,
    },
    /// The environment names a `REGISTRY_` variable the registry does not know (a typo
    /// would otherwise be silently ignored, as in a config file it is not).
    #[error("unknown setting {key} in the environment{}", .suggestion.as_ref().map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownVariable {
        /// The variable.
        key: String,
        /// The setting it most resembles, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A value has the wrong form.
    #[error("setting {key}={value:?} is invalid: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        reason: String,
    },
}

impl Settings {
    /// Reads settings from the process environment and the optional config file
    /// (`config_file` argument, else `REGISTRY_CONFIG`).
    pub fn load(config_file: Option<&Path>) -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let file = config_file.map(Path::to_path_buf).or_else(|| {
            env.get(CONFIG_FILE_KEY)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        });
        let file_values = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(&path).map_err(|source| SettingsError::ReadFile {
                        path: path.clone(),
                        source,
                    })?;
                parse_config_file(&path, &text)?
            }
            None => HashMap::new(),
        };
        Self::from_layers(&file_values, &env)
    }

    /// Builds settings from explicit layers: defaults, then `file`, then `env`.
    pub fn from_layers(
        file: &HashMap<String, String>,
        env: &HashMap<String, String>,
    ) -> Result<Self, SettingsError> {
        if let Some(unknown) = env.keys().filter(|key| is_unknown_variable(key)).min() {
            return Err(SettingsError::UnknownVariable {
                key: unknown.clone(),
                suggestion: closest_setting(unknown),
            });
        }
        let mut values: HashMap<&'static str, String> = HashMap::new();
        for spec in SETTINGS {
            let value = env
                .get(spec.key)
                .or_else(|| file.get(spec.key))
                .cloned()
                .unwrap_or_else(|| spec.default.to_owned());
            values.insert(spec.key, value);
        }
        let get = |key: &'static str| values.get(key).map(String::as_str).unwrap_or_default();

        let database_url = DatabaseUrl::parse(get("DATABASE_URL"))
            .map_err(|reason| invalid("DATABASE_URL", get("DATABASE_URL"), reason))?;
        let bind = parse_with(
            "REGISTRY_BIND",
            get("REGISTRY_BIND"),
            "an address such as 127.0.0.1:8080",
        )?;
        // actix-server refuses (by panicking) more than 512 workers.
        let workers = match get("REGISTRY_WORKERS").trim() {
            "" => None,
            value => Some(parse_in_range("REGISTRY_WORKERS", value, 512)? as usize),
        };
        let db_pool_size =
            parse_in_range("REGISTRY_DB_POOL_SIZE", get("REGISTRY_DB_POOL_SIZE"), 1000)?;
        let db_timeout = Duration::from_millis(parse_positive(
            "REGISTRY_DB_TIMEOUT_MS",
            get("REGISTRY_DB_TIMEOUT_MS"),
        )? as u64);
        let sample_catalog = match get("REGISTRY_SAMPLE_CATALOG").trim() {
            "auto" => SampleCatalogPolicy::Auto,
            "always" => SampleCatalogPolicy::Always,
            "never" => SampleCatalogPolicy::Never,
            other => {
                return Err(invalid(
                    "REGISTRY_SAMPLE_CATALOG",
                    other,
                    "expected auto, always or never".into(),
                ));
            }
        };
        let refresh_interval = Duration::from_millis(parse_positive(
            "REGISTRY_REFRESH_MS",
            get("REGISTRY_REFRESH_MS"),
        )? as u64);
        let max_body_bytes =
            parse_positive("REGISTRY_MAX_BODY_BYTES", get("REGISTRY_MAX_BODY_BYTES"))?;
        let max_import_bytes = parse_positive(
            "REGISTRY_MAX_IMPORT_BYTES",
            get("REGISTRY_MAX_IMPORT_BYTES"),
        )?;
        let body_timeout = Duration::from_millis(parse_positive(
            "REGISTRY_BODY_TIMEOUT_MS",
            get("REGISTRY_BODY_TIMEOUT_MS"),
        )? as u64);
        let log_format = match get("REGISTRY_LOG_FORMAT").trim() {
            "compact" => LogFormat::Compact,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "REGISTRY_LOG_FORMAT",
                    other,
                    "expected compact or json".into(),
                ));
            }
        };
        let log_filter = get("RUST_LOG").to_owned();
        if let Err(error) = tracing_subscriber::EnvFilter::builder().parse(&log_filter) {
            return Err(invalid("RUST_LOG", &log_filter, error.to_string()));
        }
        let issuers_file = match get("REGISTRY_ISSUERS_FILE").trim() {
            "" => None,
            path => Some(PathBuf::from(path)),
        };
        let dev_secret =
            match get("REGISTRY_DEV_SECRET") {
                "" => None,
                secret => Some(Secret::new(secret.to_owned()).map_err(|reason| {
                    SettingsError::Invalid {
                        key: "REGISTRY_DEV_SECRET",
                        value: "(hidden)".into(),
                        reason,
                    }
                })?),
            };

        let webhooks = WebhookSettings {
            allowed_hosts: crate::domain::webhook::HostAllowlist::parse(get(
                "REGISTRY_WEBHOOK_HOSTS",
            ))
            .map_err(|reason| {
                invalid(
                    "REGISTRY_WEBHOOK_HOSTS",
                    get("REGISTRY_WEBHOOK_HOSTS"),
                    reason,
                )
            })?,
            retry_delay: Duration::from_millis(parse_positive(
                "REGISTRY_WEBHOOK_RETRY_MS",
                get("REGISTRY_WEBHOOK_RETRY_MS"),
            )? as u64),
            max_failures: parse_in_range(
                "REGISTRY_WEBHOOK_MAX_FAILURES",
                get("REGISTRY_WEBHOOK_MAX_FAILURES"),
                1000,
            )?,
            timeout: Duration::from_millis(parse_positive(
                "REGISTRY_WEBHOOK_TIMEOUT_MS",
                get("REGISTRY_WEBHOOK_TIMEOUT_MS"),
            )? as u64),
        };

        let origins = |key: &'static str| {
            Origins::parse(get(key)).map_err(|reason| invalid(key, get(key), reason))
        };
        let networks = |key: &'static str| {
            Networks::parse(get(key)).map_err(|reason| invalid(key, get(key), reason))
        };
        let rate = |key: &'static str| {
            parse_with::<u32>(
                key,
                get(key),
                "a whole number of requests a second (0: no limit)",
            )
        };
        let access = AccessSettings {
            read_origins: origins("REGISTRY_CORS_READ_ORIGINS")?,
            write_origins: match origins("REGISTRY_CORS_WRITE_ORIGINS")? {
                Origins::Any => {
                    return Err(invalid(
                        "REGISTRY_CORS_WRITE_ORIGINS",
                        "*",
                        "name the origins allowed to write; any origin may not".into(),
                    ));
                }
                listed => listed,
            },
            read_rate: rate("REGISTRY_READ_RATE_LIMIT")?,
            write_rate: rate("REGISTRY_WRITE_RATE_LIMIT")?,
            trusted_proxies: networks("REGISTRY_TRUSTED_PROXIES")?,
            metrics_from: networks("REGISTRY_METRICS_FROM")?,
        };

        Ok(Self {
            database_url,
            bind,
            workers,
            db_pool_size,
            db_timeout,
            sample_catalog,
            refresh_interval,
            max_body_bytes,
            max_import_bytes,
            body_timeout,
            log_format,
            log_filter,
            issuers_file,
            dev_secret,
            webhooks,
            access,
        })
    }
}

/// Parses `KEY=value` lines; rejects keys that are not settings.
pub fn parse_config_file(
    path: &Path,
    text: &str,
) -> Result<HashMap<String, String>, SettingsError> {
    let mut values = HashMap::new();
    let mut first_lines: HashMap<String, usize> = HashMap::new();
    // An editor that saves "UTF-8 with BOM" puts U+FEFF before the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line_no = index + 1;
        let (key, value) = line.split_once('=').ok_or_else(|| SettingsError::Syntax {
            path: path.to_path_buf(),
            line: line_no,
        })?;
        let key = key.trim().trim_start_matches("export ").trim();
        if !SETTINGS.iter().any(|spec| spec.key == key) {
            return Err(SettingsError::UnknownKey {
                path: path.to_path_buf(),
                line: line_no,
                key: key.to_owned(),
            });
        }
        if let Some(&first) = first_lines.get(key) {
            return Err(SettingsError::DuplicateKey {
                path: path.to_path_buf(),
                line: line_no,
                first,
                key: key.to_owned(),
            });
        }
        first_lines.insert(key.to_owned(), line_no);
        values.insert(key.to_owned(), unquote(value.trim()).to_owned());
    }
    Ok(values)
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

fn invalid(key: &'static str, value: &str, reason: String) -> SettingsError {
    SettingsError::Invalid {
        key,
        value: value.to_owned(),
        reason,
    }
}

fn parse_with<T: std::str::FromStr>(
    key: &'static str,
    value: &str,
    expected: &str,
) -> Result<T, SettingsError> {
    value
        .trim()
        .parse()
        .map_err(|_| invalid(key, value, format!("expected {expected}")))
}

/// A `REGISTRY_` variable that is neither a setting nor the config-file variable.
fn is_unknown_variable(key: &str) -> bool {
    key.starts_with("REGISTRY_")
        && key != CONFIG_FILE_KEY
        && !SETTINGS.iter().any(|spec| spec.key == key)
}

/// The setting whose name is closest to `key`, when it is close enough to be a typo.
fn closest_setting(key: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .map(|spec| (strsim::damerau_levenshtein(key, spec.key), spec.key))
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, name)| name)
}

/// A whole number from 1 to `most`.
fn parse_in_range(key: &'static str, value: &str, most: u32) -> Result<u32, SettingsError> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=most).contains(&n) => Ok(n),
        _ => Err(invalid(
            key,
            value,
            format!("expected a whole number from 1 to {most}"),
        )),
    }
}

fn parse_positive(key: &'static str, value: &str) -> Result<usize, SettingsError> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid(
            key,
            value,
            "expected a whole number greater than 0".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_give_the_embedded_sqlite_database_on_localhost() {
        let settings = Settings::from_layers(&HashMap::new(), &HashMap::new()).unwrap();
        assert!(settings.database_url.is_sqlite());
        assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.workers, None);
        assert_eq!(settings.sample_catalog, SampleCatalogPolicy::Auto);
        assert_eq!(settings.log_format, LogFormat::Compact);
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let file = map(&[
            ("REGISTRY_BIND", "0.0.0.0:9000"),
            ("REGISTRY_DB_POOL_SIZE", "3"),
        ]);
        let env = map(&[("REGISTRY_BIND", "127.0.0.1:7000")]);
        let settings = Settings::from_layers(&file, &env).unwrap();
        assert_eq!(settings.bind.to_string(), "127.0.0.1:7000");
        assert_eq!(settings.db_pool_size, 3);
    }

    #[test]
    fn a_postgres_url_selects_postgres() {
        let env = map(&[("DATABASE_URL", "postgres://u:secret@db:5432/registry")]);
        let settings = Settings::from_layers(&HashMap::new(), &env).unwrap();
        assert!(!settings.database_url.is_sqlite());
        assert!(!settings.database_url.redacted().contains("secret"));
    }

    #[test]
    fn invalid_values_name_the_setting() {
        for (key, value) in [
            ("REGISTRY_BIND", "localhost"),
            ("REGISTRY_WORKERS", "0"),
            ("REGISTRY_DB_POOL_SIZE", "-1"),
            ("REGISTRY_SAMPLE_CATALOG", "sometimes"),
            ("REGISTRY_LOG_FORMAT", "xml"),
            ("DATABASE_URL", "mysql://x/y"),
        ] {
            let err = Settings::from_layers(&HashMap::new(), &map(&[(key, value)])).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn a_short_development_secret_is_refused_without_showing_it() {
        let err = Settings::from_layers(
            &HashMap::new(),
            &map(&[("REGISTRY_DEV_SECRET", "hunter2hunter2")]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "setting REGISTRY_DEV_SECRET=\"(hidden)\" is invalid: must be at least 32 bytes (got 14); generate one with `openssl rand -base64 48`"
        );
        let settings = Settings::from_layers(
            &HashMap::new(),
            &map(&[
                ("REGISTRY_DEV_SECRET", &"s".repeat(32)),
                ("REGISTRY_ISSUERS_FILE", "/etc/jjj/issuers.json"),
            ]),
        )
        .unwrap();
        assert!(settings.dev_secret.is_some());
        assert!(!format!("{settings:?}").contains(&"s".repeat(32)));
        assert_eq!(
            settings.issuers_file.as_deref(),
            Some(Path::new("/etc/jjj/issuers.json"))
        );
        let defaults = Settings::from_layers(&HashMap::new(), &HashMap::new()).unwrap();
        assert_eq!((defaults.dev_secret, defaults.issuers_file), (None, None));
    }

    #[test]
    fn config_file_lines_are_parsed_with_comments_quotes_and_export() {
        let text = "# comment\n\nexport REGISTRY_BIND=\"0.0.0.0:8080\"\nRUST_LOG='warn'\n";
        let values = parse_config_file(Path::new("x.env"), text).unwrap();
        assert_eq!(values["REGISTRY_BIND"], "0.0.0.0:8080");
        assert_eq!(values["RUST_LOG"], "warn");
    }

    #[test]
    fn config_file_rejects_unknown_keys_and_bad_lines() {
        let err = parse_config_file(Path::new("x.env"), "REGISTRY_BINDD=1\n").unwrap_err();
        assert!(
            matches!(err, SettingsError::UnknownKey { line: 1, .. }),
            "{err}"
        );
        let err = parse_config_file(Path::new("x.env"), "\nno equals sign\n").unwrap_err();
        assert!(
            matches!(err, SettingsError::Syntax { line: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_config_file_with_a_byte_order_mark_reads_like_one_without() {
        let values = parse_config_file(Path::new("x.env"), "\u{feff}REGISTRY_WORKERS=2\n").unwrap();
        assert_eq!(values["REGISTRY_WORKERS"], "2");
    }

    #[test]
    fn a_key_set_twice_in_a_config_file_is_an_error_naming_both_lines() {
        let err = parse_config_file(
            Path::new("x.env"),
            "REGISTRY_WORKERS=2\n# again\nexport REGISTRY_WORKERS=4\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config file x.env, line 3: REGISTRY_WORKERS is already set on line 1"
        );
    }

    #[test]
    fn an_unknown_registry_variable_in_the_environment_is_an_error_with_a_suggestion() {
        let err = Settings::from_layers(&map(&[]), &map(&[("REGISTRY_WORKRES", "4")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown setting REGISTRY_WORKRES in the environment (did you mean REGISTRY_WORKERS?)"
        );
        let err =
            Settings::from_layers(&map(&[]), &map(&[("REGISTRY_COLOUR", "blue")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown setting REGISTRY_COLOUR in the environment"
        );
        // Other programs' variables and the config-file variable are not settings.
        assert!(
            Settings::from_layers(
                &map(&[]),
                &map(&[("REGISTRY_CONFIG", "x.env"), ("HOME", "/root")])
            )
            .is_ok()
        );
    }

    #[test]
    fn an_unparsable_log_filter_is_an_error() {
        let err = Settings::from_layers(&map(&[]), &map(&[("RUST_LOG", "info,jjj_registry=loud")]))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("setting RUST_LOG=\"info,jjj_registry=loud\" is invalid: "),
            "{err}"
        );
        assert!(
            Settings::from_layers(&map(&[]), &map(&[("RUST_LOG", "warn,jjj_registry=debug")]))
                .is_ok()
        );
    }

    #[test]
    fn origins_networks_and_rates_are_checked_and_name_the_setting() {
        let defaults = Settings::from_layers(&map(&[]), &map(&[])).unwrap();
        assert_eq!(defaults.access.read_origins, Origins::Any);
        assert_eq!(defaults.access.write_origins, Origins::Listed(Vec::new()));
        assert_eq!(
            (defaults.access.read_rate, defaults.access.write_rate),
            (100, 20)
        );
        assert!(
            defaults
                .access
                .metrics_from
                .contains(&"127.0.0.1".parse().unwrap())
        );
        assert!(
            defaults
                .access
                .metrics_from
                .contains(&"::1".parse().unwrap())
        );
        assert!(
            !defaults
                .access
                .metrics_from
                .contains(&"10.0.0.1".parse().unwrap())
        );

        let listed = Settings::from_layers(
            &map(&[]),
            &map(&[
                (
                    "REGISTRY_CORS_WRITE_ORIGINS",
                    "https://App.TJ.example, http://localhost:3000",
                ),
                (
                    "REGISTRY_TRUSTED_PROXIES",
                    "10.0.0.0/8, 192.0.2.1, 2001:db8::/32",
                ),
                ("REGISTRY_READ_RATE_LIMIT", "0"),
            ]),
        )
        .unwrap();
        assert!(listed.access.write_origins.allows("https://app.tj.example"));
        assert!(listed.access.write_origins.allows("http://localhost:3000"));
        assert!(!listed.access.write_origins.allows("http://localhost:3001"));
        assert!(
            listed
                .access
                .trusted_proxies
                .contains(&"10.9.8.7".parse().unwrap())
        );
        assert!(
            listed
                .access
                .trusted_proxies
                .contains(&"192.0.2.1".parse().unwrap())
        );
        assert!(
            !listed
                .access
                .trusted_proxies
                .contains(&"192.0.2.2".parse().unwrap())
        );
        assert!(
            listed
                .access
                .trusted_proxies
                .contains(&"2001:db8::9".parse().unwrap())
        );
        assert_eq!(listed.access.read_rate, 0);

        for (key, value, reason) in [
            (
                "REGISTRY_CORS_WRITE_ORIGINS",
                "*",
                "name the origins allowed to write",
            ),
            (
                "REGISTRY_CORS_READ_ORIGINS",
                "https://app.example/path",
                "no path",
            ),
            (
                "REGISTRY_CORS_READ_ORIGINS",
                "app.example",
                "scheme and host",
            ),
            (
                "REGISTRY_TRUSTED_PROXIES",
                "10.0.0.0/33",
                "not an IP address or network",
            ),
            (
                "REGISTRY_METRICS_FROM",
                "localhost",
                "not an IP address or network",
            ),
            ("REGISTRY_WRITE_RATE_LIMIT", "-1", "requests a second"),
        ] {
            let error = Settings::from_layers(&map(&[]), &map(&[(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(key) && error.contains(reason),
                "{key}={value}: {error}"
            );
        }
    }

    #[test]
    fn worker_and_pool_counts_have_bounds() {
        for (key, value, expected) in [
            (
                "REGISTRY_WORKERS",
                "513",
                "expected a whole number from 1 to 512",
            ),
            (
                "REGISTRY_DB_POOL_SIZE",
                "4294967297",
                "expected a whole number from 1 to 1000",
            ),
            (
                "REGISTRY_WEBHOOK_MAX_FAILURES",
                "4294967297",
                "expected a whole number from 1 to 1000",
            ),
        ] {
            let err = Settings::from_layers(&map(&[]), &map(&[(key, value)])).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("setting {key}={value:?} is invalid: {expected}")
            );
        }
        let most = Settings::from_layers(&map(&[]), &map(&[("REGISTRY_WORKERS", "512")])).unwrap();
        assert_eq!(most.workers, Some(512));
    }

    #[test]
    fn the_sample_env_file_documents_every_setting_and_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".env.example");
        let text = std::fs::read_to_string(&path).unwrap();
        let values = parse_config_file(&path, &text).unwrap();
        for spec in SETTINGS {
            assert!(
                text.contains(spec.key),
                ".env.example does not mention {}",
                spec.key
            );
        }
        Settings::from_layers(&values, &HashMap::new()).unwrap();
    }

    #[test]
    fn the_readme_documents_every_setting() {
        let readme =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
                .unwrap();
        for spec in SETTINGS {
            assert!(
                readme.contains(&format!("`{}`", spec.key)),
                "README.md does not document {}",
                spec.key
            );
        }
    }
}
