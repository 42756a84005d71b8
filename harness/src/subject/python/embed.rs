//! CPython embedded through pyo3: initialized once per process, pointed at the venv, with the
//! driver module (`harness/python/parity_driver.py`) loaded once and reused for every scenario.

use std::ffi::CString;
use std::sync::{Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyModule;

use crate::errors::PythonEnvError;
use crate::workspace::Workspace;

use super::venv::{self, Venv};

/// The driver's file, relative to the workspace root (also its name in Python tracebacks).
pub(crate) const DRIVER_PATH: &str = "harness/python/parity_driver.py";

/// The scripted stdio MCP server the driver starts for `[[mcp_servers]]`, relative to the root.
pub(crate) const MCP_SERVER_PATH: &str = "harness/python/parity_mcp_server.py";
/// The Python side of the benchmarks (`harness/benches`), loaded on first use.
pub(crate) const BENCH_PATH: &str = "harness/python/parity_bench.py";

/// The embedded interpreter with the driver loaded.
pub(crate) struct Embedded {
    driver: Py<PyModule>,
    /// The driver installs process-global SDK state (trace processors, log handlers, env) for the
    /// length of a scenario, so scenarios run one at a time even when callers are parallel.
    serial: Mutex<()>,
    /// The benchmark module, once loaded.
    bench: std::sync::OnceLock<Py<PyModule>>,
    /// `openai-agents` version installed in the venv.
    pub(crate) client_version: String,
    /// The venv and the driver source it was started with: a process embeds one of each.
    venv: std::path::PathBuf,
    driver_source: String,
}

static EMBEDDED: OnceLock<Result<Embedded, String>> = OnceLock::new();

/// Returns the process's embedded interpreter, bootstrapping the venv and CPython on first use.
pub(crate) fn embedded(workspace: &Workspace) -> Result<&'static Embedded, PythonEnvError> {
    let embedded = EMBEDDED
        .get_or_init(|| start(workspace).map_err(|e| e.message))
        .as_ref()
        .map_err(|message| PythonEnvError::new(message.clone()))?;
    // CPython starts once per process: another venv or another driver (a second workspace
    // run in-process) cannot be used here and must not be replaced silently.
    if embedded.venv != workspace.venv_dir() {
        return Err(PythonEnvError::new(format!(
            "this process already embeds the python of another venv; run {} in a process of its own",
            workspace.display(&workspace.venv_dir())
        )));
    }
    let source = std::fs::read_to_string(workspace.root().join(DRIVER_PATH)).unwrap_or_default();
    if embedded.driver_source != source {
        return Err(PythonEnvError::new(format!(
            "this process already loaded another {DRIVER_PATH}; run this workspace in a process of its own"
        )));
    }
    Ok(embedded)
}

/// The embedded interpreter if it has started successfully, without starting it.
pub(crate) fn started() -> Option<&'static Embedded> {
    EMBEDDED.get().and_then(|result| result.as_ref().ok())
}

fn start(workspace: &Workspace) -> Result<Embedded, PythonEnvError> {
    let venv = venv::ensure(workspace, false)?;
    let driver_path = workspace.root().join(DRIVER_PATH);
    let source = std::fs::read_to_string(&driver_path).map_err(|e| {
        PythonEnvError::new(format!("cannot read the python driver {DRIVER_PATH}: {e}"))
    })?;
    let source_text = source.clone();
    Python::initialize();
    Python::attach(|py| {
        use_venv(py, &venv)?;
        let source = CString::new(source)
            .map_err(|_| PythonEnvError::new(format!("{DRIVER_PATH} contains a NUL byte")))?;
        let file_name = CString::new(DRIVER_PATH).expect("constant has no NUL");
        let driver =
            PyModule::from_code(py, &source, &file_name, c"parity_driver").map_err(|e| {
                PythonEnvError::new(format!(
                    "cannot load {DRIVER_PATH}:\n{}",
                    format_exception(py, &e)
                ))
            })?;
        // The driver starts MCP servers as `<venv python> <server script>`: it has no path of
        // its own (loaded from source) and the embedded sys.executable is the harness.
        let server_script = workspace.root().join(MCP_SERVER_PATH);
        for (name, path) in [
            ("VENV_PYTHON", venv.python()),
            ("MCP_SERVER_SCRIPT", server_script),
        ] {
            driver
                .setattr(name, path.to_string_lossy().into_owned())
                .map_err(|e| {
                    PythonEnvError::new(format!(
                        "cannot set parity_driver.{name}:\n{}",
                        format_exception(py, &e)
                    ))
                })?;
        }
        let client_version: String = driver
            .call_method0("client_version")
            .and_then(|v| v.extract())
            .map_err(|e| {
                PythonEnvError::new(format!(
                    "cannot read the client version (is openai-agents installed in {}? run `parity setup`):\n{}",
                    workspace.display(venv.dir()),
                    format_exception(py, &e)
                ))
            })?;
        Ok(Embedded {
            driver: driver.unbind(),
            serial: Mutex::new(()),
            bench: std::sync::OnceLock::new(),
            client_version,
            venv: workspace.venv_dir(),
            driver_source: source_text,
        })
    })
}

/// Makes the embedded interpreter see the venv's packages and not the base interpreter's, as the
/// venv's own `python` would (`include-system-site-packages = false`).
fn use_venv(py: Python<'_>, venv: &Venv) -> Result<(), PythonEnvError> {
    let code = c"
import site, sys
def use_venv(site_packages):
    base = set(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        base.add(site.getusersitepackages())
    sys.path[:] = [p for p in sys.path if p not in base]
    site.addsitedir(site_packages)
";
    let module = PyModule::from_code(py, code, c"<parity-venv>", c"parity_venv").and_then(|m| {
        m.call_method1(
            "use_venv",
            (venv.site_packages().to_string_lossy().into_owned(),),
        )
    });
    module.map(|_| ()).map_err(|e| {
        PythonEnvError::new(format!(
            "cannot add the venv to sys.path:\n{}",
            format_exception(py, &e)
        ))
    })
}

impl Embedded {
    /// Calls `function(config, iterations)` of the benchmark module (loaded from `workspace`
    /// on first use) and returns its result, the elapsed nanoseconds it measured.
    pub(crate) fn bench(
        &self,
        workspace: &Workspace,
        function: &str,
        config: &str,
        iterations: u64,
    ) -> Result<u64, String> {
        let _serial = self
            .serial
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Python::attach(|py| {
            let module = match self.bench.get() {
                Some(module) => module.bind(py).clone(),
                None => {
                    let source = std::fs::read_to_string(workspace.root().join(BENCH_PATH))
                        .map_err(|e| format!("cannot read {BENCH_PATH}: {e}"))?;
                    let source = CString::new(source)
                        .map_err(|_| format!("{BENCH_PATH} contains a NUL byte"))?;
                    let file_name = CString::new(BENCH_PATH).expect("constant has no NUL");
                    let module = PyModule::from_code(py, &source, &file_name, c"parity_bench")
                        .map_err(|e| format_exception(py, &e))?;
                    let _ = self.bench.set(module.clone().unbind());
                    module
                }
            };
            module
                .call_method1(function, (config, iterations))
                .and_then(|v| v.extract::<u64>())
                .map_err(|e| format_exception(py, &e))
        })
    }

    /// Runs one scenario (its JSON) through the driver and returns the raw records' JSON.
    /// `Err` carries the Python traceback.
    /// With `otlp_endpoint`, the contrib OpenTelemetry instrumentation also exports every span
    /// to that OTLP/HTTP receiver.
    pub(crate) fn run_scenario(
        &self,
        scenario_json: &str,
        otlp_endpoint: Option<&str>,
    ) -> Result<String, String> {
        let _serial = self
            .serial
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Python::attach(|py| {
            self.driver
                .bind(py)
                .call_method1("run_scenario", (scenario_json, otlp_endpoint))
                .and_then(|v| v.extract::<String>())
                .map_err(|e| format_exception(py, &e))
        })
    }
}

#[cfg(test)]
impl Embedded {
    /// Runs `code` with `parity_driver` (the driver module) and `json` in its globals and returns
    /// the JSON text it leaves in `result`: tests ask the installed client about itself.
    pub(crate) fn eval_json(&self, code: &std::ffi::CStr) -> serde_json::Value {
        let _serial = self.serial.lock().unwrap_or_else(|p| p.into_inner());
        Python::attach(|py| {
            let globals = pyo3::types::PyDict::new(py);
            globals
                .set_item("parity_driver", self.driver.bind(py))
                .unwrap();
            globals
                .set_item("json", py.import("json").unwrap())
                .unwrap();
            py.run(code, Some(&globals), None)
                .unwrap_or_else(|e| panic!("{}", format_exception(py, &e)));
            let result: String = globals
                .get_item("result")
                .unwrap()
                .expect("the code sets `result`")
                .extract()
                .expect("`result` is JSON text");
            serde_json::from_str(&result).expect("`result` parses")
        })
    }
}

/// Facts about the embedded interpreter, for `parity doctor` (initializes CPython if needed, but
/// needs no venv).
pub(crate) fn interpreter_facts() -> Result<InterpreterFacts, String> {
    Python::initialize();
    Python::attach(|py| {
        let sys = py.import("sys").map_err(|e| format_exception(py, &e))?;
        let get = |name: &str| -> Result<String, String> {
            sys.getattr(name)
                .and_then(|v| v.str())
                .map(|s| s.to_string())
                .map_err(|e| format_exception(py, &e))
        };
        let version: (u32, u32, u32) = sys
            .getattr("version_info")
            .and_then(|v| {
                Ok((
                    v.getattr("major")?.extract()?,
                    v.getattr("minor")?.extract()?,
                    v.getattr("micro")?.extract()?,
                ))
            })
            .map_err(|e| format_exception(py, &e))?;
        Ok(InterpreterFacts {
            version: format!("{}.{}.{}", version.0, version.1, version.2),
            prefix: get("prefix")?,
            base_prefix: get("base_prefix")?,
        })
    })
}

/// What the embedded interpreter says about itself.
#[derive(Debug, Clone)]
pub(crate) struct InterpreterFacts {
    /// `major.minor.micro`.
    pub(crate) version: String,
    /// `sys.prefix`.
    pub(crate) prefix: String,
    /// `sys.base_prefix`.
    pub(crate) base_prefix: String,
}

/// The Python traceback of `error`, as Python prints it.
fn format_exception(py: Python<'_>, error: &PyErr) -> String {
    let formatted = py.import("traceback").and_then(|tb| {
        tb.call_method1("format_exception", (error.value(py),))
            .and_then(|lines| lines.extract::<Vec<String>>())
    });
    match formatted {
        Ok(lines) => lines.concat().trim_end().to_owned(),
        Err(_) => error.to_string(),
    }
}

/// The path of the `libpython` this process has loaded, from the dynamic loader's map.
pub(crate) fn loaded_libpython() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| {
            std::path::Path::new(path)
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libpython"))
        })
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness runs other subjects on other threads of the same process while a python
    /// scenario runs, so a scenario's `[env]` must reach the Python client without being written
    /// into the process environment.
    #[test]
    fn scenario_env_reaches_python_but_not_the_process_environment() {
        let embedded = embedded(&Workspace::current()).expect("the python subject starts");
        let code = c"
import ctypes, os
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
with parity_driver._isolated_process_state({'PARITY_ENV_PROBE': 'on'}, parity_driver._Recorder()):
    seen_by_python = os.getenv('PARITY_ENV_PROBE')
    seen_by_process = libc.getenv(b'PARITY_ENV_PROBE')
after = os.getenv('PARITY_ENV_PROBE')
";
        let _serial = embedded.serial.lock().unwrap_or_else(|p| p.into_inner());
        Python::attach(|py| {
            let globals = pyo3::types::PyDict::new(py);
            globals
                .set_item("parity_driver", embedded.driver.bind(py))
                .unwrap();
            py.run(code, Some(&globals), None)
                .unwrap_or_else(|e| panic!("{}", format_exception(py, &e)));
            let get = |name: &str| globals.get_item(name).unwrap().unwrap();
            assert_eq!(get("seen_by_python").extract::<String>().unwrap(), "on");
            assert!(
                get("seen_by_process").is_none(),
                "the scenario's variable leaked into the process environment"
            );
            assert!(get("after").is_none());
        });
    }
}
