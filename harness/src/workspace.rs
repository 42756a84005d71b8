//! Where the harness finds its files: the workspace root and the folders under it.

use std::path::{Path, PathBuf};

/// Paths of one workspace checkout.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    venv: PathBuf,
}

impl Workspace {
    /// The checkout this binary was built from (the harness is a development tool that always runs
    /// from its own checkout). `PARITY_ROOT` overrides it, e.g. for tests on a copied tree.
    pub fn current() -> Workspace {
        let root = match std::env::var_os("PARITY_ROOT") {
            Some(root) if !root.is_empty() => PathBuf::from(root),
            _ => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the harness crate lives inside the workspace")
                .to_path_buf(),
        };
        let workspace = Workspace::at(root);
        match std::env::var_os("PARITY_VENV") {
            Some(dir) if !dir.is_empty() => workspace.with_venv(PathBuf::from(dir)),
            _ => workspace,
        }
    }

    /// The workspace at `root`, with its own venv (`.parity/venv`); reads no environment
    /// variable.
    pub fn at(root: PathBuf) -> Workspace {
        let venv = root.join(".parity/venv");
        Workspace { root, venv }
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
