//! The environment of the js subject (issue 13): Node.js
//! 20 or newer, and OpenAI's JS Agents SDK installed with `npm ci` from `harness/js/`
//! (`package.json` and `package-lock.json` pin `@openai/agents` 0.20.0 and its dependencies)
//! into `.parity/js/`, with progress on stderr, then reused. As for the Python venv, a stamp
//! records what was installed (the two files and the Node version) and a lock file serializes
//! installs, so two processes never run npm into one directory.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::notice::notice;
use crate::workspace::Workspace;

const STAMP_FILE: &str = "parity-stamp.txt";
/// The oldest Node.js major version the pinned SDK runs on here.
pub const MIN_NODE_MAJOR: u32 = 20;

/// Why the js environment is not there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsEnvError(pub String);

/// Node.js as found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `node --version`, e.g. `v20.20.2`.
    pub version: String,
    /// Its major version.
    pub major: u32,
}

/// The installed SDK.
#[derive(Debug, Clone)]
pub struct JsEnv {
    dir: PathBuf,
}

impl JsEnv {
    /// The install directory (`.parity/js`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The installed `@openai/agents` version.
    pub fn sdk_version(&self) -> Option<String> {
        package_version(&self.dir, "@openai/agents")
    }
}

/// `node --version`, or why Node.js cannot be used.
pub fn node() -> Result<Node, JsEnvError> {
    let output = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| JsEnvError(format!("Node.js was not found on PATH ({e}): the js subject needs Node.js {MIN_NODE_MAJOR} or newer")))?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| {
            JsEnvError(format!(
                "`node --version` printed {version:?}, not a version"
            ))
        })?;
    if major < MIN_NODE_MAJOR {
        return Err(JsEnvError(format!(
            "Node.js {version} is too old: the js subject needs Node.js {MIN_NODE_MAJOR} or newer"
        )));
    }
    Ok(Node { version, major })
}

fn install_dir(workspace: &Workspace) -> PathBuf {
    workspace.state_dir().join("js")
}

fn pinned_files(workspace: &Workspace) -> Result<(String, String), JsEnvError> {
    let read = |name: &str| {
        let path = workspace.root().join("harness/js").join(name);
        fs::read_to_string(&path)
            .map_err(|e| JsEnvError(format!("cannot read {}: {e}", workspace.display(&path))))
    };
    Ok((read("package.json")?, read("package-lock.json")?))
}

fn expected_stamp(node: &Node, package: &str, lock: &str) -> String {
    format!(
        "node={}\n--- package.json\n{package}\n--- package-lock.json\n{lock}",
        node.version
    )
}

/// The installed environment when it matches the pinned files and this Node; `None` when it
/// needs (re)installing.
pub fn existing(workspace: &Workspace) -> Result<Option<JsEnv>, JsEnvError> {
    let node = node()?;
    let (package, lock) = pinned_files(workspace)?;
    let dir = install_dir(workspace);
    let ready = fs::read_to_string(dir.join(STAMP_FILE))
        .is_ok_and(|stamp| stamp == expected_stamp(&node, &package, &lock));
    Ok(ready.then_some(JsEnv { dir }))
}

/// The installed environment, installing it first if needed (`force`: always).
pub fn ensure(workspace: &Workspace, force: bool) -> Result<JsEnv, JsEnvError> {
    if !force && let Some(env) = existing(workspace)? {
        return Ok(env);
    }
    let node = node()?;
    let (package, lock) = pinned_files(workspace)?;
    let dir = install_dir(workspace);
    fs::create_dir_all(workspace.state_dir()).map_err(|e| {
        JsEnvError(format!(
            "cannot create {}: {e}",
            workspace.display(&workspace.state_dir())
        ))
    })?;
    let lock_path = dir.with_extension("lock");
    let lock_file = File::create(&lock_path).map_err(|e| {
        JsEnvError(format!(
            "cannot create {}: {e}",
            workspace.display(&lock_path)
        ))
    })?;
    if lock_file.try_lock().is_err() {
        notice(&format!(
            "waiting for another process to finish installing the JS SDK (lock {})",
            workspace.display(&lock_path)
        ));
        lock_file.lock().map_err(|e| {
            JsEnvError(format!(
                "cannot lock {}: {e}",
                workspace.display(&lock_path)
            ))
        })?;
    }
    if !force && let Some(env) = existing(workspace)? {
        return Ok(env);
    }
    notice(&format!(
        "installing the JS Agents SDK into {} with npm ci (Node {}; first use only)",
        workspace.display(&dir),
        node.version
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)
        .map_err(|e| JsEnvError(format!("cannot create {}: {e}", workspace.display(&dir))))?;
    for (name, text) in [("package.json", &package), ("package-lock.json", &lock)] {
        fs::write(dir.join(name), text).map_err(|e| {
            JsEnvError(format!(
                "cannot write {}: {e}",
                workspace.display(&dir.join(name))
            ))
        })?;
    }
    // npm's own progress and errors go to stderr as they happen.
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=warn"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| JsEnvError(format!("cannot run npm ({e}): install npm with Node.js")))?;
    if !status.success() {
        return Err(JsEnvError(format!(
            "`npm ci` in {} failed ({status}): see its output above; the npm registry must be reachable",
            workspace.display(&dir)
        )));
    }
    fs::write(dir.join(STAMP_FILE), expected_stamp(&node, &package, &lock)).map_err(|e| {
        JsEnvError(format!(
            "cannot write the stamp in {}: {e}",
            workspace.display(&dir)
        ))
    })?;
    let env = JsEnv { dir };
    notice(&format!(
        "JS Agents SDK ready: @openai/agents {}",
        env.sdk_version().unwrap_or_else(|| "?".into())
    ));
    Ok(env)
}

fn package_version(dir: &Path, package: &str) -> Option<String> {
    let text =
        fs::read_to_string(dir.join("node_modules").join(package).join("package.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["version"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_files_pin_the_sdk_exactly() {
        let workspace = Workspace::current();
        let (package, lock) = pinned_files(&workspace).unwrap();
        let package: serde_json::Value = serde_json::from_str(&package).unwrap();
        assert_eq!(package["dependencies"]["@openai/agents"], "0.20.0");
        let lock: serde_json::Value = serde_json::from_str(&lock).unwrap();
        for (name, version) in [
            ("@openai/agents", "0.20.0"),
            ("@openai/agents-core", "0.20.0"),
            ("openai", "7.59.0"),
        ] {
            assert_eq!(
                lock["packages"][format!("node_modules/{name}")]["version"],
                version,
                "{name}"
            );
        }
    }

    #[test]
    fn the_stamp_changes_with_node_and_the_lock() {
        let node = Node {
            version: "v20.1.0".into(),
            major: 20,
        };
        let newer = Node {
            version: "v22.0.0".into(),
            major: 22,
        };
        assert_ne!(
            expected_stamp(&node, "p", "l"),
            expected_stamp(&newer, "p", "l")
        );
        assert_ne!(
            expected_stamp(&node, "p", "l"),
            expected_stamp(&node, "p", "l2")
        );
    }
}
