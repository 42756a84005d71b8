//! `parity matrix fix`: statuses and fingerprints rewritten from a full run, with `toml_edit`
//! so that comments, order and formatting of everything else stay as they were.

use std::collections::{BTreeMap, BTreeSet};

use toml_edit::{DocumentMut, InlineTable, Item, Value};

use super::model::{Declared, Matrix};
use super::verdict::fingerprint;
use crate::errors::FixMatrixError;
use crate::result::{CellResult, Status};

/// The reason written for a deviation that `fix` finds and the file did not declare: a person
/// replaces it with the real reason (`docs/matrix.md`).
pub const UNEXPLAINED: &str =
    "found by `parity matrix fix`: explain it here, or fix the library and run fix again";

/// The matrix text with every (feature, subject) cell set from `results`, the raw verdicts of a
/// full run (before the matrix was applied): a cell whose scenarios all pass is `"match"`; one
/// with failures pins each failing scenario's fingerprint, keeping a declared status and reason.
/// A `"match"` cell that now fails becomes `unsupported` when every failure is the subject
/// saying so (an exec subject's `unsupported: <feature>`, docs/exec-protocol.md), with those
/// features as the reason, and `deviates` with [`UNEXPLAINED`] otherwise. Extension cells, and
/// the cells of a subject that was skipped on this machine, are left alone. `Err` says why the
/// results cannot be used.
pub fn fix_matrix(
    matrix: &Matrix,
    text: &str,
    results: &[CellResult],
) -> Result<String, FixMatrixError> {
    if let Some(new) = results.iter().find(|r| r.status == Status::New) {
        return Err(FixMatrixError::NoGolden {
            scenario: new.scenario.clone(),
        });
    }
    if let Some(python) = results
        .iter()
        .find(|r| r.subject == "python" && r.status != Status::Pass)
    {
        return Err(FixMatrixError::PythonDiffers {
            scenario: python.scenario.clone(),
        });
    }
    let mut document: DocumentMut = text.parse().map_err(|source| FixMatrixError::Toml {
        path: matrix.path.clone(),
        source,
    })?;
    let skipped: BTreeSet<&str> = results
        .iter()
        .filter(|r| r.status == Status::Skipped)
        .map(|r| r.subject.as_str())
        .collect();
    for feature in &matrix.features {
        for (subject, cell) in &feature.cells {
            if cell.declared == Declared::Extension || skipped.contains(&subject.as_str()) {
                continue;
            }
            let mut unsupported = BTreeSet::new();
            let mut every_failure_unsupported = true;
            let mut fingerprints = BTreeMap::new();
            for scenario in &feature.scenarios {
                let result = results
                    .iter()
                    .find(|r| &r.scenario == scenario && &r.subject == subject)
                    .ok_or_else(|| FixMatrixError::MissingResult {
                        scenario: scenario.clone(),
                        subject: subject.clone(),
                    })?;
                if let Some(fp) = fingerprint(result) {
                    fingerprints.insert(scenario.clone(), fp);
                    match unsupported_feature(result) {
                        Some(feature) => {
                            unsupported.insert(feature);
                        }
                        None => every_failure_unsupported = false,
                    }
                }
            }
            let slot = &mut document["features"][feature.id.as_str()][subject.as_str()];
            // A cell whose status, reason and pins are already these stays as it is written
            // (quoting, spacing): an unchanged matrix gives an unchanged file.
            if same_cell(slot, &cell.declared, cell.reason.as_deref(), &fingerprints) {
                continue;
            }
            let item = if fingerprints.is_empty() {
                Item::Value(Value::from("match"))
            } else {
                let (status, reason) = match cell.declared {
                    Declared::Match if every_failure_unsupported => (
                        Declared::Unsupported,
                        format!(
                            "{subject} says unsupported: {}",
                            unsupported.into_iter().collect::<Vec<_>>().join("; ")
                        ),
                    ),
                    Declared::Match => (Declared::Deviates, UNEXPLAINED.to_owned()),
                    declared => (declared, cell.reason.clone().unwrap_or_default()),
                };
                let mut table = InlineTable::new();
                table.insert("status", Value::from(status.as_str()));
                // The reason as it was written, when it is the same text.
                let written = slot
                    .as_inline_table()
                    .and_then(|t| t.get("reason"))
                    .filter(|v| v.as_str() == Some(reason.as_str()))
                    .cloned()
                    // Its quoting, not the spacing it had as the table's last entry.
                    .map(|mut v| {
                        v.decor_mut().clear();
                        v
                    });
                table.insert("reason", written.unwrap_or_else(|| Value::from(reason)));
                let mut pins = InlineTable::new();
                for (scenario, fp) in fingerprints {
                    pins.insert(&scenario, Value::from(fp));
                }
                table.insert("fingerprints", Value::InlineTable(pins));
                Item::Value(Value::InlineTable(table))
            };
            // Keep the comment and spacing around the value; replace only the value.
            let decor = slot.as_value().map(|v| v.decor().clone());
            *slot = item;
            if let (Some(decor), Some(value)) = (decor, slot.as_value_mut()) {
                *value.decor_mut() = decor;
            }
        }
    }
    Ok(document.to_string())
}

/// Whether the written cell `slot` already says `declared` (a plain `"match"` when there are no
/// pins), with `reason` and exactly `fingerprints`.
fn same_cell(
    slot: &Item,
    declared: &Declared,
    reason: Option<&str>,
    fingerprints: &BTreeMap<String, String>,
) -> bool {
    if fingerprints.is_empty() {
        return *declared == Declared::Match && slot.as_str() == Some("match");
    }
    let Some(table) = slot.as_inline_table() else {
        return false;
    };
    let written: BTreeMap<String, String> = table
        .get("fingerprints")
        .and_then(Value::as_inline_table)
        .map(|pins| {
            pins.iter()
                .filter_map(|(k, v)| Some((k.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    *declared != Declared::Match
        && table.get("status").and_then(Value::as_str) == Some(declared.as_str())
        && table.get("reason").and_then(Value::as_str) == reason
        && &written == fingerprints
}

/// What an errored cell's subject said it does not support: the last `unsupported: <feature>`
/// line of its message (an exec subject's stderr tail), or `None` for any other failure.
fn unsupported_feature(result: &CellResult) -> Option<String> {
    if result.status != Status::Error {
        return None;
    }
    result
        .message
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("unsupported: "))
        .map(|feature| feature.trim().to_owned())
        .filter(|feature| !feature.is_empty())
}
