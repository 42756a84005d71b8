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
            if path.is_file()
                && path.extension().is_some_and(|e| e == "toml")
                && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
            {
                paths.insert(stem.to_owned(), path.clone());
            }
        }
        if paths.is_empty() {
            return Err(DiscoverScenariosError::Empty {
                dir: dir.to_path_buf(),
            });
        }
        Ok(ScenarioPaths { paths })
    }

    /// Keeps the scenarios whose name matches one of `filters` (exact names or globs such as
    /// `tool_*`); no filters keeps all. A filter that matches nothing is an error.
    pub fn select(self, filters: &[String]) -> Result<ScenarioPaths, DiscoverScenariosError> {
        if filters.is_empty() {
            return Ok(self);
        }
        let mut selected = BTreeMap::new();
        for filter in filters {
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
