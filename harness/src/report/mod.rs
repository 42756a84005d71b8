//! Reports: one front for every output format. `text` streams each cell as it finishes; `json`,
//! `markdown` and `junit` collect and write the finished [`RunReport`](crate::runner::RunReport).

mod json;
mod junit;
mod markdown;
mod progress;
mod text;

pub use json::write_json;
pub use junit::write_junit;
pub use markdown::write_markdown;
pub use progress::Progress;
pub use text::TextReporter;

/// The output formats of `parity run --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// Human-readable lines with unified diffs of failures (streamed).
    Text,
    /// One JSON object (DESIGN §8).
    Json,
    /// A markdown summary, e.g. for `$GITHUB_STEP_SUMMARY`.
    Markdown,
    /// JUnit XML: one test suite per subject, one test case per scenario.
    Junit,
}
