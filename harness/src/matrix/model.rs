//! `parity-matrix.toml` as data: features × subjects, each cell a declared status.
//!
//! Read with `toml_edit` (which keeps positions) so that every problem names its line, and
//! checked against the scenarios and subjects that exist before any subject runs: an unknown
//! feature kind or subject, a feature no scenario exercises, a listed scenario that does not
//! exist, a scenario no feature lists, a deviation without a reason or fingerprints: each is bad
//! input (exit 2).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml_edit::{Item, Value};

use crate::errors::{LoadMatrixError, MatrixProblem};

/// The kinds a feature id starts with (`span.agent`, `error.max-turns`, …).
pub const FEATURE_KINDS: &[&str] = &["span", "error", "log", "hook", "env", "behavior"];

/// A declared status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Declared {
    /// The subject equals the golden on every scenario of the feature.
    Match,
    /// The subject differs, knowingly: each deviating scenario's diff is pinned.
    Deviates,
    /// The subject cannot do this yet: each affected scenario's failure is pinned.
    Unsupported,
    /// A feature of this subject only.
    Extension,
}

impl Declared {
    /// The name as written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Declared::Match => "match",
            Declared::Deviates => "deviates",
            Declared::Unsupported => "unsupported",
            Declared::Extension => "extension",
        }
    }

    fn parse(text: &str) -> Option<Declared> {
        Some(match text {
            "match" => Declared::Match,
            "deviates" => Declared::Deviates,
            "unsupported" => Declared::Unsupported,
            "extension" => Declared::Extension,
            _ => return None,
        })
    }
}

/// One (feature, subject) cell as declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The status.
    pub declared: Declared,
    /// Why the subject deviates, is unsupported or has an extension.
    pub reason: Option<String>,
    /// Scenario → fingerprint of its pinned difference (deviates, unsupported).
    pub fingerprints: BTreeMap<String, String>,
    /// The 1-based line of the cell in the file.
    pub line: usize,
}

/// One feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// `kind.name`.
    pub id: String,
    /// What a user relies on.
    pub title: String,
    /// The scenarios that exercise it.
    pub scenarios: Vec<String>,
    /// Subject → cell.
    pub cells: BTreeMap<String, Cell>,
    /// The 1-based line of the feature's table.
    pub line: usize,
}

/// The whole matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// The file.
    pub path: PathBuf,
    /// Subject name → description, in file order.
    pub subjects: Vec<(String, String)>,
    /// Subject name → the most important ways it differs from the Python client, most
    /// important first (`[subjects.<name>] differences = […]`): what `docs/parity.md` opens the
    /// subject's column with.
    pub differences: Vec<(String, Vec<String>)>,
    /// Features in file order.
    pub features: Vec<Feature>,
}

impl Matrix {
    /// Reads and checks the matrix at `path` against the scenario names that exist and the
    /// subjects the harness knows.
    pub fn load(
        path: &Path,
        scenarios: &BTreeSet<String>,
        known_subjects: &[&str],
    ) -> Result<Matrix, LoadMatrixError> {
        Matrix::parse(path, &read_matrix_file(path)?, scenarios, known_subjects)
    }

    /// [`Matrix::load`] for `parity matrix fix`, which writes the pins: a deviation declared
    /// without its fingerprints (a new one, with its reason) is not a problem here.
    pub fn load_to_fix(
        path: &Path,
        scenarios: &BTreeSet<String>,
        known_subjects: &[&str],
    ) -> Result<Matrix, LoadMatrixError> {
        Matrix::read(
            path,
            &read_matrix_file(path)?,
            scenarios,
            known_subjects,
            false,
        )
    }

    /// [`Matrix::load`] on text.
    pub fn parse(
        path: &Path,
        text: &str,
        scenarios: &BTreeSet<String>,
        known_subjects: &[&str],
    ) -> Result<Matrix, LoadMatrixError> {
        Matrix::read(path, text, scenarios, known_subjects, true)
    }

    fn read(
        path: &Path,
        text: &str,
        scenarios: &BTreeSet<String>,
        known_subjects: &[&str],
        pins_required: bool,
    ) -> Result<Matrix, LoadMatrixError> {
        let mut reader = Reader {
            text,
            problems: Vec::new(),
            pins_required,
        };
        let matrix = reader.read(path, scenarios, known_subjects);
        if reader.problems.is_empty() {
            Ok(matrix)
        } else {
            Err(LoadMatrixError {
                path: path.to_path_buf(),
                problems: reader.problems,
            })
        }
    }

    /// The features that list `scenario`.
    pub fn features_of<'a>(&'a self, scenario: &'a str) -> impl Iterator<Item = &'a Feature> {
        self.features
            .iter()
            .filter(move |f| f.scenarios.iter().any(|s| s == scenario))
    }
}

/// The matrix file's text, or the error naming it.
fn read_matrix_file(path: &Path) -> Result<String, LoadMatrixError> {
    std::fs::read_to_string(path).map_err(|e| LoadMatrixError {
        path: path.to_path_buf(),
        problems: vec![MatrixProblem {
            line: None,
            entry: String::new(),
            message: format!("cannot read the file: {e}"),
        }],
    })
}

struct Reader<'t> {
    text: &'t str,
    problems: Vec<MatrixProblem>,
    /// Whether a deviation must carry its fingerprints (not while `matrix fix` writes them).
    pins_required: bool,
}

impl Reader<'_> {
    fn line(&self, span: Option<std::ops::Range<usize>>) -> Option<usize> {
        span.map(|s| {
            self.text[..s.start.min(self.text.len())]
                .matches('\n')
                .count()
                + 1
        })
    }

    fn problem(
        &mut self,
        line: Option<usize>,
        entry: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(MatrixProblem {
            line,
            entry: entry.into(),
            message: message.into(),
        });
    }

    fn read(&mut self, path: &Path, scenarios: &BTreeSet<String>, known: &[&str]) -> Matrix {
        let mut matrix = Matrix {
            path: path.to_path_buf(),
            subjects: Vec::new(),
            differences: Vec::new(),
            features: Vec::new(),
        };
        let document = match toml_edit::Document::parse(self.text) {
            Ok(document) => document,
            Err(e) => {
                let line = self.line(e.span());
                self.problem(line, "", format!("not valid TOML: {}", e.message()));
                return matrix;
            }
        };
        let root = document.as_table();
        for (key, _) in root.iter() {
            if key != "subjects" && key != "features" {
                let line = self.line(root.key(key).and_then(|k| k.span()));
                self.problem(
                    line,
                    key,
                    "unknown table; expected [subjects] and [features.\"<kind>.<name>\"]",
                );
            }
        }
        match root.get("subjects").and_then(Item::as_table_like) {
            Some(subjects) => {
                for (name, item) in subjects.iter() {
                    let line = self.line(subjects.key(name).and_then(|k| k.span()));
                    if !known.contains(&name) {
                        self.problem(
                            line,
                            format!("subjects.{name}"),
                            format!("unknown subject {name:?}; known: {}", known.join(", ")),
                        );
                    }
                    let entry = format!("subjects.{name}");
                    let (description, differences) = self.subject(&entry, item, line);
                    if !differences.is_empty() {
                        matrix.differences.push((name.to_owned(), differences));
                    }
                    matrix.subjects.push((name.to_owned(), description));
                }
            }
            None => self.problem(
                None,
                "subjects",
                "missing [subjects] table: name every subject the matrix has cells for",
            ),
        }
        let subject_names: BTreeSet<String> =
            matrix.subjects.iter().map(|(n, _)| n.clone()).collect();
        let Some(features) = root.get("features").and_then(Item::as_table_like) else {
            self.problem(
                None,
                "features",
                "missing [features.\"<kind>.<name>\"] tables",
            );
            return matrix;
        };
        for (id, item) in features.iter() {
            let line = self.line(features.key(id).and_then(|k| k.span()).or(item.span()));
            if let Some(feature) = self.feature(id, item, line, &subject_names, scenarios) {
                matrix.features.push(feature);
            }
        }
        // Every scenario belongs to at least one feature.
        let listed: BTreeSet<&str> = matrix
            .features
            .iter()
            .flat_map(|f| f.scenarios.iter().map(String::as_str))
            .collect();
        for scenario in scenarios {
            if !listed.contains(scenario.as_str()) {
                self.problem(
                    None,
                    scenario.clone(),
                    format!("scenario {scenario:?} belongs to no feature; add it to the `scenarios` of the features it exercises"),
                );
            }
        }
        matrix
    }

    /// A subject's entry: `name = "description"`, or a table with `description` and the
    /// optional `differences` (a list of strings).
    fn subject(&mut self, entry: &str, item: &Item, line: Option<usize>) -> (String, Vec<String>) {
        if let Some(description) = item.as_str() {
            return (description.to_owned(), Vec::new());
        }
        let Some(table) = item.as_table_like() else {
            self.problem(
                line,
                entry,
                "a subject is a description string, or a table with `description` and `differences`",
            );
            return (String::new(), Vec::new());
        };
        let mut description = String::new();
        let mut differences = Vec::new();
        for (key, value) in table.iter() {
            match key {
                "description" => match value.as_str() {
                    Some(text) => description = text.to_owned(),
                    None => self.problem(line, format!("{entry}.description"), "must be a string"),
                },
                "differences" => match value.as_array() {
                    Some(list) if list.iter().all(|v| v.as_str().is_some()) => {
                        differences
                            .extend(list.iter().filter_map(|v| v.as_str().map(str::to_owned)));
                    }
                    _ => self.problem(
                        line,
                        format!("{entry}.differences"),
                        "must be a list of strings, the most important difference first",
                    ),
                },
                other => self.problem(
                    line,
                    format!("{entry}.{other}"),
                    format!("unknown key {other:?}; expected description, differences"),
                ),
            }
        }
        if description.is_empty() {
            self.problem(
                line,
                entry,
                "missing `description`: say what the subject is",
            );
        }
        (description, differences)
    }

    fn feature(
        &mut self,
        id: &str,
        item: &Item,
        line: Option<usize>,
        subjects: &BTreeSet<String>,
        scenarios: &BTreeSet<String>,
    ) -> Option<Feature> {
        let entry = format!("features.\"{id}\"");
        let kind_ok = id
            .split_once('.')
            .is_some_and(|(kind, name)| FEATURE_KINDS.contains(&kind) && !name.is_empty());
        if !kind_ok {
            self.problem(
                line,
                &entry,
                format!(
                    "unknown feature {id:?}: feature ids are `<kind>.<name>` with kind one of {}",
                    FEATURE_KINDS.join(", ")
                ),
            );
        }
        let Some(table) = item.as_table_like() else {
            self.problem(line, &entry, "must be a table");
            return None;
        };
        let mut feature = Feature {
            id: id.to_owned(),
            title: String::new(),
            scenarios: Vec::new(),
            cells: BTreeMap::new(),
            line: line.unwrap_or(0),
        };
        for (key, value) in table.iter() {
            let key_line = self.line(table.key(key).and_then(|k| k.span())).or(line);
            match key {
                "title" => feature.title = value.as_str().unwrap_or_default().to_owned(),
                "scenarios" => match value.as_array() {
                    Some(list) => {
                        for scenario in list.iter() {
                            let Some(name) = scenario.as_str() else {
                                self.problem(key_line, format!("{entry}.scenarios"), "scenario names are strings");
                                continue;
                            };
                            if !scenarios.contains(name) {
                                self.problem(
                                    self.line(scenario.span()).or(key_line),
                                    format!("{entry}.scenarios"),
                                    format!("no scenario {name:?} in scenarios/; fix the name or remove it"),
                                );
                            }
                            feature.scenarios.push(name.to_owned());
                        }
                    }
                    None => self.problem(key_line, format!("{entry}.scenarios"), "must be a list of scenario names"),
                },
                subject if subjects.contains(subject) => {
                    if let Some(cell) = self.cell(&format!("{entry}.{subject}"), value, key_line) {
                        feature.cells.insert(subject.to_owned(), cell);
                    }
                }
                other => self.problem(
                    key_line,
                    format!("{entry}.{other}"),
                    format!(
                        "unknown key {other:?}: expected `title`, `scenarios` or a subject of [subjects] ({})",
                        subjects.iter().cloned().collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        if feature.title.is_empty() {
            self.problem(line, &entry, "missing `title`: say what a user relies on");
        }
        if feature.scenarios.is_empty() {
            self.problem(
                line,
                &entry,
                "no scenario exercises this feature; list at least one in `scenarios`",
            );
        }
        for subject in subjects {
            if !feature.cells.contains_key(subject) {
                self.problem(line, &entry, format!("no cell for subject {subject:?}; add `{subject} = \"match\"` (or its status)"));
            }
        }
        for (subject, cell) in &feature.cells {
            for scenario in cell.fingerprints.keys() {
                if !feature.scenarios.contains(scenario) {
                    self.problem(
                        Some(cell.line),
                        format!("{entry}.{subject}.fingerprints"),
                        format!("{scenario:?} is not one of this feature's scenarios"),
                    );
                }
            }
        }
        Some(feature)
    }

    fn cell(&mut self, entry: &str, item: &Item, line: Option<usize>) -> Option<Cell> {
        let line_or_0 = line.unwrap_or(0);
        if let Some(text) = item.as_str() {
            return match Declared::parse(text) {
                Some(Declared::Match) => Some(Cell {
                    declared: Declared::Match,
                    reason: None,
                    fingerprints: BTreeMap::new(),
                    line: line_or_0,
                }),
                Some(other) => {
                    self.problem(
                        line,
                        entry,
                        format!(
                            "{:?} needs a reason: write {{ status = {:?}, reason = \"…\" }}",
                            other.as_str(),
                            other.as_str()
                        ),
                    );
                    None
                }
                None => {
                    self.problem(line, entry, format!("unknown status {text:?}; expected match, deviates, unsupported or extension"));
                    None
                }
            };
        }
        let Some(table) = item.as_table_like() else {
            self.problem(
                line,
                entry,
                "a cell is \"match\" or a table { status, reason, fingerprints }",
            );
            return None;
        };
        let status = table
            .get("status")
            .and_then(Item::as_str)
            .and_then(Declared::parse);
        let Some(declared) = status else {
            self.problem(
                line,
                entry,
                "`status` must be one of match, deviates, unsupported, extension",
            );
            return None;
        };
        let reason = table
            .get("reason")
            .and_then(Item::as_str)
            .map(str::to_owned);
        if declared != Declared::Match && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            self.problem(
                line,
                entry,
                format!("{} needs a `reason`", declared.as_str()),
            );
        }
        let mut fingerprints = BTreeMap::new();
        if let Some(table) = table.get("fingerprints").and_then(Item::as_table_like) {
            for (scenario, value) in table.iter() {
                match value.as_value().and_then(Value::as_str) {
                    Some(fp) => {
                        fingerprints.insert(scenario.to_owned(), fp.to_owned());
                    }
                    None => self.problem(line, entry, "fingerprints are strings"),
                }
            }
        }
        if self.pins_required
            && matches!(declared, Declared::Deviates | Declared::Unsupported)
            && fingerprints.is_empty()
        {
            self.problem(
                line,
                entry,
                "pin the deviation: `fingerprints = { <scenario> = \"…\" }` (`parity matrix fix` writes them)",
            );
        }
        for key in table.iter().map(|(k, _)| k) {
            if !matches!(key, "status" | "reason" | "fingerprints") {
                self.problem(
                    line,
                    entry,
                    format!("unknown key {key:?}; expected status, reason, fingerprints"),
                );
            }
        }
        Some(Cell {
            declared,
            reason,
            fingerprints,
            line: line_or_0,
        })
    }
}
