//! The terminal report: one line per finished cell, the diff under each failure, a summary.

use std::io::{self, Write};

use crate::result::{CellResult, Status};
use crate::runner::{ParityEvent, RunReport};

/// Streams cells to a writer as they finish.
#[derive(Debug)]
pub struct TextReporter<W> {
    out: W,
}

impl<W: Write> TextReporter<W> {
    /// A reporter writing to `out`.
    pub fn new(out: W) -> Self {
        TextReporter { out }
    }

    /// Handles one runner event.
    pub fn report(&mut self, event: &ParityEvent<'_>) -> io::Result<()> {
        match event {
            ParityEvent::CellStarted { .. } => Ok(()),
            ParityEvent::CellFinished(result) => self.cell(result),
        }
    }

    fn cell(&mut self, result: &CellResult) -> io::Result<()> {
        let label = match result.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Deviation => "DEVIATES",
            Status::Error => "ERROR",
            Status::New => "NEW",
            Status::Skipped => "SKIPPED",
        };
        write!(
            self.out,
            "{label:<8} {:<8} {}",
            result.subject, result.scenario
        )?;
        if result.message.is_empty() {
            writeln!(self.out)?;
        } else {
            writeln!(self.out, ": {}", indent_after_first(&result.message))?;
        }
        if let Some(path) = &result.first_difference {
            writeln!(self.out, "    first difference: {path}")?;
        }
        if let Some(diff) = &result.diff {
            for line in diff.lines() {
                writeln!(self.out, "    {line}")?;
            }
        }
        Ok(())
    }

    /// Writes the matrix cells that disagree with the run, then the closing summary.
    pub fn finish(&mut self, report: &RunReport) -> io::Result<()> {
        for verdict in report.matrix_problems() {
            writeln!(
                self.out,
                "MATRIX   {} / {}: declared {}; {}",
                verdict.feature, verdict.subject, verdict.declared, verdict.message
            )?;
        }
        writeln!(
            self.out,
            "\n{} cells ({} client {}): {}",
            report.results.len(),
            report.python_client.package,
            report.client_version_label(),
            report.summary_counts(),
        )
    }
}

fn indent_after_first(message: &str) -> String {
    message.replace('\n', "\n    ")
}
