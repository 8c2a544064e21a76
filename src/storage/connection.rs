//! Connections, the pool, migrations and the bridge to the blocking thread pool.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::group_commit::GroupCommitter;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock held while migrating, so that instances starting
/// together apply migrations one after the other instead of racing.
const MIGRATION_LOCK_KEY: i64 = 0x4a4a_4a5f_7265_6731; // "JJJ_reg1"

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL (production, shared by many instances).
    Postgresql(PgConnection),
    /// Embedded SQLite (the zero-set-up default).
    Sqlite(SqliteConnection),
}

/// Where the database is; the backend follows from the URL scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://<path>` or `sqlite:<path>`.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, kept verbatim for libpq.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a database URL, choosing the backend by scheme.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("the sqlite URL names no file".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        Err("expected a URL starting with sqlite:// or postgres://".into())
    }

    /// Whether this is the embedded SQLite backend.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }

    /// The URL with any password replaced, safe to log and to show in errors.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(url) => redact_password(url),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// Everything that can go wrong below the domain.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database could not be reached or opened; the message names the real cause.
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        /// Redacted URL.
        url: String,
        /// The backend's own error.
        source: diesel::ConnectionError,
    },
    /// The SQLite file's folder could not be created.
    #[error("cannot create the folder {path} for the SQLite database: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No pooled connection became free in time (the database is down or overloaded).
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Applying migrations failed.
    #[error("applying migrations failed: {0}")]
    Migration(String),
    /// The blocking task was cancelled or panicked.
    #[error("database task failed: {0}")]
    Blocking(String),
    /// No connection could be had for a write (the database is down or overloaded).
    #[error("{0}")]
    Unavailable(String),
    /// The transaction of a group of writes failed to commit; none of them took effect.
    #[error("the write could not be committed: {0}")]
    Commit(String),
    /// Stored data does not form a valid catalog (a bug or a hand edit).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StorageError {
    /// Whether this error means "the database is unavailable" (503) rather than a bug (500).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Connect { .. } | Self::Pool(_) | Self::Unavailable(_) | Self::Commit(_)
        )
    }

    /// Whether a write broke a uniqueness constraint (e.g. a local code used twice in
    /// one region): a conflict with other data, not a bug.
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))
        )
    }
}

/// Opens one connection to the backend the URL names, configured for use; a
/// PostgreSQL server that does not complete the connection within `timeout` (about:
/// libpq counts whole seconds, at least 2) is an error, not a hang.
pub fn establish(url: &DatabaseUrl, timeout: Duration) -> Result<DbConnection, StorageError> {
    let connect_error = |source| StorageError::Connect {
        url: url.redacted(),
        source,
    };
    match url {
        DatabaseUrl::Postgres(raw) => Ok(DbConnection::Postgresql(
            PgConnection::establish(&with_connection_limits(raw, timeout))
                .map_err(connect_error)?,
        )),
        DatabaseUrl::Sqlite(path) => {
            let path_str = path.to_str().ok_or_else(|| {
                connect_error(diesel::ConnectionError::InvalidConnectionUrl(
                    "the path is not UTF-8".into(),
                ))
            })?;
            let mut conn = SqliteConnection::establish(path_str).map_err(connect_error)?;
            // busy_timeout first, so the following statements wait instead of failing
            // when another connection holds the lock.
            conn.batch_execute(
                "PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| connect_error(diesel::ConnectionError::CouldntSetupConfiguration(e)))?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// `raw` with libpq's connection time limit and TCP keepalives, and the server-side
/// limits of [`SESSION_LIMITS`], unless the URL sets them itself: a server that accepts
/// the connection and never answers, or a peer that vanished, then fails the connection
/// instead of holding it forever, and no statement or forgotten transaction holds a
/// connection and its locks without end.
fn with_connection_limits(raw: &str, timeout: Duration) -> String {
    let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);
    let limits = [
        ("connect_timeout", seconds.max(2).to_string()),
        ("keepalives", "1".to_owned()),
        ("keepalives_idle", "10".to_owned()),
        ("keepalives_interval", "3".to_owned()),
        ("keepalives_count", "3".to_owned()),
        ("options", SESSION_LIMITS.to_owned()),
    ];
    let query = raw.split_once('?').map_or("", |(_, query)| query);
    let given = |key: &str| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(key))
    };
    let mut url = raw.to_owned();
    for (key, value) in limits {
        if !given(key) {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(&format!("{key}={value}"));
        }
    }
    url
}

/// PostgreSQL session settings every connection starts with (libpq `options`, URL
/// encoded): a statement running longer than 30 s is cancelled (the longest legitimate
/// one, a whole-catalog read for an export of 100,000 items, takes a few seconds), and
/// a session idle inside a transaction for a minute is ended. A `DATABASE_URL` that sets
/// `options` itself keeps its own.
const SESSION_LIMITS: &str =
    "-c%20statement_timeout%3D30000%20-c%20idle_in_transaction_session_timeout%3D60000";

/// r2d2 manager that connects by URL scheme (diesel's own would try every backend and
/// hide the real error behind "invalid connection url").
pub(crate) struct Manager {
    url: DatabaseUrl,
    timeout: Duration,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = StorageError;

    fn connect(&self) -> Result<DbConnection, StorageError> {
        establish(&self.url, self.timeout)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), StorageError> {
        conn.batch_execute("SELECT 1").map_err(StorageError::from)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking() || conn.is_broken()
    }
}

/// The pool plus the knowledge of which backend it talks to.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    writes: GroupCommitter,
    /// Since when (Unix milliseconds) the database has not answered the instance's
    /// catching-up; 0 while it answers. Writes are refused at once meanwhile, instead
    /// of each waiting on a connection that will not answer.
    unreachable_since: Arc<AtomicI64>,
    url: DatabaseUrl,
    applied_migrations: Vec<String>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database").field("url", &self.url).finish()
    }
}

impl Database {
    /// Connects once directly (so an unreachable database gives its real error), prepares
    /// SQLite's journal mode, applies pending migrations, then builds the pool.
    pub fn open(
        url: &DatabaseUrl,
        pool_size: u32,
        timeout: Duration,
    ) -> Result<Self, StorageError> {
        if let DatabaseUrl::Sqlite(path) = url {
            create_parent_dir(path)?;
        }
        let mut conn = establish(url, timeout)?;
        if let DbConnection::Sqlite(sqlite) = &mut conn {
            // WAL needs an exclusive lock: switch once, before connections open in parallel.
            sqlite.batch_execute("PRAGMA journal_mode = WAL;")?;
        }
        let applied_migrations = run_migrations(&mut conn)?;
        drop(conn);

        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            // Reads are served from the read model, so checkouts are rare (probes, reloads,
            // writes) and a ping per checkout is cheap insurance against connections that
            // died with a database restart.
            .test_on_check_out(true)
            .build(Manager {
                url: url.clone(),
                timeout,
            })
            .map_err(StorageError::Pool)?;
        Ok(Self {
            writes: GroupCommitter::start(pool.clone())?,
            unreachable_since: Arc::new(AtomicI64::new(0)),
            pool,
            url: url.clone(),
            applied_migrations,
        })
    }

    /// Connections the pool holds, and how many of them are idle.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Where the database is.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// The migrations this `open` applied (empty when the schema was up to date).
    pub fn applied_migrations(&self) -> &[String] {
        &self.applied_migrations
    }

    /// Runs blocking database work on actix's blocking pool with a pooled connection,
    /// carrying the caller's tracing span; fails at once while the database is known
    /// not to answer.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        self.refuse_while_unreachable()?;
        self.run_probing(work).await
    }

    /// [`Self::run`], even while the database is known not to answer: for the
    /// catching-up and the readiness probe, which find out when it answers again (their
    /// callers bound the wait).
    pub async fn run_probing<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(StorageError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|e| E::from(StorageError::Blocking(e.to_string())))?
    }

    /// Runs a write in one transaction, committed together with the writes that arrive
    /// meanwhile (see [`super::group_commit`]); answers once it is durable.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + From<diesel::result::Error> + Send + 'static,
    {
        self.refuse_while_unreachable()?;
        self.writes.run(work).await
    }

    /// 503 at once, instead of each request waiting on a connection that will not
    /// answer (a stopped or frozen server holds it until TCP gives up, if ever).
    fn refuse_while_unreachable(&self) -> Result<(), StorageError> {
        match self.unreachable_since() {
            None => Ok(()),
            Some(since) => Err(StorageError::Unavailable(format!(
                "the database has not answered since {}; nothing was read or changed",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ))),
        }
    }

    /// Records that the database stopped answering at `now`; true when it was answering.
    pub fn mark_unreachable(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        let millis = now.timestamp_millis().max(1);
        self.unreachable_since
            .compare_exchange(0, millis, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Records that the database answers; true when it was not.
    pub fn mark_reachable(&self) -> bool {
        self.unreachable_since.swap(0, Ordering::AcqRel) != 0
    }

    /// Since when the database has not answered, if it has not.
    pub fn unreachable_since(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self.unreachable_since.load(Ordering::Acquire) {
            0 => None,
            millis => chrono::DateTime::from_timestamp_millis(millis),
        }
    }

    /// Runs blocking work on the current thread (CLI commands and start-up only).
    pub fn run_here<T, E: From<StorageError>>(
        &self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.pool.get().map_err(StorageError::from)?;
        work(&mut conn)
    }
}

/// Checks that the database answers a trivial query.
pub fn ping(conn: &mut DbConnection) -> Result<(), StorageError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

fn create_parent_dir(path: &Path) -> Result<(), StorageError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Applies pending migrations for the connection's backend; returns the names of those
/// it applied (`2026-11-25-000001_regions`), in order.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, StorageError> {
    let migration_error =
        |e: Box<dyn std::error::Error + Send + Sync>| StorageError::Migration(e.to_string());
    match conn {
        DbConnection::Sqlite(sqlite) => {
            let applied = sqlite
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(migration_error)?;
            Ok(names_of::<diesel::sqlite::Sqlite>(
                &SQLITE_MIGRATIONS,
                &applied,
            ))
        }
        DbConnection::Postgresql(pg) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                .execute(pg)?;
            let result = pg
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map_err(migration_error)
                .map(|applied| names_of::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS, &applied));
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
                .execute(pg)?;
            result
        }
    }
}

/// Full names of the applied migration versions (diesel reports versions only).
fn names_of<DB: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
    applied: &[diesel::migration::MigrationVersion<'_>],
) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let known = MigrationSource::<DB>::migrations(source).unwrap_or_default();
    applied
        .iter()
        .map(|version| {
            known
                .iter()
                .map(|m| m.name())
                .find(|name| name.version() == *version)
                .map_or_else(|| version.to_string(), ToString::to_string)
        })
        .collect()
}

/// Runs `read` on one consistent snapshot of the database (REPEATABLE READ on
/// PostgreSQL; SQLite's read transaction is one already), so that everything it reads
/// (the audit chain with its head, the feed with the entries it names) belongs to one
/// moment while writers go on.
pub fn in_snapshot<T>(
    conn: &mut DbConnection,
    read: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    conn.transaction(|conn| {
        if matches!(conn, DbConnection::Postgresql(_)) {
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        read(conn)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:/tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("data/x.db").is_err());
    }

    #[test]
    fn postgres_connections_get_a_time_limit_and_keepalives_unless_the_url_sets_them() {
        assert_eq!(
            with_connection_limits("postgres://u@h/db", Duration::from_millis(1500)),
            format!(
                "postgres://u@h/db?connect_timeout=2&keepalives=1&keepalives_idle=10&keepalives_interval=3&keepalives_count=3&options={SESSION_LIMITS}"
            )
        );
        assert_eq!(
            with_connection_limits(
                "postgres://u@h/db?sslmode=disable&connect_timeout=9&keepalives_idle=60&options=-c%20statement_timeout%3D0",
                Duration::from_secs(3)
            ),
            "postgres://u@h/db?sslmode=disable&connect_timeout=9&keepalives_idle=60&options=-c%20statement_timeout%3D0&keepalives=1&keepalives_interval=3&keepalives_count=3"
        );
        assert!(
            with_connection_limits("postgres://u@h/db", Duration::from_millis(4001))
                .contains("connect_timeout=5&")
        );
    }

    #[test]
    fn passwords_never_appear_in_redacted_urls() {
        let url =
            DatabaseUrl::parse("postgres://registry:s3cr3t@db:5432/jjj?sslmode=require").unwrap();
        assert_eq!(
            url.redacted(),
            "postgres://registry:***@db:5432/jjj?sslmode=require"
        );
        assert_eq!(format!("{url:?}"), url.redacted());
        let no_password = DatabaseUrl::parse("postgres://registry@db/jjj").unwrap();
        assert_eq!(no_password.redacted(), "postgres://registry@db/jjj");
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        use diesel::migration::MigrationSource;
        let names = |source: &EmbeddedMigrations| -> Vec<String> {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(source)
                .unwrap()
                .iter()
                .map(|m| m.name().to_string())
                .collect()
        };
        assert_eq!(names(&SQLITE_MIGRATIONS), names(&POSTGRES_MIGRATIONS));
    }
}
