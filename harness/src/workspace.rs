//! Where the harness finds its files: the workspace root and the folders under it.

use std::path::{Path, PathBuf};

/// The file that marks a workspace root, as `Cargo.toml` marks a cargo package: `parity` walks
/// up from the current directory to the first folder that holds it.
pub const WORKSPACE_MARKER: &str = "parity-matrix.toml";

/// Paths of one workspace checkout.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    venv: PathBuf,
    origin: Origin,
}

/// How a [`Workspace`] was chosen, for `parity doctor` and for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `PARITY_ROOT` named it.
    Env,
    /// Found by walking up from this directory (the current one).
    Discovered(PathBuf),
    /// Given by the caller ([`Workspace::at`]).
    Given,
}

/// Why no workspace could be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindWorkspaceError {
    /// `PARITY_ROOT` names a folder without the marker.
    #[error(
        "PARITY_ROOT={} is not a parity workspace: it has no {WORKSPACE_MARKER}; point PARITY_ROOT at a checkout of the project (the folder with {WORKSPACE_MARKER} and Cargo.toml), or unset it to use the checkout you are in",
        .0.display()
    )]
    NotAWorkspace(PathBuf),
    /// Neither the current directory nor any folder above it holds the marker.
    #[error(
        "{} is not inside a parity workspace: neither it nor any folder above it has {WORKSPACE_MARKER}; cd into a checkout of the project, or set PARITY_ROOT to one",
        .0.display()
    )]
    NotFound(PathBuf),
    /// The current directory cannot be read.
    #[error(
        "cannot read the current directory ({0}); cd somewhere that exists, or set PARITY_ROOT"
    )]
    NoCurrentDir(String),
}

impl Workspace {
    /// The workspace this process works in, found as cargo finds a package: `PARITY_ROOT` if
    /// set (it must be a workspace), else the nearest folder at or above the current directory
    /// that holds [`WORKSPACE_MARKER`]. `PARITY_VENV` overrides the venv.
    pub fn find() -> Result<Workspace, FindWorkspaceError> {
        let workspace = match std::env::var_os("PARITY_ROOT") {
            Some(root) if !root.is_empty() => {
                let root = PathBuf::from(root);
                if !root.join(WORKSPACE_MARKER).is_file() {
                    return Err(FindWorkspaceError::NotAWorkspace(root));
                }
                Workspace {
                    origin: Origin::Env,
                    ..Workspace::at(root)
                }
            }
            _ => {
                let cwd = std::env::current_dir()
                    .map_err(|e| FindWorkspaceError::NoCurrentDir(e.to_string()))?;
                Workspace::discover(&cwd)?
            }
        };
        Ok(match std::env::var_os("PARITY_VENV") {
            Some(dir) if !dir.is_empty() => workspace.with_venv(PathBuf::from(dir)),
            _ => workspace,
        })
    }

    /// The nearest workspace at or above `dir`; reads no environment variable.
    pub fn discover(dir: &Path) -> Result<Workspace, FindWorkspaceError> {
        let root = dir
            .ancestors()
            .find(|folder| folder.join(WORKSPACE_MARKER).is_file())
            .ok_or_else(|| FindWorkspaceError::NotFound(dir.to_path_buf()))?;
        Ok(Workspace {
            origin: Origin::Discovered(dir.to_path_buf()),
            ..Workspace::at(root.to_path_buf())
        })
    }

    /// [`Workspace::find`] for tests and benchmarks, which cargo runs inside the checkout (in
    /// their package's folder); panics with the reason when there is none.
    pub fn current() -> Workspace {
        Workspace::find().unwrap_or_else(|e| panic!("{e}"))
    }

    /// How this workspace was chosen, as `parity doctor` says it.
    pub fn origin_label(&self) -> String {
        match &self.origin {
            Origin::Env => "named by PARITY_ROOT".into(),
            Origin::Discovered(dir) if dir == &self.root => {
                format!("the current directory has {WORKSPACE_MARKER}")
            }
            Origin::Discovered(dir) => format!(
                "found from the current directory {} ({WORKSPACE_MARKER} above it)",
                dir.display()
            ),
            Origin::Given => "given".into(),
        }
    }

    /// The workspace at `root`, with its own venv (`.parity/venv`); reads no environment
    /// variable.
    pub fn at(root: PathBuf) -> Workspace {
        let venv = root.join(".parity/venv");
        Workspace {
            root,
            venv,
            origin: Origin::Given,
        }
    }

    /// The same workspace using the virtualenv `dir` (e.g. a scratch copy sharing the
    /// checkout's venv).
    pub fn with_venv(self, dir: PathBuf) -> Workspace {
        Workspace { venv: dir, ..self }
    }

    /// The workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `scenarios/`.
    pub fn scenarios_dir(&self) -> PathBuf {
        self.root.join("scenarios")
    }

    /// `golden/`.
    pub fn golden_dir(&self) -> PathBuf {
        self.root.join("golden")
    }

    /// `parity-matrix.toml`: features × subjects.
    pub fn matrix_path(&self) -> PathBuf {
        self.root.join("parity-matrix.toml")
    }

    /// `coverage.toml`: behaviours → the matrix features that cover them.
    pub fn coverage_path(&self) -> PathBuf {
        self.root.join("coverage.toml")
    }

    /// `differential-coverage.json`: the summary of a differential run, rendered into
    /// `docs/coverage.md`.
    pub fn differential_summary_path(&self) -> PathBuf {
        self.root.join("differential-coverage.json")
    }

    /// `docs/coverage.md`: the coverage map rendered for people.
    pub fn coverage_doc(&self) -> PathBuf {
        self.root.join("docs/coverage.md")
    }

    /// `docs/parity.md`: the matrix rendered for people.
    pub fn parity_doc(&self) -> PathBuf {
        self.root.join("docs/parity.md")
    }

    /// The requirements of the python subject's venv: `PARITY_REQUIREMENTS` (set by
    /// `parity drift` and `parity bisect` for another client version), or
    /// `harness/python/requirements.txt`, the pinned client the goldens were recorded with.
    pub fn requirements(&self) -> PathBuf {
        match std::env::var_os("PARITY_REQUIREMENTS") {
            Some(path) if !path.is_empty() => PathBuf::from(path),
            _ => self.pinned_requirements(),
        }
    }

    /// `harness/python/requirements.txt`: the pinned Python client.
    pub fn pinned_requirements(&self) -> PathBuf {
        self.root.join("harness/python/requirements.txt")
    }

    /// `harness/python/constraints.txt`: the pinned dependencies of the client.
    pub fn pinned_constraints(&self) -> PathBuf {
        self.root.join("harness/python/constraints.txt")
    }

    /// `.parity/`: the harness's own state (venvs, per-version client environments).
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".parity")
    }

    /// The virtualenv of the python subject: `PARITY_VENV`, or `.parity/venv` in the workspace.
    pub fn venv_dir(&self) -> PathBuf {
        self.venv.clone()
    }

    /// Shows `path` relative to the root when it is inside it, so messages carry no machine path.
    pub fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_workspace_is_found_from_any_folder_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("checkout");
        let deep = root.join("harness/src");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(root.join(WORKSPACE_MARKER), "").unwrap();
        let found = Workspace::discover(&deep).unwrap();
        assert_eq!(found.root(), root);
        assert!(found.origin_label().contains("harness/src"));
        assert_eq!(Workspace::discover(&root).unwrap().root(), root);
        assert!(
            Workspace::discover(&root)
                .unwrap()
                .origin_label()
                .contains("the current directory has parity-matrix.toml")
        );
    }

    #[test]
    fn outside_any_workspace_the_error_says_where_it_looked_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let error = Workspace::discover(dir.path()).unwrap_err().to_string();
        assert!(error.contains(&dir.path().display().to_string()), "{error}");
        assert!(error.contains("parity-matrix.toml"), "{error}");
        assert!(error.contains("PARITY_ROOT"), "{error}");
    }
}
