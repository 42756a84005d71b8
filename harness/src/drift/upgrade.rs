//! `parity upgrade --python-client VERSION`: moving the reference client to another release
//! (docs/drift.md, "Upgrading the reference client").
//!
//! The release runs every scenario (python and rust, in a child process with its own venv, as
//! `parity drift` runs it); then every golden is re-recorded from it as a *pending* snapshot
//! (`golden/<scenario>.snap.new`, for `cargo insta review`: an accepted golden is never written
//! here), the pins move (`requirements.txt`, `constraints.txt`), and the report says what
//! changed, scenario by scenario, grouped by kind of change, with the rust cells that will fail
//! against the new goldens. `--check` says all that and writes nothing. Running it again
//! rewrites the same files with the same contents.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use super::client::{self, MovedPin};
use super::versions::{Version, pinned_version};
use super::{DriftError, bisect, child};
use crate::compare::golden::{golden_path, pending_path, read_golden};
use crate::compare::normalize_for_compare;
use crate::compare::{change_kinds, diff, first_difference};
use crate::scenario::ScenarioPaths;
use crate::subject::python::CLIENT_PACKAGE;
use crate::workspace::Workspace;

/// What an upgrade found and did (or, with `--check`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeReport {
    /// The client package.
    pub package: String,
    /// The release the goldens were recorded with.
    pub from: String,
    /// The release they are re-recorded with.
    pub to: String,
    /// Only said what it would do.
    pub check: bool,
    /// Pins of `constraints.txt` that the release does not allow, with what it installs.
    pub moved_pins: Vec<MovedPin>,
    /// Per scenario, by name.
    pub scenarios: Vec<ScenarioUpgrade>,
    /// The scenarios whose transcript changed, grouped by kind of change.
    pub groups: Vec<ChangeGroup>,
    /// Files written (or that would be), workspace-relative.
    pub written: Vec<String>,
}

/// One scenario under the new release.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioUpgrade {
    /// The scenario.
    pub scenario: String,
    /// `unchanged`, `changed` (the transcript differs from the golden) or `error` (the release
    /// could not run it; no pending snapshot).
    pub change: &'static str,
    /// For `changed`: the first difference from the golden; for `error`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For `changed`: the diff from the golden to the new transcript.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Where the rust subject differs from the new transcript (its cell will fail against the
    /// new golden unless the matrix declares it), by first difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rust_differs: Option<String>,
}

/// Scenarios that changed the same way.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeGroup {
    /// The kinds of record lines that changed: `~hook run.on_tool_end` (changed), `-span
    /// generation` (gone), `+log "…"` (new).
    pub kinds: Vec<String>,
    /// The scenarios, by name.
    pub scenarios: Vec<String>,
}

/// Runs `version` over every scenario and re-records the goldens as pending snapshots; moves the
/// pins. With `check`, writes nothing.
pub fn upgrade(
    workspace: &Workspace,
    version: &Version,
    check: bool,
) -> Result<UpgradeReport, DriftError> {
    let fail = |e: &dyn std::fmt::Display| DriftError(e.to_string());
    let pinned = pinned_version(workspace).map_err(|e| fail(&e))?;
    let env = client::prepare(workspace, version, &pinned).map_err(|e| fail(&e))?;
    let dir = workspace.state_dir().join("upgrade").join(version.as_str());
    let _ = std::fs::remove_dir_all(&dir);
    child::run_version(workspace, &env, &["python", "rust"], &[], Some(&dir))
        .map_err(DriftError)?;
    let python = bisect::read_transcripts(&dir);
    let rust = read_rust_transcripts(&dir);
    let paths = ScenarioPaths::discover(&workspace.scenarios_dir()).map_err(|e| fail(&e))?;

    let mut scenarios = Vec::new();
    let mut pending = Vec::new();
    for name in paths.names() {
        let golden_file = golden_path(&workspace.golden_dir(), name);
        let golden = read_golden(&golden_file).map_err(|e| fail(&e))?;
        let Some(transcript) = python
            .get(name)
            .filter(|t| !t.starts_with("subject error: "))
        else {
            scenarios.push(ScenarioUpgrade {
                scenario: name.to_owned(),
                change: "error",
                detail: Some(
                    python
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| "the release did not run it".into()),
                ),
                diff: None,
                rust_differs: None,
            });
            continue;
        };
        let old_body = golden.as_ref().map(|g| g.contents()).unwrap_or_default();
        let changed = normalize_for_compare(transcript) != old_body;
        let rust_differs = rust
            .get(name)
            .filter(|r| normalize_for_compare(r) != normalize_for_compare(transcript))
            .map(|r| first_difference(transcript, r).unwrap_or_else(|| "the end".into()));
        scenarios.push(ScenarioUpgrade {
            scenario: name.to_owned(),
            change: if changed { "changed" } else { "unchanged" },
            detail: changed.then(|| first_difference(&old_body, transcript).unwrap_or_default()),
            diff: changed
                .then(|| diff(&old_body, "golden", transcript, version.as_str()))
                .flatten(),
            rust_differs,
        });
        let text = match &golden {
            Some(golden) => restamped(
                &std::fs::read_to_string(&golden_file).unwrap_or_default(),
                &golden.body,
                transcript,
                version,
            ),
            None => continue,
        };
        pending.push((pending_path(&golden_file), text));
    }

    let requirements = workspace.pinned_requirements();
    let constraints = workspace.pinned_constraints();
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| DriftError(format!("cannot read {}: {e}", workspace.display(path))))
    };
    let new_requirements = repinned_requirements(&read(&requirements)?, version);
    let mut installed = freeze(&env.venv)?;
    // What requirements.txt pins itself (the OTLP layer's packages) is not a constraint.
    let required = pinned_names(&new_requirements);
    installed.retain(|name, _| !required.contains(&name.to_lowercase().replace('_', "-")));
    let new_constraints = repinned_constraints(&read(&constraints)?, &env.moved_pins, &installed);
    let mut written = Vec::new();
    for (path, text) in pending.iter().map(|(p, t)| (p.as_path(), t)).chain([
        (requirements.as_path(), &new_requirements),
        (constraints.as_path(), &new_constraints),
    ]) {
        if std::fs::read_to_string(path).is_ok_and(|current| &current == text) {
            continue;
        }
        if !check {
            std::fs::write(path, text).map_err(|e| {
                DriftError(format!("cannot write {}: {e}", workspace.display(path)))
            })?;
        }
        written.push(workspace.display(path));
    }
    let groups = group_changes(&scenarios);
    Ok(UpgradeReport {
        package: CLIENT_PACKAGE.into(),
        from: pinned.to_string(),
        to: version.to_string(),
        check,
        moved_pins: env.moved_pins,
        scenarios,
        groups,
        written,
    })
}

/// The rust subject's transcripts kept by the child run (`<dir>/rust/<scenario>.txt`).
fn read_rust_transcripts(dir: &Path) -> BTreeMap<String, String> {
    let mut transcripts = BTreeMap::new();
    for entry in std::fs::read_dir(dir.join("rust"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "txt")
            && let (Some(stem), Ok(text)) = (
                path.file_stem().and_then(|s| s.to_str()),
                std::fs::read_to_string(&path),
            )
        {
            transcripts.insert(stem.to_owned(), text);
        }
    }
    transcripts
}

/// The golden file re-recorded: its own header with `client_version` set to `version` (every
/// other line as insta wrote it), then the new transcript.
fn restamped(file: &str, body: &str, transcript: &str, version: &Version) -> String {
    let header = file.strip_suffix(body).unwrap_or(file);
    let header: String = header
        .split_inclusive('\n')
        .map(
            |line| match line.trim_start().strip_prefix("client_version:") {
                Some(_) => {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    format!("{indent}client_version: {version}\n")
                }
                None => line.to_owned(),
            },
        )
        .collect();
    format!("{header}{}\n", transcript.trim_end())
}

/// `requirements.txt` with the client pinned to `version` (comments and other lines kept).
pub(crate) fn repinned_requirements(text: &str, version: &Version) -> String {
    let prefix = format!("{CLIENT_PACKAGE}==");
    text.split_inclusive('\n')
        .map(|line| {
            if line.trim_start().starts_with(&prefix) {
                format!("{prefix}{version}\n")
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// The (normalized) names of the packages a requirements file pins with `==`.
fn pinned_names(requirements: &str) -> BTreeSet<String> {
    requirements
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter_map(|line| line.split_once("=="))
        .map(|(name, _)| name.trim().to_lowercase().replace('_', "-"))
        .collect()
}

/// `constraints.txt` for the new release: every line kept in its place, the pins it does not
/// allow set to what it installs, and the packages it installs that nothing pinned before
/// appended (sorted), so the file's diff shows only what moved.
pub(crate) fn repinned_constraints(
    text: &str,
    moved: &[MovedPin],
    installed: &BTreeMap<String, String>,
) -> String {
    let key = |name: &str| name.to_lowercase().replace('_', "-");
    let moved: BTreeMap<String, &str> = moved
        .iter()
        .filter_map(|pin| Some((key(&pin.package), pin.installed.as_deref()?)))
        .collect();
    let mut pinned = BTreeSet::new();
    let mut out = String::new();
    for line in text.lines() {
        match line.split_once("==") {
            Some((name, version)) if !line.trim_start().starts_with('#') => {
                let name = name.trim();
                pinned.insert(key(name));
                let version = moved.get(&key(name)).map_or(version.trim(), |v| v);
                out.push_str(&format!("{name}=={version}\n"));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    let skip = [CLIENT_PACKAGE, "pip", "setuptools", "wheel"];
    let mut new: Vec<(&String, &String)> = installed
        .iter()
        .filter(|(name, _)| !skip.contains(&key(name).as_str()) && !pinned.contains(&key(name)))
        .collect();
    new.sort_by_key(|(name, _)| key(name));
    for (name, version) in new {
        out.push_str(&format!("{name}=={version}\n"));
    }
    out
}

/// What `pip freeze` says is installed in the venv at `venv`.
fn freeze(venv: &Path) -> Result<BTreeMap<String, String>, DriftError> {
    let python = venv.join("bin/python");
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "freeze",
            "--all",
            "--disable-pip-version-check",
        ])
        .output()
        .map_err(|e| {
            DriftError(format!(
                "cannot run {} -m pip freeze: {e}",
                python.display()
            ))
        })?;
    if !output.status.success() {
        return Err(DriftError(format!(
            "pip freeze in {} failed: {}",
            venv.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once("=="))
        .map(|(name, version)| (name.trim().to_owned(), version.trim().to_owned()))
        .collect())
}

/// The changed scenarios grouped by the kinds of record lines their diffs change.
fn group_changes(scenarios: &[ScenarioUpgrade]) -> Vec<ChangeGroup> {
    let mut groups: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new();
    for scenario in scenarios {
        if let Some(diff) = &scenario.diff {
            groups
                .entry(change_kinds(diff))
                .or_default()
                .push(scenario.scenario.clone());
        }
    }
    let mut groups: Vec<ChangeGroup> = groups
        .into_iter()
        .map(|(kinds, scenarios)| ChangeGroup { kinds, scenarios })
        .collect();
    // The largest first: what most scenarios have in common is what to read first.
    groups.sort_by_key(|group| std::cmp::Reverse(group.scenarios.len()));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_pin_moves_and_nothing_else_does() {
        let text = "# The reference client.\nopenai-agents==0.24.0\n-c constraints.txt\nopentelemetry-sdk==1.45.2\n";
        let moved = repinned_requirements(text, &Version::parse("0.25.0").unwrap());
        assert_eq!(
            moved,
            "# The reference client.\nopenai-agents==0.25.0\n-c constraints.txt\nopentelemetry-sdk==1.45.2\n"
        );
    }

    #[test]
    fn constraints_keep_every_pin_but_the_moved_ones_and_gain_new_packages() {
        let text = "# Frozen.\nanyio==4.16.0\ncertifi==2026.10.18\ncharset-normalizer==3.5.2\n";
        let moved = [MovedPin {
            package: "certifi".into(),
            pinned: "2026.10.18".into(),
            installed: Some("2026.10.19.post1".into()),
        }];
        let installed: BTreeMap<String, String> = [
            ("anyio", "4.17.0"),
            ("certifi", "2026.10.19.post1"),
            ("charset_normalizer", "3.5.2"),
            ("openai-agents", "0.25.0"),
            ("pip", "23.2.1"),
            ("zstandard", "0.1.0"),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(
            repinned_constraints(text, &moved, &installed),
            "# Frozen.\nanyio==4.16.0\ncertifi==2026.10.19.post1\ncharset-normalizer==3.5.2\nzstandard==0.1.0\n"
        );
    }

    #[test]
    fn a_restamped_golden_keeps_its_header_but_the_version() {
        let file = "---\nsource: harness/../golden/check.rs\ninfo:\n  scenario: tool_call\n  client: openai-agents\n  client_version: 0.24.0\n  normalizer_version: 4\n---\nold body\n";
        let text = restamped(
            file,
            "old body\n",
            "new body\n",
            &Version::parse("0.25.0").unwrap(),
        );
        assert_eq!(
            text,
            "---\nsource: harness/../golden/check.rs\ninfo:\n  scenario: tool_call\n  client: openai-agents\n  client_version: 0.25.0\n  normalizer_version: 4\n---\nnew body\n"
        );
    }
}
