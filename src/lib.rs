//! JJJ mutual-recognition registry (京津冀资质资格互认与同事同标事项目录).
//!
//! Layers: [`http`] (routing, extractors, problem responses, OpenAPI) → [`domain`]
//! (entries, decisions, deviations, read model; no HTTP, no SQL) → [`storage`]
//! (diesel schema, queries, transactions). [`registry`] joins the read model to the
//! database; [`application`] holds the use cases (who may do what, carried out and
//! audited) that the HTTP handlers and the CLI call; [`auth`] verifies bearer tokens;
//! [`startup`] builds the server; [`cli`] is the binary's front door.

pub mod application;
pub mod auth;
pub mod cli;
pub mod domain;
pub mod formats;
pub mod http;
pub mod registry;
pub mod sample;
pub mod settings;
pub mod startup;
pub mod storage;
pub mod telemetry;
