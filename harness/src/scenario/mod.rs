//! Scenarios: declarative TOML files (format v1, `docs/scenarios.md`), loaded and validated before
//! any subject runs. The main type is [`Scenario`]; [`ScenarioPaths`] finds and selects files.
//!
//! * `load.rs`: reading a file within the limits, and parsing it.
//! * `validate.rs`: what serde cannot check, each problem with its field; `approvals.rs`: the
//!   rules of tools that need approval and of `[[run.resume]]`, and their part of the walk;
//!   `mcp.rs`: the rules of `[[mcp_servers]]` and which MCP tools an agent sees.
//! * `walk.rs`: the script walk, run after run, that finds steps which can never be used
//!   (it uses `approvals.rs` and `mcp.rs`; `validate.rs` calls it last).
//! * [`limits`], [`exceptions`] and `names.rs`: the bounds, the scriptable exception classes and
//!   the name rules the validation applies.

mod approvals;
mod discover;
pub mod exceptions;
pub mod limits;
mod load;
pub(crate) mod mcp;
pub(crate) mod names;
pub mod schema;
mod validate;
mod walk;

pub use discover::ScenarioPaths;
pub use load::{load_scenario, parse_scenario};
pub use schema::Scenario;

/// `text` quoted as in Rust's `{:?}`, cut to a short excerpt: error messages quote names and
/// values from files of any size.
pub(crate) fn quoted(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    if text.chars().count() <= MAX_CHARS {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(MAX_CHARS).collect();
    format!("{cut:?}…")
}

/// The validation problems of a scenario's text, each as `field: message` (for tests of the
/// rules).
#[cfg(test)]
pub(crate) fn problems(text: &str) -> Vec<String> {
    match parse_scenario("t", text) {
        Err(crate::errors::LoadScenarioErrorKind::Invalid(problems)) => problems
            .into_iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect(),
        other => panic!("expected validation problems, got {other:?}"),
    }
}
