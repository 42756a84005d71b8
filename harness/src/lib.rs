//! `parity`: the conformance harness that keeps `codex-telemetry` in observable parity with the
//! Python client (`openai-agents`).
//!
//! Data flows one way (DESIGN §3):
//! scenario → subject → raw records → normalizer → transcript → comparison → report,
//! and so do the imports: each module below names only modules listed before it (the layer
//! picture is `harness/README.md`; `import_cycles_tests.rs` fails on a cycle).
//!
//! * [`scenario`] loads and validates declarative scenario files.
//! * [`subject`] runs a scenario on an implementation and captures its [`record::RawLog`].
//! * [`normalize`] turns a raw log into a canonical [`transcript::Transcript`].
//! * [`compare`] compares transcripts, and reads and compares insta-format golden snapshots
//!   ([`golden`]).
//! * [`matrix`] checks results against `parity-matrix.toml`.
//! * [`result`] is the verdict of one cell, below the runner and the matrix.
//! * [`runner`] plans (scenario, subject) cells, deciding what each subject can run before any
//!   runs, executes their stages (subject → normalizer → transcript, and the OTLP layer's), and
//!   emits results.
//! * [`report`] renders results as text, JSON, markdown or JUnit.
//! * [`cli`] is the `parity` command line.
#![warn(missing_docs, unreachable_pub)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod cli;
pub mod compare;
pub mod drift;
pub mod errors;
pub mod matrix;
pub mod normalize;
pub mod notice;
pub mod record;
pub mod report;
pub mod result;
pub mod runner;
pub mod scenario;
pub mod subject;
pub mod transcript;
pub mod workspace;

#[cfg(test)]
mod import_cycles_tests;

/// The golden store, at its old path (it lives in [`compare`]).
pub use compare::golden;
/// The OTLP parity layer, at its old path (a stage of the [`runner`]).
pub use runner::otlp;
