//! The two migration folders must define the same schema.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use jjj_registry::storage::{Database, DbConnection, StorageError};

use crate::helpers::{Backend, TestDatabase};

#[derive(Debug, QueryableByName, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    primary_key: i32,
}

fn normalise(data_type: &str) -> String {
    match data_type.to_ascii_lowercase().as_str() {
        "timestamp without time zone" => "timestamp".into(),
        other => other.into(),
    }
}

fn columns(backend: Backend) -> BTreeSet<(String, String, String, bool, bool)> {
    let db = TestDatabase::empty(backend);
    let database = Database::open(&db.url, 1, Duration::from_secs(10)).expect("migrate");
    let rows: Vec<Column> = database
        .run_here(|conn| -> Result<Vec<Column>, StorageError> {
            Ok(match conn {
                DbConnection::Sqlite(c) => diesel::sql_query(
                    "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, p.\"notnull\" AS not_null, \
                     CASE WHEN p.pk > 0 THEN 1 ELSE 0 END AS primary_key \
                     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '__diesel%'",
                )
                .load(c)?,
                DbConnection::Postgresql(c) => diesel::sql_query(
                    "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, \
                     CASE WHEN is_nullable = 'NO' THEN 1 ELSE 0 END AS not_null, \
                     CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints t \
                       JOIN information_schema.key_column_usage k \
                         ON k.constraint_name = t.constraint_name AND k.table_schema = t.table_schema \
                       WHERE t.constraint_type = 'PRIMARY KEY' AND t.table_schema = 'public' \
                         AND t.table_name = c.table_name AND k.column_name = c.column_name) \
                     THEN 1 ELSE 0 END AS primary_key \
                     FROM information_schema.columns c WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%'",
                )
                .load(c)?,
            })
        })
        .expect("introspect");
    rows.into_iter()
        .map(|c| {
            (
                c.table_name,
                c.column_name,
                normalise(&c.data_type),
                c.not_null == 1,
                c.primary_key == 1,
            )
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_define_the_same_columns_and_primary_keys() {
    let sqlite = columns(Backend::Sqlite);
    let postgres = columns(Backend::Postgres);
    assert!(sqlite.len() > 50, "{sqlite:?}");
    let key_columns =
        |set: &BTreeSet<(String, String, String, bool, bool)>| set.iter().filter(|c| c.4).count();
    assert!(
        key_columns(&sqlite) >= 15 && key_columns(&postgres) >= 15,
        "primary keys were not introspected"
    );
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_postgres:#?}"
    );
}

#[test]
fn migrations_are_idempotent_on_both_backends() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::empty(backend);
        Database::open(&db.url, 1, Duration::from_secs(10)).expect("first");
        let database = Database::open(&db.url, 1, Duration::from_secs(10)).expect("second");
        let pending = database
            .run_here(jjj_registry::storage::connection::run_migrations)
            .expect("third");
        assert!(pending.is_empty(), "{backend:?}: {pending:?}");
    }
}
