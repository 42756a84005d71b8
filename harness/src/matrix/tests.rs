//! Each verdict of the matrix, on small files and synthetic results.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::result::{CellResult, Status};

const FILE: &str = r#"# The matrix.
[subjects]
python = "reference"
rust = "library"

[features."span.agent"]
title = "Agent spans"
scenarios = ["handoff", "tool_call"]
python = "match"
rust = "match" # keep this comment

[features."error.max-turns"]
title = "Max turns"
scenarios = ["max_turns"]
python = "match"
rust = "match"
"#;

fn scenarios() -> BTreeSet<String> {
    ["handoff", "tool_call", "max_turns"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn parse(text: &str) -> Result<Matrix, String> {
    Matrix::parse(
        Path::new("parity-matrix.toml"),
        text,
        &scenarios(),
        &["python", "rust"],
    )
    .map_err(|e| e.to_string())
}

fn cell(scenario: &str, subject: &str, status: Status, diff: Option<&str>) -> CellResult {
    CellResult {
        scenario: scenario.into(),
        subject: subject.into(),
        status,
        golden: Some(format!("golden/{scenario}.snap")),
        message: if status == Status::Pass {
            String::new()
        } else {
            "differs".into()
        },
        first_difference: None,
        fingerprint: None,
        diff: diff.map(str::to_owned),
    }
}

const DIFF: &str = "--- golden/handoff.snap\n+++ rust\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n";

fn deviating(fingerprint: &str) -> String {
    FILE.replace(
        "scenarios = [\"handoff\", \"tool_call\"]\npython = \"match\"\nrust = \"match\" # keep this comment",
        &format!(
            "scenarios = [\"handoff\", \"tool_call\"]\npython = \"match\"\nrust = {{ status = \"deviates\", reason = \"ids differ\", fingerprints = {{ handoff = \"{fingerprint}\" }} }}"
        ),
    )
}

fn fingerprint_of_diff() -> String {
    fingerprint(&cell("handoff", "rust", Status::Fail, Some(DIFF))).unwrap()
}

#[test]
fn a_well_formed_matrix_loads() {
    let matrix = parse(FILE).unwrap();
    assert_eq!(matrix.features.len(), 2);
    assert_eq!(matrix.features[0].cells["rust"].declared, Declared::Match);
    assert_eq!(matrix.features[0].line, 6);
}

#[test]
fn bad_entries_are_named_with_their_line() {
    let err = parse(&FILE.replace("\"span.agent\"", "\"spans.agent\"")).unwrap_err();
    assert!(
        err.contains(
            "parity-matrix.toml:6: `features.\"spans.agent\"`: unknown feature \"spans.agent\""
        ),
        "{err}"
    );
    let err = parse(&FILE.replace("rust = \"library\"", "rust = \"library\"\ngo = \"port\""))
        .unwrap_err();
    assert!(
        err.contains(":5: `subjects.go`: unknown subject \"go\""),
        "{err}"
    );
    let err = parse(&FILE.replace("scenarios = [\"max_turns\"]", "scenarios = []")).unwrap_err();
    assert!(err.contains("no scenario exercises this feature"), "{err}");
    assert!(
        err.contains("scenario \"max_turns\" belongs to no feature"),
        "{err}"
    );
    let err = parse(&FILE.replace("\"tool_call\"]", "\"tool_cal\"]")).unwrap_err();
    assert!(
        err.contains(
            ":8: `features.\"span.agent\".scenarios`: no scenario \"tool_cal\" in scenarios/"
        ),
        "{err}"
    );
    let err =
        parse(&deviating("x").replace(", fingerprints = { handoff = \"x\" }", "")).unwrap_err();
    assert!(err.contains("pin the deviation"), "{err}");
    let err =
        parse(&FILE.replace("rust = \"match\" # keep", "rust = \"deviates\" # keep")).unwrap_err();
    assert!(err.contains("needs a reason"), "{err}");
}

#[test]
fn a_pinned_difference_is_a_deviation() {
    let matrix = parse(&deviating(&fingerprint_of_diff())).unwrap();
    let mut result = cell("handoff", "rust", Status::Fail, Some(DIFF));
    judge_cell(&matrix, &mut result);
    assert_eq!(result.status, Status::Deviation);
    assert!(
        result
            .message
            .contains("span.agent: rust deviates (ids differ)"),
        "{}",
        result.message
    );
    let results = vec![
        result,
        cell("tool_call", "rust", Status::Pass, None),
        cell("max_turns", "rust", Status::Pass, None),
    ];
    let verdicts = feature_verdicts(&matrix, &results);
    let agent = verdicts
        .iter()
        .find(|v| v.feature == "span.agent" && v.subject == "rust")
        .unwrap();
    assert_eq!((agent.verdict, agent.ok), (Verdict::Deviation, true));
}

#[test]
fn a_changed_fingerprint_fails() {
    let matrix = parse(&deviating("0000000000000000")).unwrap();
    let mut result = cell("handoff", "rust", Status::Fail, Some(DIFF));
    judge_cell(&matrix, &mut result);
    assert_eq!(result.status, Status::Fail);
    assert!(
        result
            .message
            .contains("a new divergence, not the known one"),
        "{}",
        result.message
    );
}

#[test]
fn a_deviation_that_now_matches_is_stale() {
    let matrix = parse(&deviating(&fingerprint_of_diff())).unwrap();
    let mut result = cell("handoff", "rust", Status::Pass, None);
    judge_cell(&matrix, &mut result);
    assert_eq!(result.status, Status::Fail);
    assert!(
        result.message.starts_with("stale matrix entry: rust now matches, but parity-matrix.toml:10 (span.agent: rust deviates) still pins a deviation on handoff; remove the entry"),
        "{}",
        result.message
    );
}

#[test]
fn a_match_that_differs_fails_and_filtered_features_are_not_run() {
    let matrix = parse(FILE).unwrap();
    let mut result = cell("handoff", "rust", Status::Fail, Some(DIFF));
    judge_cell(&matrix, &mut result);
    assert_eq!(result.status, Status::Fail);
    let verdicts = feature_verdicts(&matrix, &[result]);
    let agent = verdicts
        .iter()
        .find(|v| v.feature == "span.agent" && v.subject == "rust")
        .unwrap();
    assert_eq!((agent.verdict, agent.ok), (Verdict::Fail, false));
    let max = verdicts
        .iter()
        .find(|v| v.feature == "error.max-turns" && v.subject == "rust")
        .unwrap();
    assert_eq!((max.verdict, max.ok), (Verdict::NotRun, true));
}

#[test]
fn fix_pins_new_differences_and_keeps_comments() {
    let matrix = parse(FILE).unwrap();
    let results = vec![
        cell("handoff", "python", Status::Pass, None),
        cell("tool_call", "python", Status::Pass, None),
        cell("max_turns", "python", Status::Pass, None),
        cell("handoff", "rust", Status::Fail, Some(DIFF)),
        cell("tool_call", "rust", Status::Pass, None),
        cell("max_turns", "rust", Status::Pass, None),
    ];
    let fixed = fix_matrix(&matrix, FILE, &results).unwrap();
    assert!(fixed.starts_with("# The matrix.\n"), "{fixed}");
    let expected = format!(
        "rust = {{ status = \"deviates\", reason = \"{UNEXPLAINED}\", fingerprints = {{ handoff = \"{}\" }} }} # keep this comment",
        fingerprint_of_diff()
    );
    assert!(fixed.contains(&expected), "{fixed}");
    // The fixed file loads, and the run is then a deviation, not a failure.
    let fixed_matrix = parse(&fixed).unwrap();
    let mut result = cell("handoff", "rust", Status::Fail, Some(DIFF));
    judge_cell(&fixed_matrix, &mut result);
    assert_eq!(result.status, Status::Deviation);
    // Once the library is fixed, fix returns the cell to "match".
    let all_pass: Vec<CellResult> = results
        .iter()
        .map(|r| cell(&r.scenario, &r.subject, Status::Pass, None))
        .collect();
    let back = fix_matrix(&fixed_matrix, &fixed, &all_pass).unwrap();
    assert_eq!(back, FILE);
}

#[test]
fn fix_pins_a_deviation_declared_with_its_reason_but_no_fingerprints() {
    // A new known difference: the reason written by hand, the pins left to `matrix fix`.
    let unpinned = deviating("x").replace(", fingerprints = { handoff = \"x\" }", "");
    assert!(parse(&unpinned).unwrap_err().contains("pin the deviation"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("parity-matrix.toml");
    std::fs::write(&path, &unpinned).unwrap();
    let matrix = Matrix::load_to_fix(&path, &scenarios(), &["python", "rust"]).unwrap();
    let results: Vec<CellResult> = ["handoff", "tool_call", "max_turns"]
        .iter()
        .flat_map(|s| {
            [
                cell(s, "python", Status::Pass, None),
                cell(s, "rust", Status::Pass, None),
            ]
        })
        .map(|mut r| {
            if r.scenario == "handoff" && r.subject == "rust" {
                r = cell("handoff", "rust", Status::Fail, Some(DIFF));
            }
            r
        })
        .collect();
    let fixed = fix_matrix(&matrix, &unpinned, &results).unwrap();
    let expected = format!(
        "rust = {{ status = \"deviates\", reason = \"ids differ\", fingerprints = {{ handoff = \"{}\" }} }}",
        fingerprint_of_diff()
    );
    assert!(fixed.contains(&expected), "{fixed}");
    parse(&fixed).unwrap();
}

#[test]
fn fix_of_an_unchanged_matrix_changes_nothing_not_even_quoting() {
    // A reason with quotes, written the way a person writes it (escaped, not a literal
    // string): fix used to re-encode every such reason, so a read-only checkout failed.
    let fp = fingerprint_of_diff();
    let text = FILE.replacen(
        "rust = \"match\"",
        &format!(
            "rust = {{ status = \"deviates\", reason = \"says \\\"hi\\\" \", fingerprints = {{ handoff = \"{fp}\" }} }}"
        ),
        1,
    );
    assert_ne!(text, FILE, "the fixture changed: {FILE}");
    let matrix = parse(&text).unwrap();
    let results = vec![
        cell("handoff", "python", Status::Pass, None),
        cell("tool_call", "python", Status::Pass, None),
        cell("max_turns", "python", Status::Pass, None),
        cell("handoff", "rust", Status::Fail, Some(DIFF)),
        cell("tool_call", "rust", Status::Pass, None),
        cell("max_turns", "rust", Status::Pass, None),
    ];
    assert_eq!(fix_matrix(&matrix, &text, &results).unwrap(), text);
}

#[test]
fn fix_declares_what_a_subject_says_it_does_not_support() {
    let matrix = parse(FILE).unwrap();
    let mut unsupported = cell("handoff", "rust", Status::Error, None);
    unsupported.message = "js subject failed on scenario handoff: the command exited with status 3; stderr ends with:\nunsupported: agents.handoffs".into();
    let results = vec![
        cell("handoff", "python", Status::Pass, None),
        cell("tool_call", "python", Status::Pass, None),
        cell("max_turns", "python", Status::Pass, None),
        unsupported.clone(),
        cell("tool_call", "rust", Status::Pass, None),
        // An error that is not the subject's own `unsupported:` is a deviation to explain.
        cell("max_turns", "rust", Status::Error, None),
    ];
    let fixed = fix_matrix(&matrix, FILE, &results).unwrap();
    let expected = format!(
        "rust = {{ status = \"unsupported\", reason = \"rust says unsupported: agents.handoffs\", fingerprints = {{ handoff = \"{}\" }} }} # keep this comment",
        fingerprint(&unsupported).unwrap()
    );
    assert!(fixed.contains(&expected), "{fixed}");
    assert!(
        fixed.contains(&format!(
            "rust = {{ status = \"deviates\", reason = \"{UNEXPLAINED}\""
        )),
        "{fixed}"
    );
    let mut judged = unsupported;
    judge_cell(&parse(&fixed).unwrap(), &mut judged);
    assert_eq!(judged.status, Status::Deviation, "{}", judged.message);
}

#[test]
fn a_skipped_subject_is_neither_judged_nor_fixed() {
    let matrix = parse(&deviating("abc")).unwrap();
    let skipped = |scenario: &str| {
        let mut result = cell(scenario, "rust", Status::Skipped, None);
        result.message = "Node.js was not found on PATH".into();
        result
    };
    let results = vec![
        cell("handoff", "python", Status::Pass, None),
        cell("tool_call", "python", Status::Pass, None),
        cell("max_turns", "python", Status::Pass, None),
        skipped("handoff"),
        skipped("tool_call"),
        skipped("max_turns"),
    ];
    let mut judged = skipped("handoff");
    judge_cell(&matrix, &mut judged);
    assert_eq!(judged.status, Status::Skipped);
    // A declared deviation is not "stale" because the subject did not run.
    let verdicts = feature_verdicts(&matrix, &results);
    let agent = verdicts
        .iter()
        .find(|v| v.feature == "span.agent" && v.subject == "rust")
        .unwrap();
    assert_eq!((agent.verdict, agent.ok), (Verdict::Skipped, true));
    // fix keeps the cells of a subject it has no results for.
    assert_eq!(
        fix_matrix(&matrix, &deviating("abc"), &results).unwrap(),
        deviating("abc")
    );
}

#[test]
fn fix_refuses_results_it_cannot_use() {
    let matrix = parse(FILE).unwrap();
    let partial = vec![cell("handoff", "python", Status::Pass, None)];
    assert!(
        fix_matrix(&matrix, FILE, &partial)
            .unwrap_err()
            .to_string()
            .contains("fix needs a full run")
    );
    let python_fails = vec![cell("handoff", "python", Status::Fail, Some(DIFF))];
    assert!(
        fix_matrix(&matrix, FILE, &python_fails)
            .unwrap_err()
            .to_string()
            .contains("re-record")
    );
}

#[test]
fn the_rendering_names_every_deviation_with_its_reason() {
    let matrix = parse(&deviating("abc")).unwrap();
    let text = render_markdown(&matrix);
    assert!(
        text.contains(
            "| `span.agent` | Agent spans | match | **deviates** [1] | handoff, tool_call |"
        ),
        "{text}"
    );
    assert!(
        text.contains("1. `span.agent`, rust: ids differ (pinned on handoff)"),
        "{text}"
    );
    assert!(
        text.contains("Features at parity: python 2/2, rust 1/2."),
        "{text}"
    );
}

#[test]
fn a_subject_table_lists_its_main_differences_first_in_the_rendering() {
    let text = FILE.replace(
        "rust = \"library\"\n",
        "\n[subjects.rust]\ndescription = \"library\"\ndifferences = [\"log wording\", \"no hooks\"]\n",
    );
    let matrix = parse(&text).unwrap();
    assert_eq!(matrix.subjects[1], ("rust".into(), "library".into()));
    let rendered = render_markdown(&matrix);
    let section = rendered
        .find("## How rust differs from the Python client")
        .unwrap();
    assert!(
        section < rendered.find("| feature |").unwrap(),
        "{rendered}"
    );
    assert!(
        rendered.contains("1. log wording\n2. no hooks\n"),
        "{rendered}"
    );
    let err = parse(&text.replace("differences = [", "differences = [1, ")).unwrap_err();
    assert!(
        err.contains("`subjects.rust.differences`: must be a list of strings"),
        "{err}"
    );
    let err = parse(&text.replace("description = \"library\"\n", "")).unwrap_err();
    assert!(err.contains("missing `description`"), "{err}");
}

// === coverage map ===

fn coverage(text: &str) -> Result<Coverage, String> {
    let matrix = parse(FILE).unwrap();
    Coverage::parse(Path::new("coverage.toml"), text, &matrix).map_err(|e| e.to_string())
}

#[test]
fn coverage_lists_the_scenarios_of_each_behaviours_features() {
    let text = r#"
[behaviors."ref.2.2"]
title = "Agent spans"
source = "reference §2.2"
features = ["span.agent"]

[behaviors."coverage.mcp"]
title = "MCP | offline"
source = "issue"
uncovered = "not built yet"
"#;
    let rendered = render_coverage(&coverage(text).unwrap(), &parse(FILE).unwrap());
    assert!(
        rendered.contains("1 of 2 behaviours covered."),
        "{rendered}"
    );
    assert!(
        rendered
            .contains("| Agent spans | reference §2.2 | `span.agent`: `handoff`, `tool_call` |"),
        "{rendered}"
    );
    assert!(
        rendered.contains("| MCP \\| offline | issue | **not covered**: not built yet |"),
        "{rendered}"
    );
}

#[test]
fn coverage_problems_name_the_line_the_behaviour_and_the_fix() {
    let text = r#"[behaviors."a"]
title = "A"
source = "s"
features = ["span.agent"]
uncovered = "both"

[behaviors."b"]
title = "B"
source = "s"
features = ["span.nothing"]
owner = "me"

[behaviors."c"]
title = "C"
source = "s"
"#;
    let error = coverage(text).unwrap_err();
    for expected in [
        "line 1: `a`: give exactly one of `features`",
        "line 7: `b`: \"span.nothing\" is not a feature of parity-matrix.toml",
        "line 7: `b`: unknown key `owner`",
        "line 13: `c`: give exactly one of `features`",
    ] {
        assert!(
            error.contains(expected),
            "missing {expected:?} in:\n{error}"
        );
    }
}
