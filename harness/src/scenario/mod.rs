//! Scenarios: declarative TOML files (format v1, `docs/scenarios.md`), loaded and validated before
//! any subject runs. The main type is [`Scenario`].

pub mod schema;

pub use schema::Scenario;
