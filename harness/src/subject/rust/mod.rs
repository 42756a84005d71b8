//! The rust subject: scenarios driven through `codex-telemetry`, in process.
//!
//! It maps scenario steps onto the library's lifecycle calls and records what the library emits
//! (processor events, `openai.agents` log events, hook callbacks) as raw records. A scenario that
//! uses something the subject cannot express yet is an error for that scenario, never a pass.

use crate::errors::RunSubjectError;
use crate::record::RawLog;
use crate::scenario::Scenario;

/// The Rust implementation under test.
#[derive(Debug, Clone, Default)]
pub struct RustSubject {}

impl RustSubject {
    /// A rust subject.
    pub fn new() -> RustSubject {
        RustSubject {}
    }

    /// Runs `scenario` through `codex-telemetry` and returns its raw records.
    pub fn run(&self, scenario: &Scenario) -> Result<RawLog, RunSubjectError> {
        Err(RunSubjectError {
            subject: "rust".into(),
            scenario: scenario.name.clone(),
            message: "the rust subject cannot express scenarios yet: the codex-telemetry lifecycle API it drives is not built".into(),
        })
    }
}
