//! The parity matrix (`parity-matrix.toml`, DESIGN §7, `docs/matrix.md`): which features each
//! subject reproduces, checked against every run. The main type is [`Matrix`].
//!
//! * `model.rs`: the file as data, read and checked with line numbers.
//! * `verdict.rs`: results against declarations, per cell and per feature.
//! * `fix.rs`: rewriting statuses and fingerprints from a full run, keeping comments.
//! * `render.rs`: `docs/parity.md`, the table a person reads.

mod fix;
mod model;
mod render;
mod verdict;

pub use fix::{UNEXPLAINED, fix_matrix};
pub use model::{Cell, Declared, FEATURE_KINDS, Feature, Matrix};
pub use render::render_markdown;
pub use verdict::{FeatureVerdict, Verdict, feature_verdicts, fingerprint, judge_cell};

#[cfg(test)]
mod tests;
