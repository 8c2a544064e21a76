//! The registry as the HTTP layer and the CLI see it: the database (durable truth) and
//! the in-process read model of the current catalog, rebuilt from the database.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use chrono::Utc;

use crate::domain::catalog::CatalogContent;
use crate::domain::read_model::Catalog;
use crate::sample::sample_entries;
use crate::settings::{SampleCatalogPolicy, Settings};
use crate::storage::catalog::{catalog_is_empty, insert_catalog, load_catalog};
use crate::storage::{Database, DbConnection, StorageError, connection};

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
        let catalog = database.run_here(read_catalog)?;
        Ok(Self {
            database,
            catalog: ArcSwap::from_pointee(catalog),
        })
    }

    /// The current read model; cheap, lock-free.
    pub fn catalog(&self) -> Guard<Arc<Catalog>> {
        self.catalog.load()
    }

    /// Rebuilds the read model from the database.
    pub async fn reload(&self) -> Result<(), RegistryError> {
        let catalog = self.database.run(read_catalog).await?;
        self.catalog.store(Arc::new(catalog));
        Ok(())
    }

    /// Succeeds when the database answers.
    pub async fn check_database(&self) -> Result<(), StorageError> {
        self.database.run(connection::ping).await
    }
}

/// Reads and validates the stored catalog.
fn read_catalog(conn: &mut DbConnection) -> Result<Catalog, RegistryError> {
    Catalog::build(load_catalog(conn)?).map_err(RegistryError::InvalidCatalog)
}

/// Loads the bundled sample catalog if the catalog is empty; all or nothing.
pub fn load_sample(conn: &mut DbConnection) -> Result<SampleLoad, StorageError> {
    if !catalog_is_empty(conn)? {
        return Ok(SampleLoad::SkippedNotEmpty);
    }
    let sample = sample_entries().map_err(StorageError::Corrupt)?;
    let reference = load_catalog(conn)?;
    let combined = CatalogContent {
        regions: reference.regions,
        sectors: reference.sectors,
        ..sample
    };
    if let Err(problems) = Catalog::build(combined.clone()) {
        return Err(StorageError::Corrupt(format!(
            "the sample catalog is invalid: {}",
            problems.join("; ")
        )));
    }
    insert_catalog(conn, &combined, Utc::now())?;
    Ok(SampleLoad::Loaded(
        combined.recognition_items.len() + combined.standard_items.len() + combined.scenarios.len(),
    ))
}
