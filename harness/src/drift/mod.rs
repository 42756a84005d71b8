//! Upstream drift (DESIGN §10, `docs/drift.md`): the goldens were recorded with the pinned
//! client; `parity drift` runs a newer (or older) release against them, beside the rust subject,
//! and `parity bisect` names the release at which each scenario's transcript changed.
//!
//! * `versions.rs`: released versions from the package index, and the pinned one.
//! * `client.rs`: one version's requirements (project pins kept where it allows them) and venv.
//! * `child.rs`: running one version in a child `parity run`.
//! * `classify.rs`: drift per scenario (clean, upstream drift, parity break, both).
//! * `bisect.rs`: histories over a range of releases.
//! * `upgrade.rs`: moving the reference client (pending goldens, pins, what changed).
//! * `report.rs`: text, JSON and markdown.

mod bisect;
mod child;
mod classify;
mod client;
mod report;
mod upgrade;
mod versions;

use std::path::PathBuf;

pub use bisect::{BisectReport, ScenarioHistory, VersionOutcome};
pub use classify::{Classification, DriftReport, ScenarioDrift};
pub use client::MovedPin;
pub use report::{DriftFormat, write_bisect, write_drift, write_upgrade};
pub use upgrade::{ChangeGroup, ScenarioUpgrade, UpgradeReport, upgrade};
pub use versions::{Version, pinned_version, released_versions};

use crate::workspace::Workspace;

/// Why drift or bisect could not run: bad usage, or an environment that cannot be built
/// (exit 2).
#[derive(Debug)]
pub struct DriftError(pub String);

/// Resolves `latest` or a version number against the package index.
pub fn resolve_version(spec: &str) -> Result<Version, DriftError> {
    let released = released_versions().map_err(|e| DriftError(e.to_string()))?;
    if spec == "latest" {
        return released
            .last()
            .cloned()
            .ok_or_else(|| DriftError("the package index lists no release".into()));
    }
    let version = Version::parse(spec).ok_or_else(|| {
        DriftError(format!(
            "{spec:?} is not a version such as 0.24.0 or `latest`"
        ))
    })?;
    if !released.contains(&version) {
        return Err(DriftError(format!(
            "{version} is not a released version of {}",
            crate::subject::python::CLIENT_PACKAGE
        )));
    }
    Ok(version)
}

/// Like [`resolve_version`], without asking the package index when it need not: the pinned
/// version, and a version whose environment `.parity/clients/` already holds, are known
/// releases (so an upgrade to an installed client works offline).
pub fn resolve_known_version(workspace: &Workspace, spec: &str) -> Result<Version, DriftError> {
    if let Some(version) = Version::parse(spec) {
        let pinned = pinned_version(workspace).ok();
        let prepared = workspace
            .state_dir()
            .join("clients")
            .join(format!(
                "{}-{version}",
                crate::subject::python::CLIENT_PACKAGE
            ))
            .join("requirements.txt")
            .is_file();
        if pinned.as_ref() == Some(&version) || prepared {
            return Ok(version);
        }
    }
    resolve_version(spec)
}

/// `parity drift`: runs `version` (python and rust) against the goldens.
pub fn drift(
    workspace: &Workspace,
    version: &Version,
    filters: &[String],
) -> Result<DriftReport, DriftError> {
    let pinned = pinned_version(workspace).map_err(|e| DriftError(e.to_string()))?;
    let env =
        client::prepare(workspace, version, &pinned).map_err(|e| DriftError(e.to_string()))?;
    let report = child::run_version(workspace, &env, &["python", "rust"], filters, None)
        .map_err(DriftError)?;
    Ok(DriftReport::new(
        &pinned,
        version,
        env.moved_pins,
        &report.results,
    ))
}

/// Bisects the scenarios of `report` that drifted, between the pinned and the drifted
/// release, and fills in their `first_release`.
pub fn fill_first_releases(
    workspace: &Workspace,
    report: &mut DriftReport,
) -> Result<(), DriftError> {
    let drifted: Vec<String> = report
        .scenarios
        .iter()
        .filter(|s| {
            matches!(
                s.classification,
                Classification::UpstreamDrift | Classification::Both
            )
        })
        .map(|s| s.scenario.clone())
        .collect();
    let (Some(pinned), Some(client)) = (
        Version::parse(&report.pinned_version),
        Version::parse(&report.client_version),
    ) else {
        return Ok(());
    };
    if drifted.is_empty() || pinned == client {
        return Ok(());
    }
    let bisected = bisect(workspace, &pinned, &client, &drifted)?;
    for scenario in &mut report.scenarios {
        if let Some(history) = bisected
            .scenarios
            .iter()
            .find(|h| h.scenario == scenario.scenario)
        {
            // Going forward from the pinned release, the first change; going back to an older
            // release, the last change (the release the goldens' behaviour started with).
            scenario.first_release = if pinned <= client {
                history.first_release.clone()
            } else {
                history.changes.last().map(|c| c.to.clone())
            };
        }
    }
    Ok(())
}

/// `parity bisect`: runs every release from `from` to `to` (python only) and compares
/// consecutive transcripts per scenario. Versions that cannot be installed or started are
/// reported and skipped.
pub fn bisect(
    workspace: &Workspace,
    from: &Version,
    to: &Version,
    filters: &[String],
) -> Result<BisectReport, DriftError> {
    let released = released_versions().map_err(|e| DriftError(e.to_string()))?;
    let versions = bisect::versions_between(&released, from, to).map_err(DriftError)?;
    let pinned = pinned_version(workspace).map_err(|e| DriftError(e.to_string()))?;
    let mut outcomes = Vec::new();
    let mut runs = Vec::new();
    for version in &versions {
        let dir: PathBuf = workspace.state_dir().join("bisect").join(version.as_str());
        let _ = std::fs::remove_dir_all(&dir);
        let outcome = client::prepare(workspace, version, &pinned)
            .map_err(|e| e.to_string())
            .and_then(|env| {
                child::run_version(workspace, &env, &["python"], filters, Some(&dir))
                    .map(|_| env.moved_pins)
            });
        match outcome {
            Ok(moved) => {
                runs.push((version.to_string(), bisect::read_transcripts(&dir)));
                outcomes.push(VersionOutcome {
                    version: version.to_string(),
                    skipped: None,
                    moved_pins: moved.iter().map(ToString::to_string).collect(),
                });
            }
            Err(reason) => outcomes.push(VersionOutcome {
                version: version.to_string(),
                skipped: Some(reason),
                moved_pins: Vec::new(),
            }),
        }
    }
    Ok(BisectReport {
        package: crate::subject::python::CLIENT_PACKAGE.into(),
        from: from.to_string(),
        to: to.to_string(),
        versions: outcomes,
        scenarios: bisect::histories(&runs),
    })
}
