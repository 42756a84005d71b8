//! Drift and bisect reports: text for people, JSON (schema in `docs/drift.md`), markdown for
//! `$GITHUB_STEP_SUMMARY`.

use std::io::{self, Write};

use super::bisect::BisectReport;
use super::classify::{Classification, DriftReport};
use super::upgrade::UpgradeReport;
use serde::Serialize;

/// The formats of `parity drift` and `parity bisect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftFormat {
    /// Lines for people, with diffs.
    Text,
    /// One JSON object (`docs/drift.md`).
    Json,
    /// A summary and a table for `$GITHUB_STEP_SUMMARY`.
    Markdown,
}

fn write_json(mut out: impl Write, report: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, report)?;
    writeln!(out)
}

/// Writes a drift report in `format`.
pub fn write_drift(
    mut out: impl Write,
    report: &DriftReport,
    format: DriftFormat,
) -> io::Result<()> {
    match format {
        DriftFormat::Json => write_json(out, report),
        DriftFormat::Markdown => {
            writeln!(
                out,
                "## Upstream drift: {} {} against goldens recorded with {}\n",
                report.package, report.client_version, report.pinned_version
            )?;
            writeln!(out, "{}\n", summary(report))?;
            if !report.moved_pins.is_empty() {
                writeln!(
                    out,
                    "Pins that had to move for {}:\n",
                    report.client_version
                )?;
                for pin in &report.moved_pins {
                    writeln!(
                        out,
                        "- `{}` {} → {}",
                        pin.package,
                        pin.pinned,
                        pin.installed.as_deref().unwrap_or("?")
                    )?;
                }
                writeln!(out)?;
            }
            writeln!(
                out,
                "| scenario | classification | first release | first difference |"
            )?;
            writeln!(out, "|---|---|---|---|")?;
            for s in report
                .scenarios
                .iter()
                .filter(|s| s.classification != Classification::Clean)
            {
                writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    s.scenario,
                    s.classification.as_str(),
                    s.first_release.as_deref().unwrap_or("–"),
                    cell(s.first_difference.as_deref().unwrap_or(&s.message))
                )?;
            }
            Ok(())
        }
        DriftFormat::Text => {
            for s in &report.scenarios {
                writeln!(
                    out,
                    "{:<15} {}",
                    s.classification.as_str().to_uppercase(),
                    s.scenario
                )?;
                if let Some(path) = &s.first_difference {
                    writeln!(out, "    first difference: {path}")?;
                }
                if let Some(release) = &s.first_release {
                    writeln!(out, "    first release: {release}")?;
                }
                if s.classification == Classification::Error {
                    writeln!(out, "    {}", s.message.replace('\n', "\n    "))?;
                }
            }
            for pin in &report.moved_pins {
                writeln!(out, "moved pin: {pin}")?;
            }
            writeln!(out, "\n{}", summary(report))
        }
    }
}

fn summary(report: &DriftReport) -> String {
    let counts: Vec<String> = report
        .summary
        .iter()
        .map(|(class, n)| format!("{n} {class}"))
        .collect();
    format!(
        "{} {} vs goldens ({}): {}",
        report.package,
        report.client_version,
        report.pinned_version,
        counts.join(", ")
    )
}

/// Writes a bisect report in `format`.
pub fn write_bisect(
    mut out: impl Write,
    report: &BisectReport,
    format: DriftFormat,
) -> io::Result<()> {
    match format {
        DriftFormat::Json => write_json(out, report),
        DriftFormat::Markdown => {
            writeln!(
                out,
                "## Bisect: {} {} → {}\n",
                report.package, report.from, report.to
            )?;
            for v in &report.versions {
                match &v.skipped {
                    Some(reason) => writeln!(out, "- {}: skipped ({})", v.version, cell(reason))?,
                    None => writeln!(out, "- {}: ran", v.version)?,
                }
            }
            writeln!(out, "\n| scenario | first release | first difference |")?;
            writeln!(out, "|---|---|---|")?;
            for s in report
                .scenarios
                .iter()
                .filter(|s| s.first_release.is_some())
            {
                let change = &s.changes[0];
                writeln!(
                    out,
                    "| {} | {} (from {}) | {} |",
                    s.scenario,
                    change.to,
                    change.from,
                    cell(&change.first_difference)
                )?;
            }
            Ok(())
        }
        DriftFormat::Text => {
            for v in &report.versions {
                match &v.skipped {
                    Some(reason) => writeln!(out, "SKIPPED  {}: {reason}", v.version)?,
                    None if v.moved_pins.is_empty() => writeln!(out, "RAN      {}", v.version)?,
                    None => writeln!(
                        out,
                        "RAN      {} (moved pins: {})",
                        v.version,
                        v.moved_pins.join(", ")
                    )?,
                }
            }
            let mut changed = 0;
            for s in &report.scenarios {
                for change in &s.changes {
                    changed += 1;
                    writeln!(
                        out,
                        "CHANGED  {} at {} (from {}): {}",
                        s.scenario, change.to, change.from, change.first_difference
                    )?;
                    for line in change.diff.lines() {
                        writeln!(out, "    {line}")?;
                    }
                }
            }
            writeln!(
                out,
                "\n{} scenarios over {} releases {}..{}: {} changes",
                report.scenarios.len(),
                report.versions.len(),
                report.from,
                report.to,
                changed
            )
        }
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

/// Writes an upgrade report in `format` (markdown: the text in a fenced block is not useful;
/// it is the text with headings).
pub fn write_upgrade(
    mut out: impl Write,
    report: &UpgradeReport,
    format: DriftFormat,
) -> io::Result<()> {
    if format == DriftFormat::Json {
        return write_json(out, report);
    }
    let heading = if format == DriftFormat::Markdown {
        "## "
    } else {
        ""
    };
    let changed: Vec<_> = report
        .scenarios
        .iter()
        .filter(|s| s.change == "changed")
        .collect();
    let errors: Vec<_> = report
        .scenarios
        .iter()
        .filter(|s| s.change == "error")
        .collect();
    writeln!(
        out,
        "{heading}{} {} -> {}: {} of {} transcripts change, {} unchanged, {} could not run",
        report.package,
        report.from,
        report.to,
        changed.len(),
        report.scenarios.len(),
        report.scenarios.len() - changed.len() - errors.len(),
        errors.len()
    )?;
    for pin in &report.moved_pins {
        writeln!(out, "moved pin: {pin}")?;
    }
    for (index, group) in report.groups.iter().enumerate() {
        writeln!(
            out,
            "\n{heading}CHANGE {}: {} scenario(s) change {}",
            index + 1,
            group.scenarios.len(),
            group.kinds.join(", ")
        )?;
        writeln!(out, "  {}", group.scenarios.join(", "))?;
        // One diff per group: the others change the same kinds of lines.
        if let Some(example) = report
            .scenarios
            .iter()
            .find(|s| s.scenario == group.scenarios[0])
        {
            writeln!(
                out,
                "  e.g. {}: {}",
                example.scenario,
                example.detail.as_deref().unwrap_or_default()
            )?;
            for line in example.diff.as_deref().unwrap_or_default().lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    for error in &errors {
        writeln!(
            out,
            "\nERROR {}: {}",
            error.scenario,
            error.detail.as_deref().unwrap_or_default()
        )?;
    }
    let rust: Vec<_> = report
        .scenarios
        .iter()
        .filter_map(|s| Some((s, s.rust_differs.as_deref()?)))
        .collect();
    writeln!(
        out,
        "\n{heading}rust: {} cell(s) will differ from the new goldens{}",
        rust.len(),
        if rust.is_empty() {
            ""
        } else {
            " (fix codex-telemetry, or declare them in the matrix):"
        }
    )?;
    for (scenario, first) in rust {
        writeln!(out, "  {}: {first}", scenario.scenario)?;
    }
    let verb = if report.check { "would write" } else { "wrote" };
    if report.written.is_empty() {
        writeln!(
            out,
            "\nnothing new to write: the pending goldens and the pins are already what {} gives",
            report.to
        )?;
    } else {
        let pending = report
            .written
            .iter()
            .filter(|p| p.ends_with(".snap.new"))
            .count();
        writeln!(
            out,
            "\n{verb} {pending} pending golden(s) (golden/*.snap.new) and {}",
            report
                .written
                .iter()
                .filter(|p| !p.ends_with(".snap.new"))
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(
        out,
        "next: `cargo insta review` (or `cargo insta accept`), `cargo test --workspace` (re-records the OTLP goldens as pending too), bring codex-telemetry along, `parity matrix fix`, `parity matrix render` (docs/drift.md, \"Upgrading the reference client\")"
    )
}
