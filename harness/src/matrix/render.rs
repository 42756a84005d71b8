//! `docs/parity.md`: the matrix as a table a person reads, with every reason. Rendered by
//! `parity matrix render`; a test checks that the committed file is fresh.

use std::fmt::Write;

use super::model::{Declared, Matrix};

/// The markdown for `matrix`. Deterministic: file order, no dates.
pub fn render_markdown(matrix: &Matrix) -> String {
    let mut out = String::new();
    let subjects: Vec<&str> = matrix.subjects.iter().map(|(n, _)| n.as_str()).collect();
    let _ = writeln!(out, "# Parity matrix\n");
    let _ = writeln!(
        out,
        "Rendered from `parity-matrix.toml` by `parity matrix render`; do not edit by hand (a test checks\nthat this file is fresh). Each feature is exercised by the scenarios listed; each subject's cell\nsays whether its transcripts equal the goldens recorded from the Python client (`docs/matrix.md`).\n"
    );
    for (name, description) in &matrix.subjects {
        let _ = writeln!(out, "- **{name}**: {description}");
    }
    let _ = writeln!(out);
    for (subject, differences) in &matrix.differences {
        let _ = writeln!(
            out,
            "## How {subject} differs from the Python client\n\nThe most important differences the harness finds, most important first; every one is\npinned in the feature rows below.\n"
        );
        for (i, difference) in differences.iter().enumerate() {
            let _ = writeln!(out, "{}. {}", i + 1, escape(difference));
        }
        let _ = writeln!(out);
    }
    let counts: Vec<String> = subjects
        .iter()
        .map(|subject| {
            let matching = matrix
                .features
                .iter()
                .filter(|f| {
                    f.cells
                        .get(*subject)
                        .is_some_and(|c| c.declared == Declared::Match)
                })
                .count();
            format!("{subject} {matching}/{}", matrix.features.len())
        })
        .collect();
    let _ = writeln!(out, "Features at parity: {}.\n", counts.join(", "));
    let _ = write!(out, "| feature | what users rely on |");
    for subject in &subjects {
        let _ = write!(out, " {subject} |");
    }
    let _ = writeln!(out, " scenarios |");
    let _ = write!(out, "|---|---|");
    for _ in &subjects {
        let _ = write!(out, "---|");
    }
    let _ = writeln!(out, "---|");
    let mut notes = Vec::new();
    for feature in &matrix.features {
        let _ = write!(out, "| `{}` | {} |", feature.id, escape(&feature.title));
        for subject in &subjects {
            match feature.cells.get(*subject) {
                Some(cell) if cell.declared == Declared::Match => {
                    let _ = write!(out, " match |");
                }
                Some(cell) => {
                    notes.push((feature.id.as_str(), *subject, cell));
                    let _ = write!(out, " **{}** [{}] |", cell.declared.as_str(), notes.len());
                }
                None => {
                    let _ = write!(out, " – |");
                }
            }
        }
        let _ = writeln!(out, " {} |", feature.scenarios.join(", "));
    }
    if !notes.is_empty() {
        let _ = writeln!(
            out,
            "\n## Deviations, unsupported features and extensions\n"
        );
        for (i, (feature, subject, cell)) in notes.iter().enumerate() {
            let pinned: Vec<&str> = cell.fingerprints.keys().map(String::as_str).collect();
            let _ = writeln!(
                out,
                "{}. `{feature}`, {subject}: {}{}",
                i + 1,
                escape(cell.reason.as_deref().unwrap_or_default()),
                if pinned.is_empty() {
                    String::new()
                } else {
                    format!(" (pinned on {})", pinned.join(", "))
                }
            );
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
