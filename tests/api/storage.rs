//! Storage behaviour that needs more than one connection.

use std::time::Duration;

use jjj_registry::registry::{SampleLoad, load_sample};
use jjj_registry::storage::Database;

use crate::helpers::{Backend, TestDatabase};

#[test]
fn instances_starting_together_load_the_sample_exactly_once() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::empty(backend);
        Database::open(&db.url, 1, Duration::from_secs(10)).expect("migrate");
        let outcomes: Vec<SampleLoad> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let url = db.url.clone();
                    scope.spawn(move || {
                        let database =
                            Database::open(&url, 1, Duration::from_secs(10)).expect("open");
                        database
                            .run_here(load_sample)
                            .expect("load_sample must not fail when racing")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let loaded = outcomes
            .iter()
            .filter(|o| matches!(o, SampleLoad::Loaded(_)))
            .count();
        assert_eq!(loaded, 1, "{backend:?}: {outcomes:?}");
    }
}
