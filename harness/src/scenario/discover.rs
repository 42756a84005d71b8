//! Finding scenario files in a directory and selecting them by name or glob.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::errors::{DiscoverScenariosError, LoadScenarioError};

use super::{Scenario, load_scenario};

/// The scenario files of a directory, keyed by scenario name (file stem), sorted by name.
#[derive(Debug, Clone, Default)]
pub struct ScenarioPaths {
    paths: BTreeMap<String, PathBuf>,
}

impl ScenarioPaths {
    /// Lists `*.toml` files directly inside `dir`.
    pub fn discover(dir: &Path) -> Result<ScenarioPaths, DiscoverScenariosError> {
        let entries = std::fs::read_dir(dir).map_err(|source| DiscoverScenariosError::ReadDir {
            dir: dir.to_path_buf(),
            source,
        })?;
        let mut paths = BTreeMap::new();
        for entry in entries {
            let path = entry
                .map_err(|source| DiscoverScenariosError::ReadDir {
                    dir: dir.to_path_buf(),
                    source,
                })?
                .path();
            if !(path.is_file() && path.extension().is_some_and(|e| e == "toml")) {
                continue;
            }
            // A name that is not UTF-8 cannot name a scenario; skipping it would hide a file.
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                return Err(DiscoverScenariosError::NonUtf8Name { path });
            };
            paths.insert(stem.to_owned(), path.clone());
        }
        if paths.is_empty() {
            return Err(DiscoverScenariosError::Empty {
                dir: dir.to_path_buf(),
            });
        }
        Ok(ScenarioPaths { paths })
    }

    /// Keeps the scenarios whose name matches one of `filters` (exact names or globs such as
    /// `tool_*`; a filter that is an existing name selects that scenario and is not read as a
    /// glob); no filters keeps all. A filter that matches nothing is an error.
    pub fn select(self, filters: &[String]) -> Result<ScenarioPaths, DiscoverScenariosError> {
        if filters.is_empty() {
            return Ok(self);
        }
        let mut selected = BTreeMap::new();
        for filter in filters {
            // A name that exists is that scenario, even if it reads as a glob (`a[1]`).
            if let Some(path) = self.paths.get(filter) {
                selected.insert(filter.clone(), path.clone());
                continue;
            }
            let pattern =
                glob::Pattern::new(filter).map_err(|e| DiscoverScenariosError::BadFilter {
                    filter: filter.clone(),
                    message: e.to_string(),
                })?;
            let mut matched = false;
            for (name, path) in &self.paths {
                if pattern.matches(name) {
                    matched = true;
                    selected.insert(name.clone(), path.clone());
                }
            }
            if !matched {
                return Err(DiscoverScenariosError::NoMatch {
                    filter: filter.clone(),
                    known: self.paths.keys().cloned().collect(),
                });
            }
        }
        Ok(ScenarioPaths { paths: selected })
    }

    /// Slice `k` of `n` (1-based): the scenarios at positions `k-1`, `k-1+n`, … in name order, as
    /// nextest's `count:K/N` partitions. The slices of `1..=n` cover every scenario once.
    pub fn partition(self, k: usize, n: usize) -> ScenarioPaths {
        ScenarioPaths {
            paths: self
                .paths
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % n == k - 1)
                .map(|(_, entry)| entry)
                .collect(),
        }
    }

    /// Loads every selected scenario; all load errors are returned together so that one run
    /// reports every broken file.
    pub fn load_all(&self) -> Result<Vec<Scenario>, Vec<LoadScenarioError>> {
        let mut scenarios = Vec::new();
        let mut errors = Vec::new();
        for path in self.paths.values() {
            match load_scenario(path) {
                Ok(scenario) => scenarios.push(scenario),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(scenarios)
        } else {
            Err(errors)
        }
    }

    /// Scenario names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.paths.keys().map(String::as_str)
    }

    /// The path of the scenario called `name`.
    pub fn get(&self, name: &str) -> Option<&Path> {
        self.paths.get(name).map(PathBuf::as_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(names: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            std::fs::write(dir.path().join(name), "# x\n").unwrap();
        }
        dir
    }

    #[test]
    fn an_existing_name_is_not_read_as_a_glob() {
        let dir = dir_with(&["a[1].toml", "a1.toml", "b.toml"]);
        let paths = ScenarioPaths::discover(dir.path()).unwrap();
        let literal = paths.clone().select(&["a[1]".into()]).unwrap();
        assert_eq!(literal.names().collect::<Vec<_>>(), ["a[1]"]);
        let glob = paths.select(&["a*".into()]).unwrap();
        assert_eq!(glob.names().collect::<Vec<_>>(), ["a1", "a[1]"]);
    }

    #[test]
    fn partitions_cover_every_scenario_once() {
        let dir = dir_with(&["a.toml", "b.toml", "c.toml", "d.toml", "e.toml"]);
        let paths = ScenarioPaths::discover(dir.path()).unwrap();
        let slices: Vec<Vec<String>> = (1..=3)
            .map(|k| {
                paths
                    .clone()
                    .partition(k, 3)
                    .names()
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        assert_eq!(slices, [vec!["a", "d"], vec!["b", "e"], vec!["c"]]);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_name_that_is_not_utf8_is_reported() {
        use std::os::unix::ffi::OsStrExt;
        let dir = dir_with(&["ok.toml"]);
        let name = std::ffi::OsStr::from_bytes(b"bad\xff.toml");
        std::fs::write(dir.path().join(name), "# x\n").unwrap();
        let err = ScenarioPaths::discover(dir.path()).unwrap_err().to_string();
        assert!(err.contains("bad\u{fffd}.toml"), "{err}");
        assert!(err.contains("not valid UTF-8"), "{err}");
    }
}
