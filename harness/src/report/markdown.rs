//! The markdown report: a summary line and a table of every cell, failures' diffs folded.

use std::io::{self, Write};

use crate::runner::RunReport;

/// Writes `report` as markdown.
pub fn write_markdown(mut out: impl Write, report: &RunReport) -> io::Result<()> {
    writeln!(out, "## Parity report")?;
    writeln!(out)?;
    writeln!(
        out,
        "{} `{}`, normalizer v{}: **{}**",
        report.python_client.package,
        report.client_version_label(),
        report.normalizer_version,
        report.summary_counts(),
    )?;
    writeln!(out)?;
    writeln!(out, "| scenario | subject | status | message |")?;
    writeln!(out, "|---|---|---|---|")?;
    for result in &report.results {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            result.scenario,
            result.subject,
            result.status.as_str(),
            escape_cell(&result.message)
        )?;
    }
    let problems: Vec<_> = report.matrix_problems().collect();
    if !problems.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Parity matrix mismatches")?;
        writeln!(out)?;
        for verdict in problems {
            writeln!(
                out,
                "- `{}` / {}: declared {}; {}",
                verdict.feature,
                verdict.subject,
                verdict.declared,
                escape_cell(&verdict.message)
            )?;
        }
    }
    for result in report.results.iter().filter(|r| r.diff.is_some()) {
        writeln!(out)?;
        writeln!(
            out,
            "<details><summary>{} / {}: first difference at <code>{}</code></summary>\n\n```diff\n{}```\n</details>",
            result.scenario,
            result.subject,
            escape_html(result.first_difference.as_deref().unwrap_or_default()),
            result.diff.as_deref().unwrap_or_default()
        )?;
    }
    Ok(())
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}
