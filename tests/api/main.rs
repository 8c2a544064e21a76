//! Black-box tests: the real server over HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod catalog;
mod contract;
mod deployment;
mod golden;
mod programme;
mod recognition_status;
mod schema;
mod service;
mod storage;
