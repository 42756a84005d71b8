//! What a differential run generated and how each case ended, printed to stderr and written to
//! `target/parity-differential/coverage.json`: the features of the language the cases used
//! (fields set to something other than their default, variants; [`super::fields`]) and pairs
//! of them, the rust subject's refusals by the feature they name, and the differences of known
//! classes ([`super::known`]) that were counted instead of failing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use parity::matrix::{DifferentialSummary, FeatureCount, JsSummary, RefusalCount};
use serde_json::json;

use super::fields::Observed;
use super::js::JsCoverage;
use super::known;

#[derive(Default)]
pub struct Coverage {
    pub cases: usize,
    pub compared: usize,
    /// Generated cases the loader refused (each also fails the test: a generator or loader bug).
    pub loader_refusals: usize,
    pub observed: Observed,
    features: BTreeMap<String, usize>,
    pairs: BTreeMap<(String, String), usize>,
    /// Refusal reason (the feature the rust subject names) to count and one example case.
    refusals: BTreeMap<String, (usize, String)>,
    known_differences: BTreeMap<String, usize>,
    /// Compared cases each known class covers (differing or not): how narrow it is.
    known_cases: BTreeMap<String, usize>,
    /// Features the generator leaves out on purpose, with why (named, never silent).
    pub avoided: Vec<(&'static str, &'static str)>,
    /// Whether the js subject ran too, and how its cases went.
    pub js_enabled: bool,
    pub js: JsCoverage,
}

/// The feature a refusal names: the rust subject's reason without where it is (`model.steps[3]
/// .output[1]: `) and with names quoted from the scenario made `"…"`, up to its first `: `.
/// `None` when nothing is named.
pub fn refusal_reason(message: &str) -> Option<String> {
    let reason = message
        .split_once("cannot express this scenario: ")
        .map(|(_, r)| r)?;
    let location = regex::Regex::new(r"^(model\.steps\[\d+\](\.output\[\d+\])?: )").unwrap();
    let reason = location.replace(reason, "");
    let quoted = regex::Regex::new(r#""[^"]*""#).unwrap();
    let reason = quoted.replace_all(&reason, "\"…\"");
    let ticked = regex::Regex::new(r"`[^`]*`").unwrap();
    let reason = ticked.replace_all(&reason, "`…`");
    let named = reason
        .split(": ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    (!named.is_empty()).then_some(named)
}

impl Coverage {
    /// Records the features of one generated case (`file`: its content as JSON).
    pub fn case(&mut self, schema: &serde_json::Value, file: &serde_json::Value) {
        self.cases += 1;
        let mut one = Observed::default();
        one.observe(schema, file);
        let features: Vec<&String> = one.features.iter().collect();
        for (i, a) in features.iter().enumerate() {
            *self.features.entry((*a).clone()).or_default() += 1;
            for b in &features[i + 1..] {
                *self.pairs.entry(((*a).clone(), (*b).clone())).or_default() += 1;
            }
        }
        self.observed.observe(schema, file);
    }

    pub fn refused(&mut self, reason: String, case: &str) {
        let entry = self.refusals.entry(reason).or_insert((0, case.to_owned()));
        entry.0 += 1;
    }

    /// A compared case that known classes cover.
    pub fn in_known_classes(&mut self, classes: &[&str]) {
        for class in classes {
            *self.known_cases.entry((*class).to_owned()).or_default() += 1;
        }
    }

    pub fn known_difference(&mut self, classes: &[&str]) {
        for class in classes {
            *self
                .known_differences
                .entry((*class).to_owned())
                .or_default() += 1;
        }
    }

    fn refused_total(&self) -> usize {
        self.refusals.values().map(|(n, _)| n).sum()
    }

    /// The report as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        let all_features: BTreeSet<&String> = self.features.keys().collect();
        let n = all_features.len();
        json!({
            "cases": self.cases,
            "compared": self.compared,
            "loader_refusals": self.loader_refusals,
            "rust_refusals": {
                "total": self.refused_total(),
                "rate": self.refused_total() as f64 / self.cases.max(1) as f64,
                "by_reason": self.refusals.iter().map(|(r, (count, example))| {
                    json!({"reason": r, "count": count, "example": example})
                }).collect::<Vec<_>>(),
            },
            "known_differences": {
                "enforced": known::enforced(),
                "classes": known::KNOWN.iter().map(|k| k.name).collect::<Vec<_>>(),
                "differing": self.known_differences,
                "covered_cases": self.known_cases,
            },
            "js": self.js_enabled.then(|| json!({
                "same_as_python": self.js.same,
                "declared_differences_only": self.js.declared,
                "refused": self.js.refused,
                "failed": self.js.failed,
                "new_difference_kinds": self.js.new.iter().map(|(kind, (count, example))| json!({"kind": kind, "count": count, "example": example})).collect::<Vec<_>>(),
            })),
            "avoided_by_the_generator": self.avoided.iter().map(|(what, why)| json!({"what": what, "why": why})).collect::<Vec<_>>(),
            "features": self.features,
            "pairs": {
                "seen": self.pairs.len(),
                "possible": n * n.saturating_sub(1) / 2,
                "counts": self.pairs.iter().map(|((a, b), c)| json!([a, b, c])).collect::<Vec<_>>(),
            },
        })
    }

    /// The summary `parity matrix render` puts into `docs/coverage.md` (committed as
    /// `differential-coverage.json`).
    pub fn to_summary(&self) -> DifferentialSummary {
        let partners = |feature: &String| {
            self.pairs
                .keys()
                .filter(|(a, b)| a == feature || b == feature)
                .count()
        };
        let features: Vec<&String> = self.features.keys().collect();
        let mut unseen_pairs = Vec::new();
        for (i, a) in features.iter().enumerate() {
            for b in &features[i + 1..] {
                if !self.pairs.contains_key(&((*a).clone(), (*b).clone())) {
                    unseen_pairs.push(((*a).clone(), (*b).clone()));
                }
            }
        }
        let n = features.len();
        DifferentialSummary {
            cases: self.cases,
            compared: self.compared,
            loader_refusals: self.loader_refusals,
            rust_refusals: self
                .refusals
                .iter()
                .map(|(reason, (count, _))| RefusalCount {
                    reason: reason.clone(),
                    count: *count,
                })
                .collect(),
            features: self
                .features
                .iter()
                .map(|(feature, cases)| FeatureCount {
                    feature: feature.clone(),
                    cases: *cases,
                    partners: partners(feature),
                })
                .collect(),
            pairs_seen: self.pairs.len(),
            pairs_possible: n * n.saturating_sub(1) / 2,
            unseen_pairs,
            js: self.js_enabled.then(|| JsSummary {
                same: self.js.same,
                declared: self.js.declared,
                refused: self
                    .js
                    .refused
                    .iter()
                    .map(|(reason, count)| RefusalCount {
                        reason: reason.clone(),
                        count: *count,
                    })
                    .collect(),
                failed: self
                    .js
                    .failed
                    .iter()
                    .map(|(message, count)| RefusalCount {
                        reason: message.clone(),
                        count: *count,
                    })
                    .collect(),
                new: self
                    .js
                    .new
                    .iter()
                    .map(|(kind, (count, _))| RefusalCount {
                        reason: kind.clone(),
                        count: *count,
                    })
                    .collect(),
            }),
        }
    }

    /// Writes the report to `dir/coverage.json`, the summary to `dir/summary.json` (and as
    /// markdown, as `docs/coverage.md` shows it, to `dir/summary.md`), and a summary to stderr.
    pub fn report(&self, dir: &Path) {
        let summary = self.to_summary();
        let path = dir.join("coverage.json");
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| {
                std::fs::write(
                    &path,
                    serde_json::to_string_pretty(&self.to_json()).unwrap(),
                )
            })
            .and_then(|()| {
                std::fs::write(
                    dir.join("summary.json"),
                    serde_json::to_string_pretty(&summary).unwrap() + "\n",
                )
            })
            .and_then(|()| {
                std::fs::write(
                    dir.join("summary.md"),
                    parity::matrix::render_differential(&summary),
                )
            })
            .map_or_else(
                |e| format!("not written: {e}"),
                |()| format!("{}", path.display()),
            );
        eprintln!("{}", self.summary());
        eprintln!("differential coverage: {written}");
    }

    fn summary(&self) -> String {
        let mut out = String::new();
        let n = self.features.len();
        out += &format!(
            "differential coverage: {} cases, {} compared, {} refused by the loader, {} refused by rust ({:.1}%), {} features, {} of {} feature pairs\n",
            self.cases,
            self.compared,
            self.loader_refusals,
            self.refused_total(),
            100.0 * self.refused_total() as f64 / self.cases.max(1) as f64,
            n,
            self.pairs.len(),
            n * n.saturating_sub(1) / 2
        );
        out += "features (cases; pairs with other features):\n";
        for (feature, count) in &self.features {
            let partners = self
                .pairs
                .keys()
                .filter(|(a, b)| a == feature || b == feature)
                .count();
            out += &format!("  {feature}: {count}; {partners}\n");
        }
        out += "rust refusals by the feature they name:\n";
        for (reason, (count, _)) in &self.refusals {
            out += &format!("  {count:>5}  {reason}\n");
        }
        let enforced = if known::enforced() {
            "failing (PARITY_DIFFERENTIAL_KNOWN=1)"
        } else {
            "counted, not failing"
        };
        out += &format!("known difference classes ({enforced}):\n");
        out += "  differing / compared cases of the class\n";
        for class in known::KNOWN {
            let count = self.known_differences.get(class.name).copied().unwrap_or(0);
            let cases = self.known_cases.get(class.name).copied().unwrap_or(0);
            out += &format!("  {count:>5} / {cases:<5} {}\n", class.name);
        }
        if self.js_enabled {
            out += &format!(
                "js subject: {} same as python, {} with declared differences only, {} refused, {} new kinds of difference\n",
                self.js.same,
                self.js.declared,
                self.js.refused.values().sum::<usize>(),
                self.js.new.len()
            );
            for (reason, count) in &self.js.refused {
                out += &format!("  {count:>5}  refused: {reason}\n");
            }
            for (message, count) in &self.js.failed {
                out += &format!("  {count:>5}  FAILED: {message}\n");
            }
            for (kind, (count, _)) in &self.js.new {
                out += &format!("  {count:>5}  NEW: {kind}\n");
            }
        }
        out += "left out by the generator:\n";
        for (what, why) in &self.avoided {
            out += &format!("  {what}: {why}\n");
        }
        out
    }
}
