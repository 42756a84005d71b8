//! The python subject: the real Python client (`openai-agents`), embedded through pyo3.
//!
//! [`PythonSubject`] runs scenarios; [`venv`] prepares the virtualenv with the pinned client;
//! [`doctor`] explains the interpreter setup. The Python side is `harness/python/parity_driver.py`.

mod doctor;
mod embed;
pub mod venv;

pub use doctor::{Doctor, doctor};

use crate::errors::{PythonEnvError, RunSubjectError};
use crate::record::{RawLog, RawRecord};
use crate::scenario::Scenario;
use crate::workspace::Workspace;

/// The PyPI package of the reference client.
pub const CLIENT_PACKAGE: &str = "openai-agents";

/// The reference subject.
#[derive(Debug, Clone)]
pub struct PythonSubject {
    workspace: Workspace,
}

impl PythonSubject {
    /// A python subject using the workspace's venv and driver.
    pub fn new(workspace: Workspace) -> PythonSubject {
        PythonSubject { workspace }
    }

    /// Starts the interpreter (bootstrapping the venv on first use) and returns the installed
    /// client version.
    pub fn client_version(&self) -> Result<String, PythonEnvError> {
        Ok(embed::embedded(&self.workspace)?.client_version.clone())
    }

    /// The client version if this process has already started the interpreter, without
    /// starting it.
    pub fn started_client_version() -> Option<String> {
        embed::started().map(|embedded| embedded.client_version.clone())
    }

    /// Runs a benchmark of the Python client (`harness/python/parity_bench.py`):
    /// `function(config, iterations)`, timed inside Python; returns the elapsed time of the
    /// timed loop.
    pub fn bench(
        &self,
        function: &str,
        config: &str,
        iterations: u64,
    ) -> Result<std::time::Duration, PythonEnvError> {
        let embedded = embed::embedded(&self.workspace)?;
        embedded
            .bench(&self.workspace, function, config, iterations)
            .map(std::time::Duration::from_nanos)
            .map_err(PythonEnvError::new)
    }

    /// Runs `scenario` and returns its raw records. Exceptions that the run itself raises are part
    /// of the log (its `outcome`); anything else is an error carrying the Python traceback.
    pub fn run(&self, scenario: &Scenario) -> Result<RawLog, RunSubjectError> {
        self.run_exporting(scenario, None)
    }

    /// Runs `scenario` with the Python ecosystem's OpenTelemetry instrumentation of the client
    /// (`opentelemetry-instrumentation-openai-agents-v2`) exporting every span to the
    /// OTLP/HTTP receiver at `endpoint`; returns once every span was sent.
    pub fn run_otlp(&self, scenario: &Scenario, endpoint: &str) -> Result<RawLog, RunSubjectError> {
        self.run_exporting(scenario, Some(endpoint))
    }

    fn run_exporting(
        &self,
        scenario: &Scenario,
        otlp_endpoint: Option<&str>,
    ) -> Result<RawLog, RunSubjectError> {
        let fail = |message: String| RunSubjectError {
            subject: "python".into(),
            scenario: scenario.name.clone(),
            message,
        };
        let embedded = embed::embedded(&self.workspace).map_err(|e| fail(e.to_string()))?;
        let input = serde_json::to_string(scenario).expect("a scenario serializes to JSON");
        let output = embedded.run_scenario(&input, otlp_endpoint).map_err(fail)?;
        let records: Vec<RawRecord> = serde_json::from_str(&output).map_err(|e| {
            fail(format!(
                "the driver returned records that do not match the raw record schema: {e}"
            ))
        })?;
        Ok(RawLog { records })
    }
}

#[cfg(test)]
mod client_rules_tests;
#[cfg(test)]
mod genai_mapping_tests;
#[cfg(test)]
mod logger_tests;
