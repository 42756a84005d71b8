//! The parity matrix (`parity-matrix.toml`, DESIGN §7, `docs/matrix.md`): which features each
//! subject reproduces, checked against every run. The main type is [`Matrix`].
//!
//! * `model.rs`: the file as data, read and checked with line numbers.
//! * `verdict.rs`: results against declarations, per cell and per feature.
//! * `fix.rs`: rewriting statuses and fingerprints from a full run, keeping comments.
//! * `render.rs`: `docs/parity.md`, the table a person reads.

mod coverage;
mod differential;
mod fix;
mod model;
mod render;
mod verdict;

use crate::errors::LoadCoverageError;

pub use coverage::{Behavior, Coverage, render_coverage};
pub use differential::{
    DifferentialSummary, FeatureCount, JsSummary, RefusalCount, render_differential,
};
pub use fix::{UNEXPLAINED, fix_matrix};
pub use model::{Cell, Declared, FEATURE_KINDS, Feature, Matrix};
pub use render::render_markdown;
pub use verdict::{FeatureVerdict, Verdict, feature_verdicts, fingerprint, judge_cell};

/// The documents rendered from the matrix, with where they go: `docs/parity.md` and
/// `docs/coverage.md` (from `coverage.toml`, and `differential-coverage.json` when present). `parity matrix render` writes them; the
/// golden test checks that the committed ones are fresh.
pub fn rendered_docs(
    workspace: &crate::workspace::Workspace,
    matrix: &Matrix,
) -> Result<Vec<(std::path::PathBuf, String)>, LoadCoverageError> {
    let path = workspace.coverage_path();
    // Messages name the file as the workspace shows it (no machine path).
    let shown = std::path::PathBuf::from(workspace.display(&path));
    let text = std::fs::read_to_string(&path).map_err(|source| LoadCoverageError::Read {
        path: shown.clone(),
        source,
    })?;
    let coverage = Coverage::parse(&shown, &text, matrix)?;
    let mut coverage_doc = render_coverage(&coverage, matrix);
    // The differential run's summary, when one is committed.
    let summary_path = workspace.differential_summary_path();
    if summary_path.is_file() {
        let shown = std::path::PathBuf::from(workspace.display(&summary_path));
        let text =
            std::fs::read_to_string(&summary_path).map_err(|source| LoadCoverageError::Read {
                path: shown.clone(),
                source,
            })?;
        let summary = DifferentialSummary::parse(&shown, &text)?;
        coverage_doc.push('\n');
        coverage_doc.push_str(&render_differential(&summary));
    }
    Ok(vec![
        (workspace.parity_doc(), render_markdown(matrix)),
        (workspace.coverage_doc(), coverage_doc),
    ])
}

#[cfg(test)]
mod tests;
