//! The python subject's virtualenv: created on first use from the interpreter pyo3 was built
//! against, filled from `harness/python/requirements.txt`, then reused.
//!
//! A stamp file records what the venv was made from (interpreter and requirements); a venv whose
//! stamp does not match is rebuilt. A lock file serializes bootstraps, so two test binaries that
//! start at once do not both run pip into the same directory.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::errors::PythonEnvError;
use crate::notice::notice;
use crate::workspace::Workspace;

/// The interpreter pyo3 was built against (baked in by `build.rs`).
pub const BUILD_PYTHON: &str = env!("PARITY_BUILD_PYTHON");
/// That interpreter's `LIBDIR`, which the binaries' rpath points at.
pub const BUILD_PYTHON_LIBDIR: &str = env!("PARITY_BUILD_PYTHON_LIBDIR");
/// That interpreter's `major.minor` version.
pub const BUILD_PYTHON_VERSION: &str = env!("PARITY_BUILD_PYTHON_VERSION");

const STAMP_FILE: &str = "parity-stamp.txt";

/// A ready virtualenv.
#[derive(Debug, Clone)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// The venv directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The venv's `site-packages` directory.
    pub fn site_packages(&self) -> PathBuf {
        self.dir
            .join("lib")
            .join(format!("python{BUILD_PYTHON_VERSION}"))
            .join("site-packages")
    }

    /// The venv's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// `home` from `pyvenv.cfg`: the directory of the interpreter the venv was made from.
    pub fn home(&self) -> Option<String> {
        self.cfg_value(&["home"])
    }

    /// The Python version the venv was made with (`version`, or `version_info` in newer
    /// `pyvenv.cfg` files).
    pub fn python_version(&self) -> Option<String> {
        self.cfg_value(&["version", "version_info"])
    }

    /// The first of `keys` found in `pyvenv.cfg`.
    fn cfg_value(&self, keys: &[&str]) -> Option<String> {
        let cfg = fs::read_to_string(self.dir.join("pyvenv.cfg")).ok()?;
        cfg.lines().find_map(|line| {
            let (key, value) = line.split_once('=')?;
            keys.contains(&key.trim()).then(|| value.trim().to_owned())
        })
    }
}

/// What a venv must have been built from to be reused.
fn expected_stamp(requirements: &str) -> String {
    format!("python={BUILD_PYTHON}\n--- requirements\n{requirements}")
}

/// Returns the venv if it is ready, without creating anything.
pub fn existing(workspace: &Workspace) -> Result<Option<Venv>, PythonEnvError> {
    let requirements = read_requirements(workspace)?;
    let venv = Venv {
        dir: workspace.venv_dir(),
    };
    Ok(is_ready(&venv, &requirements).then_some(venv))
}

/// Returns the ready venv, creating or rebuilding it first when needed (with progress on stderr).
/// `force` rebuilds it even when it looks ready.
pub fn ensure(workspace: &Workspace, force: bool) -> Result<Venv, PythonEnvError> {
    if BUILD_PYTHON.is_empty() {
        return Err(PythonEnvError::new(
            "this binary was built without knowing its Python interpreter; rebuild with PYO3_PYTHON=/path/to/python3.11",
        ));
    }
    let requirements = read_requirements(workspace)?;
    let venv = Venv {
        dir: workspace.venv_dir(),
    };
    if !force && is_ready(&venv, &requirements) {
        return Ok(venv);
    }
    let parent = venv.dir.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent)
        .map_err(|e| PythonEnvError::new(format!("cannot create {}: {e}", parent.display())))?;
    let lock_path = venv.dir.with_extension("lock");
    let lock = File::create(&lock_path).map_err(|e| {
        PythonEnvError::new(format!(
            "cannot create lock file {}: {e}",
            lock_path.display()
        ))
    })?;
    if lock.try_lock().is_err() {
        notice(&format!(
            "waiting for another process to finish setting up Python (lock {})",
            workspace.display(&lock_path)
        ));
        lock.lock().map_err(|e| {
            PythonEnvError::new(format!("cannot lock {}: {e}", lock_path.display()))
        })?;
    }
    // Whoever held the lock before us may have finished the job.
    if !force && is_ready(&venv, &requirements) {
        return Ok(venv);
    }
    build(workspace, &venv, &requirements)?;
    // The lock is released when `lock` is dropped.
    drop(lock);
    Ok(venv)
}

/// The requirements text followed by every file it includes with `-r`/`-c`, so that a change to
/// any of them (e.g. a re-frozen constraints file) makes the venv stale.
fn read_requirements(workspace: &Workspace) -> Result<String, PythonEnvError> {
    let path = workspace.requirements();
    let read = |path: &Path| {
        fs::read_to_string(path).map_err(|e| {
            PythonEnvError::new(format!(
                "cannot read {}: {e} (it pins the Python client the goldens were recorded with)",
                workspace.display(path)
            ))
        })
    };
    let requirements = read(&path)?;
    let mut all = requirements.clone();
    for line in requirements.lines() {
        let included = line
            .strip_prefix("-c ")
            .or_else(|| line.strip_prefix("-r "))
            .map(str::trim);
        if let Some(included) = included {
            let included_path = path.parent().unwrap_or(Path::new(".")).join(included);
            all.push_str(&format!("--- {included}\n"));
            all.push_str(&read(&included_path)?);
        }
    }
    Ok(all)
}

fn is_ready(venv: &Venv, requirements: &str) -> bool {
    fs::read_to_string(venv.dir.join(STAMP_FILE)).is_ok_and(|s| s == expected_stamp(requirements))
        && venv.site_packages().is_dir()
}

fn build(workspace: &Workspace, venv: &Venv, requirements: &str) -> Result<(), PythonEnvError> {
    let packages = pinned_packages(requirements).join(", ");
    let shown = workspace.display(&venv.dir);
    notice(&format!(
        "[1/2] creating the Python virtualenv {shown} with {BUILD_PYTHON} -m venv"
    ));
    // A stale stamp must not survive a half-finished rebuild.
    let _ = fs::remove_file(venv.dir.join(STAMP_FILE));
    run(
        Command::new(BUILD_PYTHON)
            .args(["-m", "venv", "--clear"])
            .arg(&venv.dir),
        "create the virtualenv",
    )?;
    let requirements_path = workspace.requirements();
    notice(&format!(
        "[2/2] installing {} into {shown} with pip (needs PyPI on first use)",
        packages
    ));
    run(
        Command::new(venv.python())
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--progress-bar",
                "on",
                "-r",
            ])
            .arg(&requirements_path),
        &format!(
            "install {} (is PyPI reachable? pip's output above says what failed)",
            packages
        ),
    )?;
    let mut stamp = File::create(venv.dir.join(STAMP_FILE))
        .map_err(|e| PythonEnvError::new(format!("cannot write the venv stamp: {e}")))?;
    stamp
        .write_all(expected_stamp(requirements).as_bytes())
        .map_err(|e| PythonEnvError::new(format!("cannot write the venv stamp: {e}")))?;
    notice(&format!("Python environment ready in {shown}"));
    Ok(())
}

/// Runs a setup command with its output shown on stderr (stdout may carry a JSON report).
fn run(command: &mut Command, what: &str) -> Result<(), PythonEnvError> {
    let status = command
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .stderr(std::io::stderr())
        .status()
        .map_err(|e| {
            PythonEnvError::new(format!(
                "could not {what}: cannot start {:?}: {e}",
                command.get_program()
            ))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(PythonEnvError::new(format!("could not {what}: {status}")))
    }
}

/// The requirement lines without comments, for messages.
fn pinned_packages(requirements: &str) -> Vec<&str> {
    requirements
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .take_while(|line| !line.starts_with("---"))
        .filter(|line| !line.is_empty() && !line.starts_with('-'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_packages_skip_comments() {
        let text = "# pinned\nopenai-agents==0.24.0  # reference\n-c constraints.txt\n--- constraints.txt\nopenai==3.52.0\n";
        assert_eq!(pinned_packages(text), vec!["openai-agents==0.24.0"]);
    }

    #[test]
    fn stamp_changes_with_requirements() {
        assert_ne!(expected_stamp("a==1"), expected_stamp("a==2"));
    }
}
