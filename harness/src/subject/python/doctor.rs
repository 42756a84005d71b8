//! `parity doctor`: what Python the harness embeds, which venv it uses, and whether they agree.

use std::fmt;
use std::path::Path;

use crate::workspace::Workspace;

use super::embed::{self, interpreter_facts, loaded_libpython};
use super::venv::{self, BUILD_PYTHON, BUILD_PYTHON_LIBDIR, BUILD_PYTHON_VERSION};

/// The doctor's findings: facts to print and problems to fix.
#[derive(Debug, Clone, Default)]
pub struct Doctor {
    /// `(label, value)` facts, in display order.
    pub facts: Vec<(String, String)>,
    /// Problems, each with its fix.
    pub problems: Vec<String>,
}

impl Doctor {
    fn fact(&mut self, label: &str, value: impl Into<String>) {
        self.facts.push((label.to_owned(), value.into()));
    }
}

impl fmt::Display for Doctor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.facts.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        for (label, value) in &self.facts {
            writeln!(f, "{label:width$}  {value}")?;
        }
        if self.problems.is_empty() {
            writeln!(f, "\nno problems found")
        } else {
            writeln!(f, "\n{} problem(s):", self.problems.len())?;
            for problem in &self.problems {
                writeln!(f, "- {problem}")?;
            }
            Ok(())
        }
    }
}

/// Inspects the build-time interpreter, the embedded one, the venv and the installed client.
/// Creates nothing: a missing venv is a problem to report, not to fix here.
pub fn doctor(workspace: &Workspace) -> Doctor {
    let mut doctor = Doctor::default();
    doctor.fact(
        "built against python",
        format!("{BUILD_PYTHON} ({BUILD_PYTHON_VERSION})"),
    );
    doctor.fact("built against libdir", BUILD_PYTHON_LIBDIR);

    match interpreter_facts() {
        Ok(facts) => {
            doctor.fact("embedded python", &facts.version);
            doctor.fact("embedded sys.prefix", &facts.prefix);
            doctor.fact("embedded sys.base_prefix", &facts.base_prefix);
            if !facts
                .version
                .starts_with(&format!("{BUILD_PYTHON_VERSION}."))
            {
                doctor.problems.push(format!(
                    "the embedded interpreter is Python {} but the harness was built against {BUILD_PYTHON_VERSION}; rebuild with `cargo clean -p parity-harness` and the intended python3 on PATH (or PYO3_PYTHON)",
                    facts.version
                ));
            }
            check_venv(workspace, &mut doctor, Some(&facts.version));
        }
        Err(error) => {
            doctor
                .problems
                .push(format!("cannot start the embedded interpreter:\n{error}"));
            check_venv(workspace, &mut doctor, None);
        }
    }

    match loaded_libpython() {
        Some(lib) => {
            doctor.fact("loaded libpython", &lib);
            if !BUILD_PYTHON_LIBDIR.is_empty()
                && Path::new(&lib).parent() != Some(Path::new(BUILD_PYTHON_LIBDIR))
            {
                doctor.problems.push(format!(
                    "the process loaded {lib}, not the libpython in {BUILD_PYTHON_LIBDIR} it was built against (is LD_LIBRARY_PATH set?); the embedded interpreter may not match the venv"
                ));
            }
        }
        None => doctor.fact(
            "loaded libpython",
            "(statically linked or not found in /proc/self/maps)",
        ),
    }
    for var in ["PYTHONHOME", "PYTHONPATH"] {
        if let Some(value) = std::env::var_os(var) {
            doctor.problems.push(format!(
                "{var} is set ({}); it changes what the embedded interpreter imports; unset it",
                value.to_string_lossy()
            ));
        }
    }
    doctor
}

fn check_venv(workspace: &Workspace, doctor: &mut Doctor, embedded_version: Option<&str>) {
    let dir = workspace.venv_dir();
    doctor.fact("venv", workspace.display(&dir));
    let venv = match venv::existing(workspace) {
        Ok(Some(venv)) => venv,
        Ok(None) => {
            doctor.problems.push(
                "the venv is missing or out of date; run `parity setup` (it is also created on first use)".into(),
            );
            return;
        }
        Err(error) => {
            doctor.problems.push(error.to_string());
            return;
        }
    };
    let home = venv.home().unwrap_or_default();
    doctor.fact("venv made from", &home);
    let build_home = Path::new(BUILD_PYTHON)
        .parent()
        .map(|p| p.display().to_string());
    if build_home.as_deref() != Some(home.as_str()) {
        doctor.problems.push(format!(
            "the venv was made from {home}, not from the interpreter the harness embeds ({BUILD_PYTHON}); run `parity setup --force`"
        ));
    }
    if let Some(version) = venv.python_version() {
        doctor.fact("venv python", &version);
        if let Some(embedded) = embedded_version
            && embedded != version
        {
            doctor.problems.push(format!(
                    "the venv is Python {version} but the embedded interpreter is {embedded}; run `parity setup --force`"
                ));
        }
    }
    match embed::embedded(workspace) {
        Ok(embedded) => doctor.fact("openai-agents", &embedded.client_version),
        Err(error) => doctor.problems.push(error.to_string()),
    }
}
