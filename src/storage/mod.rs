//! Storage: the diesel schema, connections, migrations and query functions.
//!
//! One code path serves embedded SQLite and PostgreSQL through diesel's
//! [`MultiConnection`](diesel::MultiConnection), restricted to the portable SQL types.
//! Where a backend needs its own SQL, the match on [`DbConnection`] happens here and
//! nowhere else. Query functions take `&mut DbConnection` so they compose inside one
//! transaction; callers on the async side go through [`Database::run`], which moves the
//! work onto the blocking pool.

pub mod audit;
pub mod catalog;
pub mod changes;
pub mod connection;
pub mod group_commit;
pub mod history;
pub mod proposals;
pub mod regions;
pub mod schema;
pub mod suspensions;
pub mod webhooks;

pub use connection::{Database, DatabaseUrl, DbConnection, StorageError};
