//! Black-box tests: the real server over HTTP, on SQLite and on PostgreSQL.

mod helpers;
mod jwks;
mod receiver;

mod access;
mod auth;
mod catalog;
mod changes;
mod contract;
mod deployment;
mod editing;
mod exchange;
mod golden;
mod hardening;
mod history;
mod programme;
mod properties;
mod proposals;
mod proxy;
mod recognition_status;
mod schema;
mod service;
mod storage;
mod suspensions;
mod tokens;
mod webhooks;
