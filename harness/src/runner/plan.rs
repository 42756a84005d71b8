//! What to run ([`Plan`]: validated scenarios × subjects), and what the plan decides for every
//! cell before any subject runs ([`Decisions`]): a subject of the default set that this machine
//! cannot run is skipped, with the reason; a scenario that a subject declares it cannot express
//! ([`SubjectKind::supports`]) is an error, with the subject's reason; every other cell runs.

use std::collections::BTreeMap;

use crate::compare::golden::GoldenStore;
use crate::matrix::Matrix;
use crate::scenario::Scenario;
use crate::subject::SubjectKind;

/// What to run: validated scenarios × subjects.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenarios, sorted by name.
    pub scenarios: Vec<Scenario>,
    /// The subjects, in run order.
    pub subjects: Vec<SubjectKind>,
    /// Where the scenarios' goldens are, and what happens to new ones.
    pub goldens: GoldenStore,
    /// The parity matrix the results are checked against (the project's scenarios only).
    pub matrix: Option<Matrix>,
    /// The subjects that run only where the machine can run them (the default set's js):
    /// elsewhere their cells are `skipped`, with the reason. A subject asked for by name is not
    /// here: if it cannot run, its cells are errors.
    pub optional: Vec<String>,
    /// Where to keep every cell's transcript (`<dir>/<subject>/<scenario>.txt`, or
    /// `<scenario>.error` with the reason when there is none), for bisecting and artifacts.
    pub transcripts: Option<std::path::PathBuf>,
}

/// What the plan decided for one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision<'a> {
    /// The subject runs the scenario.
    Run,
    /// Not run: the subject cannot run on this machine; why.
    Skipped(&'a str),
    /// Not run: the subject declared it cannot express the scenario; the subject's error.
    Unsupported(&'a str),
}

/// Every cell's decision, taken once from the plan before any subject runs.
#[derive(Debug, Default)]
pub(crate) struct Decisions {
    /// The optional subjects this machine cannot run, by index, with the reason.
    skipped: BTreeMap<usize, String>,
    /// The (subject, scenario) cells whose subject cannot express the scenario, with the
    /// subject's error.
    unsupported: BTreeMap<(usize, usize), String>,
}

impl Plan {
    /// Decides every cell: what a subject can run is its declaration, asked once per cell.
    pub(crate) fn decide(&self) -> Decisions {
        let skipped: BTreeMap<usize, String> = self
            .subjects
            .iter()
            .enumerate()
            .filter(|(_, subject)| self.optional.iter().any(|name| name == subject.name()))
            .filter_map(|(index, subject)| Some((index, subject.unavailable()?)))
            .collect();
        let mut unsupported = BTreeMap::new();
        for (s, subject) in self.subjects.iter().enumerate() {
            if skipped.contains_key(&s) {
                continue;
            }
            for (i, scenario) in self.scenarios.iter().enumerate() {
                if let Err(error) = subject.supports(scenario) {
                    unsupported.insert((s, i), error.to_string());
                }
            }
        }
        Decisions {
            skipped,
            unsupported,
        }
    }
}

impl Decisions {
    /// The decision for the cell of subject `subject` and scenario `scenario` (plan indices).
    pub(crate) fn cell(&self, subject: usize, scenario: usize) -> Decision<'_> {
        if let Some(reason) = self.skipped.get(&subject) {
            return Decision::Skipped(reason);
        }
        match self.unsupported.get(&(subject, scenario)) {
            Some(error) => Decision::Unsupported(error),
            None => Decision::Run,
        }
    }
}
