//! Golden snapshots: `golden/<scenario>.snap` in insta's file format.
//!
//! The golden tests (`golden/check.rs`) write and review these files through insta itself
//! (`cargo insta review`). This module reads them for the `parity` CLI and compares them the way
//! insta does (trailing whitespace trimmed, CRLF as LF). It writes only *new* goldens, for
//! scenarios that have none: a pending `<scenario>.snap.new` for `cargo insta review`, or, on
//! explicit request (`--accept-new`), the golden itself ([`GoldenStore`]). An existing golden is
//! never rewritten here.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::diff::diff;
pub use super::diff::normalize_for_compare;
use crate::errors::{CheckGoldenError, ReadGoldenError};
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

/// What a run does with the python transcript of a scenario that has no golden yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewGoldens {
    /// Write it as a pending `<scenario>.snap.new` beside where the golden would go, for
    /// `cargo insta review` (the default outside CI).
    Pending,
    /// Write it as the golden (`--accept-new`).
    Accept,
    /// Write nothing (the default with `CI` set, as insta does).
    Keep,
}

impl NewGoldens {
    /// The default: [`NewGoldens::Keep`] in CI, [`NewGoldens::Pending`] elsewhere.
    pub fn default_for(ci: bool) -> NewGoldens {
        if ci {
            NewGoldens::Keep
        } else {
            NewGoldens::Pending
        }
    }
}

/// Whether `CI` is set to something other than empty, `0` or `false` (insta's rule).
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Where a set of scenarios keeps its goldens, and what happens to new ones.
///
/// The project's scenarios use `golden/`; a scenario folder from elsewhere keeps its goldens in
/// its own `golden/` subfolder, so that its `handoff.toml` is never compared with the project's
/// unrelated `golden/handoff.snap`.
#[derive(Debug, Clone)]
pub struct GoldenStore {
    dir: PathBuf,
    new_goldens: NewGoldens,
}

impl GoldenStore {
    /// Goldens in `dir`; new ones handled as `new_goldens` says.
    pub fn new(dir: PathBuf, new_goldens: NewGoldens) -> GoldenStore {
        GoldenStore { dir, new_goldens }
    }

    /// The folder of the goldens.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What happens to new goldens.
    pub fn new_goldens(&self) -> NewGoldens {
        self.new_goldens
    }

    /// The golden file of `scenario`.
    pub fn path(&self, scenario: &str) -> PathBuf {
        golden_path(&self.dir, scenario)
    }

    /// Records the reference transcript of a scenario without a golden, as [`NewGoldens`] says;
    /// returns the file written, if any. Never overwrites an existing golden.
    pub fn record_new(&self, info: &GoldenInfo, transcript: &str) -> io::Result<Option<PathBuf>> {
        let golden = self.path(&info.scenario);
        let target = match self.new_goldens {
            NewGoldens::Keep => return Ok(None),
            NewGoldens::Pending => pending_path(&golden),
            NewGoldens::Accept => golden.clone(),
        };
        std::fs::create_dir_all(&self.dir)?;
        let text = snapshot_text(info, transcript);
        if self.new_goldens == NewGoldens::Accept {
            // `create_new`: a golden that appeared meanwhile is not overwritten.
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&target)?;
            file.write_all(text.as_bytes())?;
            let _ = std::fs::remove_file(pending_path(&golden));
        } else {
            std::fs::write(&target, text)?;
        }
        Ok(Some(target))
    }
}

/// insta's name for a pending snapshot: the golden's path plus `.new`.
pub fn pending_path(golden: &Path) -> PathBuf {
    let mut name = golden.as_os_str().to_owned();
    name.push(".new");
    PathBuf::from(name)
}

/// A snapshot file in insta's format: a `---` fenced YAML header (the `info:` mapping that the
/// golden tests record too), then the body.
fn snapshot_text(info: &GoldenInfo, body: &str) -> String {
    // JSON strings are valid YAML double-quoted scalars.
    let quote = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let mut text = String::from("---\nsource: parity run\ninfo:\n");
    text.push_str(&format!("  scenario: {}\n", quote(&info.scenario)));
    text.push_str(&format!("  description: {}\n", quote(&info.description)));
    text.push_str(&format!("  client: {}\n", quote(&info.client)));
    text.push_str(&format!(
        "  client_version: {}\n",
        quote(&info.client_version)
    ));
    text.push_str(&format!(
        "  normalizer_version: {}\n",
        info.normalizer_version
    ));
    text.push_str("---\n");
    text.push_str(body.trim_end());
    text.push('\n');
    text
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
            let value = value.trim();
            // insta quotes some values; a JSON-quoted value is read back exactly.
            let value = serde_json::from_str::<String>(value)
                .unwrap_or_else(|_| value.trim_matches('"').trim_matches('\'').to_owned());
            info.push((key.trim().to_owned(), value));
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
) -> Result<(), CheckGoldenError> {
    let golden = read_golden(path)?.ok_or_else(|| CheckGoldenError::Missing {
        shown: shown.to_owned(),
    })?;
    match diff(&golden.body, shown, transcript, subject) {
        None => Ok(()),
        Some(diff) => Err(CheckGoldenError::Differs {
            subject: subject.to_owned(),
            shown: shown.to_owned(),
            version_hint: golden.version_hint(),
            diff,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = "---\nsource: harness/../golden/check.rs\ninfo:\n  scenario: tool_call\n  client_version: 0.24.0\n  normalizer_version: 5\n---\nnormalizer: v1\n--- events\n";

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
        let old = GOLDEN.replace("normalizer_version: 5", "normalizer_version: 0");
        let golden = parse_golden(Path::new("golden/x.snap"), &old).unwrap();
        assert_eq!(
            golden.version_hint(),
            " (it was recorded with normalizer v0, this is v5: re-record and review the goldens)"
        );
    }

    #[test]
    fn new_goldens_are_pending_snapshots_that_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let info = GoldenInfo {
            scenario: "x".into(),
            description: "Says \"hi\": twice.".into(),
            client: "openai-agents".into(),
            client_version: "0.24.0".into(),
            normalizer_version: NORMALIZER_VERSION,
        };
        let store = GoldenStore::new(dir.path().join("golden"), NewGoldens::Pending);
        let written = store
            .record_new(&info, "normalizer: v1\n")
            .unwrap()
            .unwrap();
        assert_eq!(written, dir.path().join("golden/x.snap.new"));
        let golden = parse_golden(&written, &std::fs::read_to_string(&written).unwrap()).unwrap();
        assert_eq!(golden.contents(), "normalizer: v1");
        assert_eq!(
            golden.info_value("description"),
            Some("Says \"hi\": twice.")
        );
        assert!(read_golden(&store.path("x")).unwrap().is_none());

        let store = GoldenStore::new(dir.path().join("golden"), NewGoldens::Accept);
        store.record_new(&info, "normalizer: v1\n").unwrap();
        assert!(read_golden(&store.path("x")).unwrap().is_some());
        assert!(!written.exists(), "the pending file is gone once accepted");
        // An existing golden is never overwritten.
        assert!(store.record_new(&info, "other\n").is_err());
        let keep = GoldenStore::new(dir.path().join("golden"), NewGoldens::Keep);
        assert_eq!(keep.record_new(&info, "x").unwrap(), None);
    }

    #[test]
    fn insta_reads_our_new_goldens_as_its_own() {
        // What `cargo insta review`/`accept` parse: the header and the contents, in insta's
        // own reader (accepting with cargo-insta 1.49 was also checked by hand, docs/runbook.md).
        let dir = tempfile::tempdir().unwrap();
        let info = GoldenInfo {
            scenario: "tool_call".into(),
            description: "One call: then \"text\".".into(),
            client: "openai-agents".into(),
            client_version: "0.24.0".into(),
            normalizer_version: NORMALIZER_VERSION,
        };
        let body = "normalizer: v2\n--- events\nnone\n";
        let store = GoldenStore::new(dir.path().to_path_buf(), NewGoldens::Pending);
        let pending = store.record_new(&info, body).unwrap().unwrap();
        let snapshot = insta::Snapshot::from_file(&pending).unwrap();
        assert_eq!(snapshot.metadata().source(), Some("parity run"));
        let insta::internals::SnapshotContents::Text(text) = snapshot.contents() else {
            panic!("a text snapshot");
        };
        assert_eq!(text.to_string(), body.trim_end());
        let info_text = format!("{:?}", snapshot.metadata().private_info());
        assert!(
            info_text.contains("One call: then \\\"text\\\"."),
            "{info_text}"
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
