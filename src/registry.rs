//! The registry as the HTTP layer and the CLI see it: the database (durable truth) and
//! the in-process read model of the current catalog, rebuilt from the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::{ArcSwap, Guard};
use chrono::Utc;

use crate::domain::catalog::{CatalogContent, validate_catalog};
use crate::domain::read_model::Catalog;
use crate::sample::sample_entries;
use crate::settings::{SampleCatalogPolicy, Settings};
use crate::storage::catalog::{
    catalog_generation, catalog_is_empty, insert_catalog, load_catalog, lock_catalog_for_write,
};
use crate::storage::{Database, DbConnection, StorageError, connection};

/// What can stop the registry from starting or a command from finishing.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Writes kept landing while the catalog was being read.
    #[error("the catalog changed during each of {0} reads; the next refresh will try again")]
    Unsettled(usize),
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
    /// The catalog generation the read model was built from.
    generation: AtomicI64,
    /// Whether the last refresh check failed (to log transitions, not every tick).
    refresh_failing: AtomicBool,
    /// One rebuild at a time: writers that commit while a rebuild runs wait for it and
    /// the next one, instead of each rebuilding on its own.
    refresh_lock: tokio::sync::Mutex<()>,
}

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
        if wants_sample && let SampleLoad::Loaded(entries) = database.run_here(load_sample)? {
            tracing::info!(entries, "loaded the sample catalog into the empty database");
        }
        let (generation, catalog) = database.run_here(read_catalog)?;
        Ok(Self {
            database,
            catalog: ArcSwap::from_pointee(catalog),
            generation: AtomicI64::new(generation),
            refresh_failing: AtomicBool::new(false),
            refresh_lock: tokio::sync::Mutex::new(()),
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

    /// Rebuilds the read model if the stored catalog changed since it was built (by
    /// this instance or another one); returns whether it did.
    pub async fn refresh_if_changed(&self) -> Result<bool, RegistryError> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        self.rebuild_if_changed().await
    }

    /// The rebuild itself; the caller holds `refresh_lock`.
    async fn rebuild_if_changed(&self) -> Result<bool, RegistryError> {
        let stored = self.database.run(catalog_generation).await?;
        if stored == self.generation.load(Ordering::Acquire) {
            return Ok(false);
        }
        let (generation, catalog) = self.database.run(read_catalog).await?;
        self.catalog.store(Arc::new(catalog));
        self.generation.store(generation, Ordering::Release);
        tracing::info!(
            catalog.generation = generation,
            "read model rebuilt from the database"
        );
        Ok(true)
    }

    /// Makes sure the read model includes the catalog generation `committed` (a write of
    /// this instance just committed it) before returning. Concurrent writers share
    /// rebuilds: a rebuild that started after their commit serves them all.
    pub async fn refresh_to(&self, committed: i64) -> Result<(), RegistryError> {
        if self.generation.load(Ordering::Acquire) >= committed {
            return Ok(());
        }
        let _one_at_a_time = self.refresh_lock.lock().await;
        // The rebuild this writer waited for may already include its commit.
        if self.generation.load(Ordering::Acquire) >= committed {
            return Ok(());
        }
        self.rebuild_if_changed().await?;
        Ok(())
    }

    /// Checks for catalog changes every `interval`, forever: the bound on how long an
    /// instance can serve a catalog older than the database's.
    pub async fn keep_fresh(self: Arc<Self>, interval: Duration) {
        let mut ticks = actix_web::rt::time::interval(interval);
        loop {
            ticks.tick().await;
            match self.refresh_if_changed().await {
                Ok(_) => {
                    if self.refresh_failing.swap(false, Ordering::Relaxed) {
                        tracing::info!("catalog refresh works again");
                    }
                }
                Err(error) => {
                    if !self.refresh_failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!(error = %error, "catalog refresh failed; serving the last read model");
                    }
                }
            }
        }
    }

    /// Succeeds when the database answers.
    pub async fn check_database(&self) -> Result<(), StorageError> {
        self.database.run(connection::ping).await
    }
}

/// Reads and validates the stored catalog with the generation it belongs to. The
/// generation is read before and after: if a write landed in between, read again, so
/// the pair is consistent on either backend (statements of one PostgreSQL read may
/// otherwise see different commits).
fn read_catalog(conn: &mut DbConnection) -> Result<(i64, Catalog), RegistryError> {
    const ATTEMPTS: usize = 5;
    for _ in 0..ATTEMPTS {
        let before = catalog_generation(conn)?;
        let content = load_catalog(conn)?;
        if catalog_generation(conn)? == before {
            return Ok((
                before,
                Catalog::build(content).map_err(RegistryError::InvalidCatalog)?,
            ));
        }
    }
    Err(RegistryError::Unsettled(ATTEMPTS))
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
