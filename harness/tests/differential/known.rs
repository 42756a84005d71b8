//! Classes of python-vs-rust differences that are known and under repair (issue 22). A case of
//! such a class that differs is counted under the class's name in the coverage report instead of
//! failing the property; `PARITY_DIFFERENTIAL_KNOWN=1` makes them fail like any other
//! difference (to check a repair). Each class says which cases it covers as narrowly as the
//! scenario lets us say it, so that it hides no other difference in unrelated cases.

use parity::scenario::schema::ScenarioFile;

pub struct Known {
    /// The class's name in issue 22 and in the coverage report.
    pub name: &'static str,
    /// Whether a scenario belongs to the class.
    pub covers: fn(&ScenarioFile) -> bool,
}

/// None at the moment: every class found so far (issue 22's classes 1, 2, 4, 5 and the
/// generator's A to E) is repaired, each with its regression scenario in `scenarios/`. A class
/// found next goes here until it is.
pub const KNOWN: &[Known] = &[];

/// Whether `PARITY_DIFFERENTIAL_KNOWN=1` asks known classes to fail.
pub fn enforced() -> bool {
    std::env::var("PARITY_DIFFERENTIAL_KNOWN").is_ok_and(|v| v == "1")
}

/// The known classes a scenario belongs to.
pub fn classes(spec: &ScenarioFile) -> Vec<&'static str> {
    KNOWN
        .iter()
        .filter(|k| (k.covers)(spec))
        .map(|k| k.name)
        .collect()
}
