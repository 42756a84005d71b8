//! Golden snapshots: `golden/<scenario>.snap` in insta's file format.
//!
//! The golden tests (`golden/check.rs`) write and review these files through insta itself
//! (`cargo insta review`); this module only reads them, for the `parity` CLI, and compares them the
//! way insta does (trailing whitespace trimmed, CRLF as LF). Nothing here ever writes a golden.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::errors::ReadGoldenError;
use crate::normalize::NORMALIZER_VERSION;

/// The metadata a golden records about how it was produced (insta's `info:` header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoldenInfo {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's one-line description.
    pub description: String,
    /// The reference client package, `openai-agents`.
    pub client: String,
    /// Its version.
    pub client_version: String,
    /// The normalizer version that rendered the transcript.
    pub normalizer_version: u32,
}

/// A golden snapshot read from disk.
#[derive(Debug, Clone)]
pub struct Golden {
    /// The file.
    pub path: PathBuf,
    /// `info:` fields as written (`key -> value`), empty when the header has none.
    pub info: Vec<(String, String)>,
    /// The snapshot body: the reference transcript.
    pub body: String,
}

/// The golden file of `scenario` in `golden_dir`.
pub fn golden_path(golden_dir: &Path, scenario: &str) -> PathBuf {
    golden_dir.join(format!("{scenario}.snap"))
}

/// Reads the golden at `path`; `Ok(None)` when there is none.
pub fn read_golden(path: &Path) -> Result<Option<Golden>, ReadGoldenError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ReadGoldenError {
                path: path.to_path_buf(),
                message: format!("cannot read the golden: {e}"),
            });
        }
    };
    parse_golden(path, &text).map(Some)
}

fn parse_golden(path: &Path, text: &str) -> Result<Golden, ReadGoldenError> {
    let corrupt = |what: &str| ReadGoldenError {
        path: path.to_path_buf(),
        message: format!(
            "not a valid insta snapshot: {what}; restore it with `git checkout -- {}` or delete it and re-record it (`cargo test --workspace`, then `cargo insta review`)",
            path.display()
        ),
    };
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return Err(corrupt("the first line must be `---`"));
    }
    let mut header = Vec::new();
    let mut closed = false;
    for line in lines.by_ref() {
        if line.trim_end() == "---" {
            closed = true;
            break;
        }
        header.push(line.trim_end());
    }
    if !closed {
        return Err(corrupt("the `---` line that closes the header is missing"));
    }
    let body: String = lines.collect();
    Ok(Golden {
        path: path.to_path_buf(),
        info: parse_info(&header),
        body,
    })
}

/// The `info:` mapping of insta's YAML header: `  key: value` lines after `info:`.
fn parse_info(header: &[&str]) -> Vec<(String, String)> {
    let mut info = Vec::new();
    let mut in_info = false;
    for line in header {
        if !line.starts_with(' ') {
            in_info = line.trim() == "info:";
            continue;
        }
        if in_info && let Some((key, value)) = line.trim().split_once(':') {
            let value = value.trim().trim_matches('"').trim_matches('\'');
            info.push((key.trim().to_owned(), value.to_owned()));
        }
    }
    info
}

impl Golden {
    /// An `info:` field's value.
    pub fn info_value(&self, key: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A note for failure messages when the golden was rendered by another normalizer version
    /// (its first lines then differ for that reason alone); empty otherwise.
    pub fn version_hint(&self) -> String {
        match self.info_value("normalizer_version") {
            Some(version) if version != NORMALIZER_VERSION.to_string() => format!(
                " (it was recorded with normalizer v{version}, this is v{NORMALIZER_VERSION}: re-record and review the goldens)"
            ),
            _ => String::new(),
        }
    }

    /// The body as insta compares it.
    pub fn contents(&self) -> String {
        normalize_for_compare(&self.body)
    }
}

/// Compares the `subject`'s `transcript` with the golden at `path` (`shown` in messages) without
/// ever writing one: `Err` says why they differ, with a unified diff, or that the golden is
/// missing or unreadable.
pub fn check_against_golden(
    path: &Path,
    shown: &str,
    transcript: &str,
    subject: &str,
) -> Result<(), String> {
    let golden = read_golden(path)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no golden at {shown}: record the python transcript first"))?;
    match crate::compare::diff(&golden.body, shown, transcript, subject) {
        None => Ok(()),
        Some(diff) => Err(format!(
            "the {subject} transcript differs from {shown}{}:\n{diff}",
            golden.version_hint()
        )),
    }
}

/// Text as insta compares snapshot contents: trailing whitespace trimmed, CRLF as LF.
pub fn normalize_for_compare(text: &str) -> String {
    text.trim_end().replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = "---\nsource: harness/../golden/check.rs\ninfo:\n  scenario: tool_call\n  client_version: 0.24.0\n  normalizer_version: 1\n---\nnormalizer: v1\n--- events\n";

    #[test]
    fn reads_body_and_info() {
        let golden = parse_golden(Path::new("golden/tool_call.snap"), GOLDEN).unwrap();
        assert_eq!(golden.contents(), "normalizer: v1\n--- events");
        assert_eq!(golden.info_value("client_version"), Some("0.24.0"));
        assert_eq!(golden.info_value("scenario"), Some("tool_call"));
        assert_eq!(golden.info_value("source"), None);
    }

    #[test]
    fn corrupt_golden_names_the_file_and_the_fix() {
        let err = parse_golden(Path::new("golden/x.snap"), "normalizer: v1\n").unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("golden/x.snap: not a valid insta snapshot"),
            "{message}"
        );
        assert!(
            message.contains("git checkout -- golden/x.snap"),
            "{message}"
        );
        let err = parse_golden(Path::new("golden/x.snap"), "---\nsource: x\nbody\n").unwrap_err();
        assert!(err.to_string().contains("closes the header is missing"));
    }

    #[test]
    fn a_golden_of_another_normalizer_version_says_so() {
        let golden = parse_golden(Path::new("golden/x.snap"), GOLDEN).unwrap();
        assert_eq!(golden.version_hint(), "");
        let old = GOLDEN.replace("normalizer_version: 1", "normalizer_version: 0");
        let golden = parse_golden(Path::new("golden/x.snap"), &old).unwrap();
        assert_eq!(
            golden.version_hint(),
            " (it was recorded with normalizer v0, this is v1: re-record and review the goldens)"
        );
    }

    #[test]
    fn missing_golden_is_none() {
        assert!(
            read_golden(Path::new("does/not/exist.snap"))
                .unwrap()
                .is_none()
        );
    }
}
