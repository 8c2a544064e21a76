//! The registry as the HTTP layer and the CLI see it: the database (durable truth) and
//! the in-process read model of the current catalog, built whole at start and then kept
//! current by following the change feed: each new page of changes reloads only the
//! entries it names.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};
use chrono::Utc;

use crate::domain::catalog::{CatalogContent, validate_catalog};
use crate::domain::change::Change;
use crate::domain::read_model::Catalog;
use crate::sample::sample_entries;
use crate::settings::{SampleCatalogPolicy, Settings};
use crate::storage::catalog::{
    EntrySelection, catalog_is_empty, insert_catalog, load_catalog, load_entries,
    lock_catalog_for_write,
};
use crate::storage::connection::in_snapshot;
use crate::storage::{Database, DatabaseUrl, DbConnection, StorageError, changes, connection};

/// Beyond this many changes behind, an instance reloads the whole catalog instead of
/// applying them one page at a time.
const MAX_CHANGES_APPLIED: i64 = 10_000;

/// What can stop the registry from starting or a command from finishing.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Catalog data (stored or sample) breaks a rule.
    #[error("the catalog is invalid:\n  {}", .0.join("\n  "))]
    InvalidCatalog(Vec<String>),
}

/// Outcome of loading the sample catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleLoad {
    /// Loaded, with this many entries.
    Loaded(usize),
    /// The catalog already had entries; nothing was changed.
    SkippedNotEmpty,
}

/// Database plus read model; shared by all HTTP workers.
#[derive(Debug)]
pub struct Registry {
    database: Database,
    catalog: ArcSwap<Catalog>,
    /// The sequence number of the last change in the read model.
    applied: AtomicI64,
    /// One rebuild at a time: writers that commit while a rebuild runs wait for it and
    /// the next one, instead of each rebuilding on its own.
    refresh_lock: tokio::sync::Mutex<()>,
    /// How long the readiness probe waits for the database.
    db_timeout: Duration,
    /// Read models of past moments (`as_known_at`), by the change they stand at; the
    /// most recently used last.
    past: std::sync::Mutex<Vec<(i64, Arc<Catalog>)>>,
}

/// How many read models of past moments an instance keeps.
const PAST_CATALOGS_KEPT: usize = 4;

impl Registry {
    /// Opens the database (migrating it), loads the sample catalog when the settings
    /// ask for it, and builds the read model.
    pub fn open(settings: &Settings) -> Result<Self, RegistryError> {
        let database = Database::open(
            &settings.database_url,
            settings.db_pool_size,
            settings.db_timeout,
        )?;
        let wants_sample = match settings.sample_catalog {
            SampleCatalogPolicy::Always => true,
            SampleCatalogPolicy::Auto => settings.database_url.is_sqlite(),
            SampleCatalogPolicy::Never => false,
        };
        let backfilled = database.run_here(crate::storage::history::backfill)?;
        if backfilled > 0 {
            tracing::info!(
                versions = backfilled,
                "recorded the current version of every entry as the start of its history"
            );
        }
        if wants_sample && let SampleLoad::Loaded(entries) = database.run_here(load_sample)? {
            tracing::info!(entries, "loaded the sample catalog into the empty database");
        }
        let (head, catalog) = database.run_here(read_catalog)?;
        Ok(Self {
            database,
            catalog: ArcSwap::from_pointee(catalog),
            applied: AtomicI64::new(head),
            refresh_lock: tokio::sync::Mutex::new(()),
            db_timeout: settings.db_timeout,
            past: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The database, for the use cases.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// The current read model; cheap, lock-free.
    pub fn catalog(&self) -> Guard<Arc<Catalog>> {
        self.catalog.load()
    }

    /// The catalog as the registry knew it at `at`: every entry at the last version
    /// recorded up to then, rebuilt from the entries' history (and kept for the next
    /// question about the same moment).
    pub async fn catalog_known_at(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Arc<Catalog>, RegistryError> {
        let seq = self
            .database
            .run(move |conn| crate::storage::history::seq_known_at(conn, at))
            .await?;
        if let Some(kept) = self.kept_past(seq) {
            return Ok(kept);
        }
        let content = self
            .database
            .run(move |conn| {
                in_snapshot(conn, |conn| crate::storage::history::content_at(conn, seq))
            })
            .await?;
        let catalog = Arc::new(Catalog::build(content).map_err(RegistryError::InvalidCatalog)?);
        let mut past = self
            .past
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if past.len() == PAST_CATALOGS_KEPT {
            past.remove(0);
        }
        past.push((seq, Arc::clone(&catalog)));
        Ok(catalog)
    }

    /// A read model of a past moment kept from an earlier question, now most recent.
    fn kept_past(&self, seq: i64) -> Option<Arc<Catalog>> {
        let mut past = self
            .past
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = past.iter().position(|(kept, _)| *kept == seq)?;
        let entry = past.remove(index);
        let catalog = Arc::clone(&entry.1);
        past.push(entry);
        Some(catalog)
    }

    /// How long a probe of the database may take.
    pub fn db_timeout(&self) -> Duration {
        self.db_timeout
    }

    /// The sequence number of the last change the read model includes.
    pub fn applied(&self) -> i64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Applies the changes committed since the read model was last brought up to date
    /// (by this instance or another one); returns whether there were any.
    pub async fn refresh_if_changed(&self) -> Result<bool, RegistryError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        self.catch_up().await
    }

    /// The catching up itself; the caller holds `refresh_lock`.
    async fn catch_up(&self) -> Result<bool, RegistryError> {
        let applied = self.applied();
        match self
            .database
            .run_probing(move |conn| changes_since(conn, applied))
            .await?
        {
            CatchUp::Current => Ok(false),
            CatchUp::Entries { head, entries } => {
                let next = self.catalog.load().with_changes(entries);
                self.catalog.store(Arc::new(next));
                self.applied.store(head, Ordering::Release);
                tracing::debug!(
                    feed.head = head,
                    "read model caught up with the change feed"
                );
                Ok(true)
            }
            CatchUp::Whole { head, catalog } => {
                self.catalog.store(Arc::new(*catalog));
                self.applied.store(head, Ordering::Release);
                tracing::info!(feed.head = head, "read model rebuilt from the database");
                Ok(true)
            }
        }
    }

    /// Makes sure the read model includes the change `committed` (a write of this
    /// instance just committed it) before returning. Concurrent writers share the
    /// work: one catching up that started after their commits serves them all.
    pub async fn refresh_to(&self, committed: i64) -> Result<(), RegistryError> {
        if self.applied() >= committed {
            return Ok(());
        }
        let _one_at_a_time = self.refresh_lock.lock().await;
        // The catching up this writer waited for may already include its commit.
        if self.applied() >= committed {
            return Ok(());
        }
        self.catch_up().await?;
        Ok(())
    }

    /// Checks for catalog changes every `interval`, forever: the bound on how long an
    /// instance can serve a catalog older than the database's.
    pub async fn keep_fresh(self: Arc<Self>, interval: Duration) {
        let mut ticks = actix_web::rt::time::interval(interval);
        let mut failing = false;
        loop {
            ticks.tick().await;
            match self.refresh_if_changed().await {
                Ok(_) => {
                    if std::mem::replace(&mut failing, false) {
                        tracing::info!("catalog refresh works again");
                    }
                }
                Err(error) => {
                    if !std::mem::replace(&mut failing, true) {
                        tracing::warn!(error = %error, "catalog refresh failed; serving the last read model");
                    }
                }
            }
        }
    }

    /// Asks the database every `interval` whether it answers within the database
    /// timeout, forever, and marks it reachable or not. Separate from the catching-up,
    /// which may legitimately take longer (a large import to apply) and which a frozen
    /// database holds for as long as TCP takes to notice.
    pub async fn watch_database(self: Arc<Self>, interval: Duration) {
        let mut ticks = actix_web::rt::time::interval(interval);
        loop {
            ticks.tick().await;
            match self.check_database().await {
                Ok(()) => {
                    if self.database.mark_reachable() {
                        tracing::info!("the database answers again; writes are accepted again");
                    }
                }
                Err(error) => {
                    if self.database.mark_unreachable(Utc::now()) {
                        tracing::warn!(
                            error = %error,
                            "the database does not answer; serving reads from the read model and refusing what needs the database"
                        );
                    }
                }
            }
        }
    }

    /// Since when the database has not answered this instance's catching-up, if it has
    /// not: reads are then served from a read model that may miss later changes.
    pub fn unreachable_since(&self) -> Option<chrono::DateTime<Utc>> {
        self.database.unreachable_since()
    }

    /// Succeeds when the database answers, and for SQLite when its file is still where
    /// it was opened (the open connections would go on using a deleted file, which a
    /// restart would not find).
    pub async fn check_database(&self) -> Result<(), StorageError> {
        // However the database fails to answer (a stopped process keeps connections open
        // and answers nothing), the probe answers within the configured time.
        actix_web::rt::time::timeout(self.db_timeout, self.ping_database())
            .await
            .unwrap_or_else(|_| {
                Err(StorageError::Unavailable(format!(
                    "the database did not answer within {} ms",
                    self.db_timeout.as_millis()
                )))
            })
    }

    async fn ping_database(&self) -> Result<(), StorageError> {
        if let DatabaseUrl::Sqlite(path) = self.database.url()
            && !path.exists()
        {
            return Err(StorageError::Unavailable(format!(
                "the SQLite database file {} is gone",
                path.display()
            )));
        }
        self.database.run_probing(connection::ping).await
    }
}

/// Reads and validates the stored catalog with the feed's head, on one snapshot.
fn read_catalog(conn: &mut DbConnection) -> Result<(i64, Catalog), RegistryError> {
    let (head, content) =
        in_snapshot(conn, |conn| Ok((changes::head(conn)?, load_catalog(conn)?)))?;
    Ok((
        head,
        Catalog::build(content).map_err(RegistryError::InvalidCatalog)?,
    ))
}

/// What an instance needs to bring its read model from change `applied` to the head.
#[derive(Debug)]
enum CatchUp {
    /// Nothing changed.
    Current,
    /// The entries the changes name, as stored at `head`.
    Entries { head: i64, entries: CatalogContent },
    /// Too far behind, or the feed is not what was expected: the whole catalog.
    Whole { head: i64, catalog: Box<Catalog> },
}

/// Reads the changes after `applied` and the entries they name, on one snapshot.
fn changes_since(conn: &mut DbConnection, applied: i64) -> Result<CatchUp, RegistryError> {
    let page = in_snapshot(conn, |conn| {
        let head = changes::head(conn)?;
        if head == applied {
            return Ok(None);
        }
        if head < applied || head - applied > MAX_CHANGES_APPLIED {
            return Ok(Some((head, None)));
        }
        let feed = changes::after(conn, applied, head - applied)?;
        let gap_free = feed.len() as i64 == head - applied
            && feed
                .iter()
                .zip(applied + 1..)
                .all(|(change, seq)| change.seq == seq);
        if !gap_free {
            tracing::warn!(
                applied,
                head,
                "the change feed has a gap; rebuilding the read model whole"
            );
            return Ok(Some((head, None)));
        }
        let entries = load_entries(conn, &selection_of(&feed))?;
        Ok(Some((head, Some(entries))))
    })?;
    match page {
        None => Ok(CatchUp::Current),
        Some((head, Some(entries))) => Ok(CatchUp::Entries { head, entries }),
        Some((_, None)) => {
            let (head, catalog) = read_catalog(conn)?;
            Ok(CatchUp::Whole {
                head,
                catalog: Box::new(catalog),
            })
        }
    }
}

/// The catalog entries that `feed` names, each once.
fn selection_of(feed: &[Change]) -> EntrySelection {
    let mut selection = EntrySelection::default();
    let mut seen = std::collections::HashSet::new();
    for change in feed
        .iter()
        .filter(|c| seen.insert((c.entry_kind, &c.entry_code)))
    {
        selection.add(change.entry_kind, &change.entry_code);
    }
    selection
}

/// Loads the bundled sample catalog if the catalog is empty; all or nothing. Safe when
/// several instances start together: the emptiness check and the load happen under the
/// catalog write lock, so exactly one of them loads.
pub fn load_sample(conn: &mut DbConnection) -> Result<SampleLoad, StorageError> {
    use diesel::Connection;
    conn.transaction(|conn| {
        lock_catalog_for_write(conn)?;
        if !catalog_is_empty(conn)? {
            return Ok(SampleLoad::SkippedNotEmpty);
        }
        load_sample_into_empty(conn)
    })
}

fn load_sample_into_empty(conn: &mut DbConnection) -> Result<SampleLoad, StorageError> {
    let sample = sample_entries().map_err(StorageError::Corrupt)?;
    let reference = load_catalog(conn)?;
    let combined = CatalogContent {
        regions: reference.regions,
        sectors: reference.sectors,
        programmes: reference.programmes,
        ..sample
    };
    if let Err(problems) = validate_catalog(&combined) {
        return Err(StorageError::Corrupt(format!(
            "the sample catalog is invalid: {}",
            problems.join("; ")
        )));
    }
    insert_catalog(conn, &combined, Utc::now())?;
    Ok(SampleLoad::Loaded(
        combined.recognition_items.len()
            + combined.standard_items.len()
            + combined.scenarios.len()
            + combined.targets.len(),
    ))
}
