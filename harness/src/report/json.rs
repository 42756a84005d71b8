//! The JSON report (DESIGN §8, a contract): one object with `python_client`,
//! `normalizer_version`, `subjects`, `results` (`scenario`, `subject`, `status`, `golden`,
//! `message`, and `diff` for failures) and `summary` (counts per status).

use std::io::{self, Write};

use crate::runner::RunReport;

/// Writes `report` as one pretty-printed JSON object and a newline.
pub fn write_json(mut out: impl Write, report: &RunReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut out, report)?;
    writeln!(out)
}
