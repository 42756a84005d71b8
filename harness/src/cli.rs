//! Command-line arguments of `parity` (DESIGN §8, a contract) and their dispatch.
//!
//! Arguments are parsed by clap, then turned once into a validated [`Plan`]; bad input (an
//! unknown subject, a scenario filter that matches nothing, an invalid scenario file) stops the
//! run before any subject starts, with exit code 2.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::golden::{GoldenStore, NewGoldens, is_ci};
use crate::normalize::normalize;
use crate::report::{ReportFormat, TextReporter, write_json, write_junit, write_markdown};
use crate::runner::{Plan, Status, execute};
use crate::scenario::{Scenario, ScenarioPaths, load_scenario};
use crate::subject::SubjectKind;
use crate::subject::python::{PythonSubject, doctor, venv};
use crate::workspace::Workspace;

/// Exit code: everything passed.
pub const EXIT_OK: i32 = 0;
/// Exit code: a parity failure, or a subject or environment error.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: bad usage or bad input files.
pub const EXIT_BAD_INPUT: i32 = 2;

/// Keeps a Rust telemetry library in observable parity with the Python client.
#[derive(Debug, Parser)]
#[command(name = "parity", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenarios through subjects and compare their transcripts with the goldens.
    Run(RunArgs),
    /// Print a scenario's normalized transcript (or its raw records).
    Show(ShowArgs),
    /// Prepare the Python environment (a venv with the pinned client); also done on first use.
    Setup {
        /// Rebuild the venv even if it looks ready.
        #[arg(long)]
        force: bool,
    },
    /// Print the embedded interpreter, the venv and the client version, and flag mismatches.
    Doctor,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Subject to run: python, rust, all (repeatable). Default: all.
    #[arg(long = "subject", value_name = "SUBJECT")]
    subjects: Vec<String>,
    /// Scenario name or glob, e.g. `tool_*` (repeatable). Default: all scenarios.
    #[arg(long = "scenario", value_name = "NAME_OR_GLOB")]
    scenarios: Vec<String>,
    /// Directory of scenario files. Default: the workspace's `scenarios/`.
    #[arg(long = "scenarios", value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Record the python transcript of each scenario without a golden as its golden (instead of
    /// a pending `.snap.new` for `cargo insta review`). Existing goldens are never rewritten.
    #[arg(long)]
    accept_new: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    /// Scenario name (in the scenarios directory) or path to a scenario file.
    scenario: String,
    /// Subject whose output to show.
    #[arg(long, default_value = "python")]
    subject: String,
    /// Print the raw records as JSON lines instead of the normalized transcript.
    #[arg(long)]
    raw: bool,
    /// Directory of scenario files. Default: the workspace's `scenarios/`.
    #[arg(long = "scenarios", value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
}

/// A reason to stop, with its exit code.
#[derive(Debug)]
struct Stop {
    code: i32,
    message: String,
}

impl Stop {
    fn bad_input(message: impl Into<String>) -> Stop {
        Stop {
            code: EXIT_BAD_INPUT,
            message: message.into(),
        }
    }

    fn failure(message: impl Into<String>) -> Stop {
        Stop {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }
}

/// Runs the parsed command line; returns the process exit code. Errors go to `stderr`.
pub fn run(cli: Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let workspace = Workspace::current();
    let outcome = match cli.command {
        Command::Run(args) => run_command(&workspace, args, stdout),
        Command::Show(args) => show_command(&workspace, args, stdout),
        Command::Setup { force } => setup_command(&workspace, force, stdout),
        Command::Doctor => doctor_command(&workspace, stdout),
    };
    match outcome {
        Ok(code) => code,
        Err(stop) => {
            let _ = writeln!(stderr, "error: {}", stop.message);
            stop.code
        }
    }
}

fn run_command(workspace: &Workspace, args: RunArgs, stdout: &mut dyn Write) -> Result<i32, Stop> {
    let subjects = parse_subjects(&args.subjects)?;
    let dir = args
        .scenarios_dir
        .clone()
        .unwrap_or_else(|| workspace.scenarios_dir());
    let paths = ScenarioPaths::discover(&dir)
        .and_then(|paths| paths.select(&args.scenarios))
        .map_err(|e| Stop::bad_input(e.to_string()))?;
    let scenarios = paths.load_all().map_err(|errors| {
        Stop::bad_input(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let new_goldens = if args.accept_new {
        NewGoldens::Accept
    } else {
        NewGoldens::default_for_environment()
    };
    let plan = Plan {
        scenarios,
        subjects,
        goldens: GoldenStore::new(golden_dir_for(workspace, &dir), new_goldens),
    };

    let mut file;
    let out: &mut dyn Write = match &args.out {
        Some(path) => {
            file = File::create(path)
                .map_err(|e| Stop::bad_input(format!("cannot create {}: {e}", path.display())))?;
            &mut file
        }
        None => stdout,
    };
    let write_failed = |e: io::Error| Stop::failure(format!("cannot write the report: {e}"));
    // Text streams each cell as it finishes; the other formats are written once at the end.
    let streaming = args.format == ReportFormat::Text;
    let mut reporter = TextReporter::new(&mut *out);
    let mut write_error = None;
    let report = execute(workspace, &plan, |event| {
        if streaming && let Err(e) = reporter.report(&event) {
            write_error.get_or_insert(e);
        }
    });
    if let Some(e) = write_error {
        return Err(write_failed(e));
    }
    match args.format {
        ReportFormat::Text => reporter.finish(&report),
        ReportFormat::Json => write_json(&mut *out, &report),
        ReportFormat::Markdown => write_markdown(&mut *out, &report),
        ReportFormat::Junit => write_junit(&mut *out, &report),
    }
    .map_err(write_failed)?;
    // Like insta: new goldens are fine locally (they wait for review), a failure in CI unless
    // they were recorded on request.
    let new_fails = is_ci() && new_goldens != NewGoldens::Accept && report.count(Status::New) > 0;
    Ok(if report.all_passed() && !new_fails {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// The goldens of the scenarios in `dir`: the project's `golden/` for its own `scenarios/`, and
/// `DIR/golden/` for a folder from elsewhere (never the project's goldens of the same names).
fn golden_dir_for(workspace: &Workspace, dir: &Path) -> PathBuf {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if same(dir, &workspace.scenarios_dir()) {
        workspace.golden_dir()
    } else {
        dir.join("golden")
    }
}

fn parse_subjects(values: &[String]) -> Result<Vec<SubjectKind>, Stop> {
    if values.is_empty() {
        return Ok(SubjectKind::all());
    }
    let mut subjects = Vec::new();
    for value in values {
        let parsed = if value == "all" {
            SubjectKind::all()
        } else {
            vec![
                value
                    .parse::<SubjectKind>()
                    .map_err(|e| Stop::bad_input(format!("--subject {value}: {e}")))?,
            ]
        };
        for subject in parsed {
            if !subjects.contains(&subject) {
                subjects.push(subject);
            }
        }
    }
    Ok(subjects)
}

fn show_command(
    workspace: &Workspace,
    args: ShowArgs,
    stdout: &mut dyn Write,
) -> Result<i32, Stop> {
    let subject = args
        .subject
        .parse::<SubjectKind>()
        .map_err(|e| Stop::bad_input(format!("--subject {}: {e}", args.subject)))?;
    let scenario = find_scenario(workspace, &args.scenario, args.scenarios_dir.as_deref())?;
    let log = subject
        .run(workspace, &scenario)
        .map_err(|e| Stop::failure(e.to_string()))?;
    let text = if args.raw {
        log.to_json_lines()
    } else {
        normalize(&log).to_string()
    };
    stdout
        .write_all(text.as_bytes())
        .map_err(|e| Stop::failure(format!("cannot write: {e}")))?;
    Ok(EXIT_OK)
}

/// A scenario by name (in the scenarios directory) or by path.
fn find_scenario(workspace: &Workspace, name: &str, dir: Option<&Path>) -> Result<Scenario, Stop> {
    let path = if name.ends_with(".toml") || name.contains('/') {
        PathBuf::from(name)
    } else {
        let dir = dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| workspace.scenarios_dir());
        let paths = ScenarioPaths::discover(&dir).map_err(|e| Stop::bad_input(e.to_string()))?;
        match paths.get(name) {
            Some(path) => path.to_path_buf(),
            None => {
                return Err(Stop::bad_input(format!(
                    "no scenario {name:?} in {} (known: {})",
                    dir.display(),
                    paths.names().collect::<Vec<_>>().join(", ")
                )));
            }
        }
    };
    load_scenario(&path).map_err(|e| Stop::bad_input(e.to_string()))
}

fn setup_command(workspace: &Workspace, force: bool, stdout: &mut dyn Write) -> Result<i32, Stop> {
    venv::ensure(workspace, force).map_err(|e| Stop::failure(e.to_string()))?;
    let version = PythonSubject::new(workspace.clone())
        .client_version()
        .map_err(|e| Stop::failure(e.to_string()))?;
    writeln!(
        stdout,
        "Python environment ready: {} with openai-agents {version}",
        workspace.display(&workspace.venv_dir())
    )
    .map_err(|e| Stop::failure(format!("cannot write: {e}")))?;
    Ok(EXIT_OK)
}

fn doctor_command(workspace: &Workspace, stdout: &mut dyn Write) -> Result<i32, Stop> {
    let report = doctor(workspace);
    write!(stdout, "{report}").map_err(|e| Stop::failure(format!("cannot write: {e}")))?;
    Ok(if report.problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}
