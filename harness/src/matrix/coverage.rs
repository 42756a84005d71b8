//! The coverage map: every behaviour the harness must cover (the reference catalogue of the
//! Python client's observability and the behaviours the project has taken on) and the matrix
//! features whose scenarios exercise it, or why nothing does yet. Read from `coverage.toml`,
//! rendered to `docs/coverage.md` by `parity matrix render` (checked fresh like
//! `docs/parity.md`).
//!
//! ```toml
//! [behaviors."ref.1.1"]
//! title = "Trace export fields"
//! source = "reference §1.1"
//! features = ["span.trace"]
//!
//! [behaviors."coverage.approvals"]
//! title = "Human-in-the-loop approvals and resume"
//! source = "issue 10 (1)"
//! uncovered = "why no scenario exercises it (yet)"
//! ```

use std::fmt::Write;
use std::path::{Path, PathBuf};

use toml_edit::Item;

use super::model::Matrix;
use crate::errors::LoadCoverageError;

/// One behaviour and what covers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behavior {
    /// `ref.<section>` for the reference catalogue, `coverage.<name>` otherwise.
    pub id: String,
    /// What the behaviour is.
    pub title: String,
    /// Where it is catalogued.
    pub source: String,
    /// The matrix features that exercise it; empty when `uncovered`.
    pub features: Vec<String>,
    /// Why no scenario exercises it.
    pub uncovered: Option<String>,
}

/// The whole map, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// The file.
    pub path: PathBuf,
    /// Behaviours in file order.
    pub behaviors: Vec<Behavior>,
}

impl Coverage {
    /// Reads `text` (the file `path`) and checks it against `matrix`. Each problem names the
    /// line, the behaviour and the fix.
    pub fn parse(path: &Path, text: &str, matrix: &Matrix) -> Result<Coverage, LoadCoverageError> {
        let line_of = |span: Option<std::ops::Range<usize>>| {
            span.map_or(String::new(), |s| {
                format!(
                    "line {}: ",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
        };
        let document = toml_edit::Document::parse(text).map_err(|e| LoadCoverageError::Toml {
            path: path.to_path_buf(),
            line: line_of(e.span()),
            message: e.message().to_owned(),
        })?;
        let mut problems = Vec::new();
        let root = document.as_table();
        for (key, _) in root.iter().filter(|(key, _)| *key != "behaviors") {
            problems.push(format!(
                "{}`{key}`: unknown table; expected [behaviors.\"<id>\"]",
                line_of(root.key(key).and_then(|k| k.span()))
            ));
        }
        let mut behaviors = Vec::new();
        let table = root.get("behaviors").and_then(Item::as_table_like);
        for (id, item) in table.into_iter().flat_map(|t| t.iter()) {
            let at = line_of(table.and_then(|t| t.key(id)).and_then(|k| k.span()));
            let Some(entry) = item.as_table_like() else {
                problems.push(format!("{at}`{id}`: expected a table"));
                continue;
            };
            for (key, _) in entry.iter() {
                if !["title", "source", "features", "uncovered"].contains(&key) {
                    problems.push(format!(
                        "{at}`{id}`: unknown key `{key}`; expected title, source, and features or uncovered"
                    ));
                }
            }
            let text_of = |key: &str| entry.get(key).and_then(Item::as_str).map(str::to_owned);
            let mut features = Vec::new();
            if let Some(item) = entry.get("features") {
                let names = item.as_array().map(|a| {
                    a.iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                });
                match names.flatten() {
                    Some(names) => features = names,
                    None => problems.push(format!(
                        "{at}`{id}`: `features` must be a list of feature ids (strings)"
                    )),
                }
            }
            let uncovered = text_of("uncovered").filter(|reason| !reason.trim().is_empty());
            let (Some(title), Some(source)) = (text_of("title"), text_of("source")) else {
                problems.push(format!("{at}`{id}`: needs a `title` and a `source`"));
                continue;
            };
            if features.is_empty() == uncovered.is_none() {
                problems.push(format!(
                    "{at}`{id}`: give exactly one of `features` (the matrix features whose scenarios exercise it) or `uncovered` (why none does)"
                ));
            }
            for feature in &features {
                if !matrix.features.iter().any(|f| &f.id == feature) {
                    problems.push(format!(
                        "{at}`{id}`: {feature:?} is not a feature of {}; add it there or fix the name",
                        matrix.path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned())
                    ));
                }
            }
            behaviors.push(Behavior {
                id: id.to_owned(),
                title,
                source,
                features,
                uncovered,
            });
        }
        if behaviors.is_empty() && problems.is_empty() {
            problems.push("no [behaviors.\"<id>\"] table".into());
        }
        if problems.is_empty() {
            Ok(Coverage {
                path: path.to_path_buf(),
                behaviors,
            })
        } else {
            Err(LoadCoverageError::Problems {
                path: path.to_path_buf(),
                problems,
            })
        }
    }
}

/// The markdown for `coverage`: each behaviour with the scenarios of its features.
/// Deterministic: file order, no dates.
pub fn render_coverage(coverage: &Coverage, matrix: &Matrix) -> String {
    let mut out = String::new();
    let covered = coverage
        .behaviors
        .iter()
        .filter(|b| b.uncovered.is_none())
        .count();
    let _ = writeln!(out, "# Coverage map\n");
    let _ = writeln!(
        out,
        "Rendered from `coverage.toml` and `parity-matrix.toml` by `parity matrix render`; do not edit by\nhand (a test checks that this file is fresh). Every behaviour of the reference catalogue of the\nPython client's observability and every behaviour the project has taken on, with the scenarios\nthat exercise it (through the matrix features listed), or why none does.\n"
    );
    let _ = writeln!(
        out,
        "{covered} of {} behaviours covered.\n",
        coverage.behaviors.len()
    );
    let _ = writeln!(out, "| behaviour | source | covered by |");
    let _ = writeln!(out, "|---|---|---|");
    for behavior in &coverage.behaviors {
        let cover = match &behavior.uncovered {
            Some(reason) => format!("**not covered**: {reason}"),
            None => behavior
                .features
                .iter()
                .map(|id| {
                    let scenarios = matrix
                        .features
                        .iter()
                        .find(|f| &f.id == id)
                        .map(|f| {
                            f.scenarios
                                .iter()
                                .map(|s| format!("`{s}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        })
                        .unwrap_or_default();
                    format!("`{id}`: {scenarios}")
                })
                .collect::<Vec<_>>()
                .join("; "),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            escape(&behavior.title),
            escape(&behavior.source),
            escape(&cover)
        );
    }
    out
}

/// A table cell's text: `|` would end the cell.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}
