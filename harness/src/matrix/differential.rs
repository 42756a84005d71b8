//! The differential run's coverage in `docs/coverage.md`: `differential-coverage.json` is the
//! summary a differential run writes (`target/parity-differential/summary.json`, from
//! `harness/tests/differential.rs`; committed from a local run of at least 2,000 cases, the
//! nightly uploads its own), and this renders it: the counts, the rust subject's refusals by
//! the feature they name, each feature with the number of cases and of other features it was
//! generated with, and the pairs of features never generated together.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::errors::LoadCoverageError;

/// What one differential run generated and how its cases ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DifferentialSummary {
    /// Generated cases.
    pub cases: usize,
    /// Cases both subjects ran (and were compared).
    pub compared: usize,
    /// Cases the loader refused (each a failure of the run).
    pub loader_refusals: usize,
    /// Cases the rust subject refused, by the feature its refusal names.
    pub rust_refusals: Vec<RefusalCount>,
    /// Each feature generated: in how many cases, with how many other features.
    pub features: Vec<FeatureCount>,
    /// Pairs of features generated together in some case.
    pub pairs_seen: usize,
    /// Pairs of the generated features.
    pub pairs_possible: usize,
    /// Pairs of generated features no case had together.
    pub unseen_pairs: Vec<(String, String)>,
    /// How the compared cases went on the js subject, when the run included it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js: Option<JsSummary>,
}

/// The js subject in a differential run: its differences from python, classified against the
/// kinds of difference the matrix declares for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsSummary {
    /// Cases with python's transcript.
    pub same: usize,
    /// Cases that differ only in kinds the matrix's js deviations show.
    pub declared: usize,
    /// Cases the js driver cannot build, by what it names.
    pub refused: Vec<RefusalCount>,
    /// Cases the js subject failed on otherwise (a crash, a timeout), by the failure's first
    /// line.
    #[serde(default)]
    pub failed: Vec<RefusalCount>,
    /// Kinds of difference no declared one has (reported first, for a person to declare), by
    /// kind.
    pub new: Vec<RefusalCount>,
}

/// Cases refused for one reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalCount {
    /// The feature the refusal names.
    pub reason: String,
    /// How many cases.
    pub count: usize,
}

/// One feature of the scenario language in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureCount {
    /// The feature (a schema field set, `field=variant`, `field:kind`, or an `[env]` value).
    pub feature: String,
    /// Cases that used it.
    pub cases: usize,
    /// Other features it was generated with in some case.
    pub partners: usize,
}

impl DifferentialSummary {
    /// Reads a summary; `shown` names the file in messages.
    pub fn parse(shown: &Path, text: &str) -> Result<Self, LoadCoverageError> {
        serde_json::from_str(text).map_err(|e| LoadCoverageError::Problems {
            path: shown.to_path_buf(),
            problems: vec![format!(
                "line {}: not a differential summary ({e}); copy target/parity-differential/summary.json from a differential run",
                e.line()
            )],
        })
    }

    fn refused(&self) -> usize {
        self.rust_refusals.iter().map(|r| r.count).sum()
    }
}

/// The `## Differential coverage` section of `docs/coverage.md`.
pub fn render_differential(summary: &DifferentialSummary) -> String {
    let mut out = String::new();
    let refused = summary.refused();
    let rate = 100.0 * refused as f64 / summary.cases.max(1) as f64;
    let _ = writeln!(out, "## Differential coverage\n");
    let _ = writeln!(
        out,
        "From `differential-coverage.json`: the summary of a differential run\n(`PARITY_DIFFERENTIAL_CASES=2000 cargo test -p parity-harness --test differential`, which writes\n`target/parity-differential/summary.json`; the nightly job runs the same and uploads its own).\nEach case is one generated scenario through the python and the rust subject (and, with\n`PARITY_DIFFERENTIAL_JS=1`, the js subject).\n"
    );
    let _ = writeln!(out, "| | cases |\n|---|---|");
    let _ = writeln!(out, "| generated | {} |", summary.cases);
    let _ = writeln!(
        out,
        "| refused by the loader | {} |",
        summary.loader_refusals
    );
    let _ = writeln!(
        out,
        "| refused by the rust subject | {refused} ({rate:.1} %) |"
    );
    let _ = writeln!(
        out,
        "| compared (python and rust both ran) | {} |\n",
        summary.compared
    );
    let _ = writeln!(
        out,
        "{} features; {} of their {} pairs were generated together in some case.\n",
        summary.features.len(),
        summary.pairs_seen,
        summary.pairs_possible
    );
    let _ = writeln!(out, "### Rust refusals, by the feature they name\n");
    if summary.rust_refusals.is_empty() {
        let _ = writeln!(out, "None.\n");
    } else {
        let _ = writeln!(out, "| cases | feature |\n|---|---|");
        for refusal in &summary.rust_refusals {
            let _ = writeln!(out, "| {} | {} |", refusal.count, escape(&refusal.reason));
        }
        let _ = writeln!(out);
    }
    if let Some(js) = &summary.js {
        let refused: usize = js.refused.iter().map(|r| r.count).sum();
        let _ = writeln!(out, "### The js subject\n");
        for new in &js.new {
            let cases = if new.count == 1 { "case" } else { "cases" };
            let _ = writeln!(
                out,
                "- **new**: `{}` ({} {cases})",
                escape(&new.reason),
                new.count
            );
        }
        if !js.new.is_empty() {
            let _ = writeln!(
                out,
                "\nEach new kind has an example case in the run's `target/parity-regressions/`: declare it in the\nmatrix with a scenario that shows it, or report it upstream."
            );
        }
        let _ = writeln!(
            out,
            "{}Of the compared cases, {} gave python's transcript, {} differed only in kinds of lines the\nmatrix's declared js differences change, and {refused} were refused by the js driver; {} kinds\nof difference were new.\n",
            if js.new.is_empty() { "" } else { "\n" },
            js.same,
            js.declared,
            js.new.len()
        );
        for refusal in &js.refused {
            let _ = writeln!(
                out,
                "- refused {}: {}",
                refusal.count,
                escape(&refusal.reason)
            );
        }
        if !js.refused.is_empty() {
            let _ = writeln!(out);
        }
    }
    let _ = writeln!(out, "### Features\n");
    let _ = writeln!(
        out,
        "| feature | cases | generated with (of {}) |\n|---|---|---|",
        summary.features.len().saturating_sub(1)
    );
    for feature in &summary.features {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            escape(&feature.feature),
            feature.cases,
            feature.partners
        );
    }
    let _ = writeln!(out, "\n### Pairs never generated together\n");
    if summary.unseen_pairs.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let mut by_first: Vec<(&str, Vec<&str>)> = Vec::new();
        for (a, b) in &summary.unseen_pairs {
            match by_first.last_mut() {
                Some((first, partners)) if *first == a.as_str() => partners.push(b),
                _ => by_first.push((a, vec![b])),
            }
        }
        for (first, partners) in by_first {
            let partners: Vec<String> = partners.iter().map(|p| format!("`{p}`")).collect();
            let _ = writeln!(out, "- `{first}` with {}", partners.join(", "));
        }
    }
    out
}

/// Table cells may not contain a pipe.
fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> DifferentialSummary {
        DifferentialSummary {
            cases: 2000,
            compared: 1950,
            loader_refusals: 0,
            rust_refusals: vec![RefusalCount {
                reason: "an agent tool called beside other tool calls".into(),
                count: 50,
            }],
            features: vec![
                FeatureCount {
                    feature: "run.copies".into(),
                    cases: 90,
                    partners: 1,
                },
                FeatureCount {
                    feature: "run.session".into(),
                    cases: 80,
                    partners: 1,
                },
                FeatureCount {
                    feature: "tools.sync".into(),
                    cases: 70,
                    partners: 0,
                },
            ],
            pairs_seen: 1,
            pairs_possible: 3,
            unseen_pairs: vec![
                ("run.copies".into(), "tools.sync".into()),
                ("run.session".into(), "tools.sync".into()),
            ],
            js: Some(JsSummary {
                same: 10,
                declared: 1900,
                refused: vec![RefusalCount {
                    reason: "unsupported: run.resume (approvals)".into(),
                    count: 40,
                }],
                failed: Vec::new(),
                new: Vec::new(),
            }),
        }
    }

    #[test]
    fn the_section_leads_with_counts_then_refusals_features_and_unseen_pairs() {
        let text = render_differential(&summary());
        assert!(
            text.contains("| refused by the rust subject | 50 (2.5 %) |"),
            "{text}"
        );
        assert!(text.contains("3 features; 1 of their 3 pairs"), "{text}");
        assert!(
            text.contains("| 50 | an agent tool called beside other tool calls |"),
            "{text}"
        );
        assert!(text.contains("| `tools.sync` | 70 | 0 |"), "{text}");
        assert!(
            text.contains("- `run.copies` with `tools.sync`\n- `run.session` with `tools.sync`"),
            "{text}"
        );
    }

    #[test]
    fn a_summary_that_is_not_one_names_the_file_and_the_fix() {
        let error =
            DifferentialSummary::parse(Path::new("differential-coverage.json"), "{\"cases\": 1}")
                .unwrap_err()
                .to_string();
        assert!(error.starts_with("differential-coverage.json:"), "{error}");
        assert!(
            error.contains("copy target/parity-differential/summary.json"),
            "{error}"
        );
    }

    #[test]
    fn a_summary_reads_back_what_it_wrote() {
        let text = serde_json::to_string(&summary()).unwrap();
        assert_eq!(
            DifferentialSummary::parse(Path::new("x"), &text).unwrap(),
            summary()
        );
    }
}
