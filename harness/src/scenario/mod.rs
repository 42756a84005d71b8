//! Scenarios: declarative TOML files (format v1, `docs/scenarios.md`), loaded and validated before
//! any subject runs. The main type is [`Scenario`]; [`ScenarioPaths`] finds and selects files.

mod discover;
mod load;
pub mod schema;

pub use discover::ScenarioPaths;
pub use load::{load_scenario, parse_scenario};
pub use schema::Scenario;
