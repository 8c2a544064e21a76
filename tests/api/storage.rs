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

/// A bulk import names every entry it loads: a selection of more codes than SQLite
/// binds in one statement (32,766) still reads, and reads exactly the entries there are.
#[test]
fn a_selection_of_forty_thousand_codes_reads_the_entries_there_are() {
    use jjj_registry::storage::catalog::{EntrySelection, load_entries};
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::create(backend);
        let database = Database::open(&db.url, 1, Duration::from_secs(10)).expect("open");
        let mut recognition_items: Vec<String> =
            (0..40_000).map(|i| format!("RI-NONE-{i:05}")).collect();
        recognition_items.push("RI-CON-002".into());
        let selection = EntrySelection {
            recognition_items,
            targets: (0..40_000).map(|i| format!("TG-NONE-{i:05}")).collect(),
            ..EntrySelection::default()
        };
        let content = database
            .run_here(|conn| load_entries(conn, &selection))
            .unwrap_or_else(|e| panic!("{backend:?}: {e}"));
        let codes: Vec<&str> = content
            .recognition_items
            .iter()
            .map(|i| i.code.as_str())
            .collect();
        assert_eq!(codes, ["RI-CON-002"], "{backend:?}");
        assert!(
            content.targets.is_empty() && content.batches.is_empty(),
            "{backend:?}"
        );
    }
}

/// Every PostgreSQL connection of the pool cancels a runaway statement and ends a
/// transaction left idle, so neither holds a connection and its locks for ever.
#[test]
fn postgres_sessions_carry_a_statement_timeout() {
    use diesel::RunQueryDsl;
    use diesel::sql_types::Text;

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = Text)]
        value: String,
    }

    let db = TestDatabase::create(Backend::Postgres);
    let database = Database::open(&db.url, 1, Duration::from_secs(10)).expect("open");
    let show = |name: &'static str| {
        database
            .run_here(move |conn| {
                diesel::sql_query(format!("SELECT current_setting('{name}') AS value"))
                    .get_result::<Setting>(conn)
                    .map_err(jjj_registry::storage::StorageError::from)
            })
            .expect("setting")
            .value
    };
    assert_eq!(show("statement_timeout"), "30s");
    assert_eq!(show("idle_in_transaction_session_timeout"), "1min");
}
