//! Command-line arguments of `parity` (DESIGN §8, a contract) and their dispatch.
//!
//! Arguments are parsed by clap, then turned once into a validated [`Plan`]; bad input (an
//! unknown subject, a scenario filter that matches nothing, an invalid scenario file) stops the
//! run before any subject starts, with exit code 2.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::compare::golden::{GoldenStore, NewGoldens, is_ci};
use crate::drift::{self, DriftFormat};
use crate::matrix::{Matrix, fix_matrix, rendered_docs};
use crate::normalize::{normalize, normalize_codex_events};
use crate::report::Progress;
use crate::report::{ReportFormat, TextReporter, write_json, write_junit, write_markdown};
use crate::result::Status;
use crate::runner::{Plan, execute};
use crate::scenario::{Scenario, ScenarioPaths, load_scenario};
use crate::subject::SubjectKind;
use crate::subject::js_env;
use crate::subject::python::{PythonSubject, doctor, venv};
use crate::subject::rust::RustSubject;
use crate::workspace::{FindWorkspaceError, Workspace};

/// Exit code: everything passed.
pub const EXIT_OK: i32 = 0;
/// Exit code: a parity failure, or a subject or environment error.
pub const EXIT_FAILURE: i32 = 1;
/// Exit code: bad usage or bad input files.
pub const EXIT_BAD_INPUT: i32 = 2;
/// The reader of stdout went away (`parity … | head`): the command stops quietly with the
/// shell's status for a process ended by SIGPIPE (128 + 13), as a C tool would.
pub const EXIT_BROKEN_PIPE: i32 = 141;

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
    /// Check, fix or render the parity matrix (`parity-matrix.toml`).
    #[command(subcommand)]
    Matrix(MatrixCommand),
    /// Run another client release against the goldens, beside rust, and classify each scenario
    /// (clean, upstream drift, parity break, both). Exit 0 clean, 1 drift or break, 2 bad usage
    /// or an environment that cannot be built.
    Drift(DriftArgs),
    /// Run every release from --from to --to and name, per scenario, the release at which its
    /// transcript changed, with the diff.
    Bisect(BisectArgs),
    /// Move the reference client to another release: re-record every golden from it as a
    /// pending snapshot (golden/*.snap.new, for `cargo insta review`), move the pins, and say
    /// what changed, grouped by kind, with the rust cells that will fail. `--check` writes
    /// nothing.
    Upgrade(UpgradeArgs),
    /// Prepare the Python environment (a venv with the pinned client); also done on first use.
    Setup {
        /// Rebuild the venv even if it looks ready.
        #[arg(long)]
        force: bool,
        /// Also install the JS Agents SDK for the js subject: `npm ci`
        /// of `harness/js/` into `.parity/js/`; needs Node.js 20 or newer.
        #[arg(long)]
        js: bool,
    },
    /// Print the embedded interpreter, the venv and the client version, and flag mismatches.
    Doctor,
    /// Speak the exec protocol (docs/exec-protocol.md) with a built-in subject behind it: read
    /// one scenario document on stdin, print its raw records on stdout. The reference adapter:
    /// `--subject 'exec:parity exec-subject rust'` checks the protocol end to end.
    #[command(hide = true)]
    ExecSubject {
        /// The subject behind it (`rust`).
        subject: String,
    },
}

#[derive(Debug, Subcommand)]
enum MatrixCommand {
    /// Run every scenario through every subject and check the matrix (exit 0, 1 or 2).
    Check,
    /// Run every scenario through every subject and rewrite statuses and fingerprints in
    /// `parity-matrix.toml` (comments and order kept). Always a full run.
    Fix,
    /// Write `docs/parity.md` from the matrix (`--check`: only say whether it is fresh).
    Render {
        /// Exit 1 if `docs/parity.md` differs from the rendering, without writing it.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Subject to run: python, rust, js, all or exec:CMD (repeatable). Default: all, that is
    /// python, rust and js (js for the project's own scenarios, and skipped, saying why, where
    /// Node.js 20+ is missing).
    #[arg(long = "subject", value_name = "SUBJECT")]
    subjects: Vec<String>,
    /// Scenario name or glob, e.g. `tool_*` (repeatable). Default: all scenarios.
    #[arg(long = "scenario", value_name = "NAME_OR_GLOB")]
    scenarios: Vec<String>,
    /// Directory of scenario files. Default: the workspace's `scenarios/`.
    #[arg(long = "scenarios", value_name = "DIR")]
    scenarios_dir: Option<PathBuf>,
    /// Run only slice K of N (`K/N`, 1-based) of the selected scenarios, in name order, as
    /// nextest's `--partition count:K/N`: for CI job matrices.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    partition: Option<(usize, usize)>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Keep every cell's normalized transcript in DIR/<subject>/<scenario>.txt (for artifacts and
    /// bisecting).
    #[arg(long, value_name = "DIR")]
    transcripts: Option<PathBuf>,
    /// Record the python transcript of each scenario without a golden as its golden (instead of
    /// a pending `.snap.new` for `cargo insta review`). Existing goldens are never rewritten.
    #[arg(long)]
    accept_new: bool,
    /// How long an exec:CMD subject may take per scenario before it is killed.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    exec_timeout: u64,
}

#[derive(Debug, Args)]
struct DriftArgs {
    /// The client version to run: a release such as 0.22.0, or `latest`.
    #[arg(long = "python-client", value_name = "VERSION|latest")]
    python_client: String,
    /// When a scenario drifted, bisect the releases between the pinned client and VERSION and
    /// name, per scenario, the first release that changed it (`first_release`).
    #[arg(long)]
    bisect: bool,
    #[command(flatten)]
    report: ReleaseReportArgs,
}

/// What drift and bisect run and where their report goes.
#[derive(Debug, Args)]
struct ReleaseReportArgs {
    /// Scenario name or glob (repeatable). Default: all scenarios.
    #[arg(long = "scenario", value_name = "NAME_OR_GLOB")]
    scenarios: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: DriftFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct BisectArgs {
    /// The first release of the range (inclusive).
    #[arg(long, value_name = "VERSION")]
    from: String,
    /// The last release of the range (inclusive), or `latest`.
    #[arg(long, value_name = "VERSION")]
    to: String,
    #[command(flatten)]
    report: ReleaseReportArgs,
}

#[derive(Debug, Args)]
struct UpgradeArgs {
    /// The release to move to: a version such as 0.25.0, or `latest`.
    #[arg(long = "python-client", value_name = "VERSION|latest")]
    python_client: String,
    /// Say what it would do, and write nothing.
    #[arg(long)]
    check: bool,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: DriftFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
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
    /// Print the rust subject's Codex lifecycle events (an extension transcript; with --raw,
    /// as JSON lines) instead of the parity transcript.
    #[arg(long)]
    codex_events: bool,
    /// Print the OTLP transcript: what the subject's OpenTelemetry export delivered to a
    /// loopback receiver (docs/otlp.md) instead of the parity transcript.
    #[arg(long, conflicts_with_all = ["raw", "codex_events"])]
    otlp: bool,
    /// Print the loaded scenario as the JSON document every subject is given (the python
    /// driver's input; an exec subject's request carries it as `scenario`), defaults filled
    /// in, and run nothing.
    #[arg(long, conflicts_with_all = ["raw", "codex_events", "otlp"])]
    input: bool,
    /// How long an exec:CMD subject may take before it is killed.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    exec_timeout: u64,
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

    /// Writing to stdout failed; a closed pipe stops quietly ([`EXIT_BROKEN_PIPE`]).
    fn cannot_write(error: std::io::Error) -> Stop {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            Stop {
                code: EXIT_BROKEN_PIPE,
                message: String::new(),
            }
        } else {
            Stop::failure(format!("cannot write: {error}"))
        }
    }
}

/// What a run depends on besides its command line: the workspace, whether it is CI (new
/// goldens fail, as with insta) and whether progress bars may be drawn on stderr.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The checkout (and venv) to work in.
    pub workspace: Workspace,
    /// `CI` is set: nothing is written to `golden/` and new goldens fail the run.
    pub ci: bool,
    /// Progress bars may be drawn on the process's stderr.
    pub progress: bool,
}

impl Environment {
    /// This process's: the workspace found from the current directory (or `PARITY_ROOT`),
    /// `PARITY_VENV`, `CI` and whether stderr is a terminal.
    pub fn from_process() -> Result<Environment, FindWorkspaceError> {
        Ok(Environment {
            workspace: Workspace::find()?,
            ci: is_ci(),
            progress: Progress::wanted(),
        })
    }
}

/// Runs the parsed command line in this process's [`Environment`]; returns the process exit
/// code. Errors go to `stderr`.
pub fn run(cli: Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    // The exec adapter reads its scenario from stdin and needs no workspace.
    if let Command::ExecSubject { subject } = &cli.command {
        return finish(exec_subject_command(subject, stdout), stderr);
    }
    match Environment::from_process() {
        Ok(env) => run_in(&env, cli, stdout, stderr),
        Err(e) => finish(Err(Stop::bad_input(e.to_string())), stderr),
    }
}

/// [`run`] in an explicit environment: what the `parity` binary does, callable in-process
/// (the CLI tests share one embedded interpreter this way instead of starting CPython per
/// test).
pub fn run_in(env: &Environment, cli: Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32 {
    let workspace = &env.workspace;
    let outcome = match cli.command {
        Command::Run(args) => run_command(env, args, stdout),
        Command::Show(args) => show_command(workspace, args, stdout),
        Command::Matrix(command) => matrix_command(env, command, stdout),
        Command::Drift(args) => drift_command(workspace, args, stdout),
        Command::Bisect(args) => bisect_command(workspace, args, stdout),
        Command::Upgrade(args) => upgrade_command(workspace, args, stdout),
        Command::Setup { force, js } => setup_command(workspace, force, js, stdout),
        Command::Doctor => doctor_command(workspace, stdout),
        Command::ExecSubject { subject } => exec_subject_command(&subject, stdout),
    };
    finish(outcome, stderr)
}

/// The exit code of a command's outcome; a stop's message goes to `stderr`.
fn finish(outcome: Result<i32, Stop>, stderr: &mut dyn Write) -> i32 {
    match outcome {
        Ok(code) => code,
        Err(stop) => {
            if !stop.message.is_empty() {
                let _ = writeln!(stderr, "error: {}", stop.message);
            }
            stop.code
        }
    }
}

fn run_command(env: &Environment, args: RunArgs, stdout: &mut dyn Write) -> Result<i32, Stop> {
    let workspace = &env.workspace;
    let new_goldens = if args.accept_new {
        NewGoldens::Accept
    } else {
        NewGoldens::default_for(env.ci)
    };
    let mut plan = plan_for(
        workspace,
        &args.subjects,
        &args.scenarios,
        args.scenarios_dir.as_deref(),
        args.partition,
        new_goldens,
        MatrixUse::Judge,
    )?;
    plan.transcripts = args.transcripts.clone();
    plan.subjects = plan
        .subjects
        .into_iter()
        .map(|subject| with_exec_timeout(subject, args.exec_timeout))
        .collect();
    let mut file;
    let out: &mut dyn Write = match &args.out {
        Some(path) => {
            file = File::create(path)
                .map_err(|e| Stop::bad_input(format!("cannot create {}: {e}", path.display())))?;
            &mut file
        }
        None => stdout,
    };
    let write_failed = |e: io::Error| match e.kind() {
        io::ErrorKind::BrokenPipe => Stop::cannot_write(e),
        _ => Stop::failure(format!("cannot write the report: {e}")),
    };
    // Text streams each cell as it finishes; the other formats are written once at the end.
    let streaming = args.format == ReportFormat::Text;
    let mut reporter = TextReporter::new(&mut *out);
    let mut write_error = None;
    let mut progress = Progress::new(&plan, env.progress);
    let report = execute(workspace, &plan, |event| {
        progress.on_event(&event);
        if streaming && let Err(e) = progress.suspend(|| reporter.report(&event)) {
            write_error.get_or_insert(e);
        }
    });
    progress.finish();
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
    let new_fails = env.ci && new_goldens != NewGoldens::Accept && report.count(Status::New) > 0;
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

/// Validates the selection and everything it needs (scenario files, the matrix) before any
/// subject starts: bad input stops here with exit 2.
fn plan_for(
    workspace: &Workspace,
    subjects: &[String],
    filters: &[String],
    dir: Option<&Path>,
    partition: Option<(usize, usize)>,
    new_goldens: NewGoldens,
    matrix_use: MatrixUse,
) -> Result<Plan, Stop> {
    let (mut subjects, optional) = parse_subjects(subjects)?;
    let dir = dir
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace.scenarios_dir());
    let all = ScenarioPaths::discover(&dir).map_err(|e| Stop::bad_input(e.to_string()))?;
    let all_names: BTreeSet<String> = all.names().map(str::to_owned).collect();
    let mut paths = all
        .select(filters)
        .map_err(|e| Stop::bad_input(e.to_string()))?;
    if let Some((k, n)) = partition {
        paths = paths.partition(k, n);
    }
    let scenarios = paths.load_all().map_err(|errors| {
        Stop::bad_input(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let golden_dir = golden_dir_for(workspace, &dir);
    // The matrix describes the project's own scenarios; a folder from elsewhere has none.
    let matrix = match matrix_use {
        _ if golden_dir != workspace.golden_dir() => None,
        MatrixUse::Skip => None,
        MatrixUse::Judge => Some(load_matrix(workspace, &all_names, Matrix::load)?),
        MatrixUse::Fix => Some(load_matrix(workspace, &all_names, Matrix::load_to_fix)?),
    };
    // The js subject's differences from Python are declared in the matrix; without one (a folder
    // from elsewhere) it would only fail, so it runs there when asked for by name.
    if matrix.is_none() {
        subjects.retain(|subject| !optional.iter().any(|name| name == subject.name()));
    }
    Ok(Plan {
        scenarios,
        subjects,
        goldens: GoldenStore::new(golden_dir, new_goldens),
        matrix,
        optional,
        transcripts: None,
    })
}

/// What a plan does with the matrix.
#[derive(Debug, Clone, Copy)]
enum MatrixUse {
    /// No matrix (only checking the scenario filters).
    Skip,
    /// The run is judged against it.
    Judge,
    /// `parity matrix fix` rewrites it: deviations still without their pins are accepted.
    Fix,
}

type MatrixLoader =
    fn(&Path, &BTreeSet<String>, &[&str]) -> Result<Matrix, crate::errors::LoadMatrixError>;

fn load_matrix(
    workspace: &Workspace,
    scenarios: &BTreeSet<String>,
    load: MatrixLoader,
) -> Result<Matrix, Stop> {
    let subjects = SubjectKind::matrix_subjects();
    let known: Vec<&str> = subjects.iter().map(String::as_str).collect();
    // Paths in messages are workspace-relative: no machine path in a report.
    let shown = PathBuf::from(workspace.display(&workspace.matrix_path()));
    let mut matrix = load(&workspace.matrix_path(), scenarios, &known).map_err(|mut e| {
        e.path = shown.clone();
        Stop::bad_input(e.to_string())
    })?;
    matrix.path = shown;
    Ok(matrix)
}

fn parse_partition(text: &str) -> Result<(usize, usize), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not K/N (e.g. 2/4)"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("{text:?} is not K/N (e.g. 2/4)"))
    };
    let (k, n) = (parse(k)?, parse(n)?);
    if n == 0 || k == 0 || k > n {
        return Err(format!("{text:?}: K and N must satisfy 1 <= K <= N"));
    }
    Ok((k, n))
}

fn matrix_command(
    env: &Environment,
    command: MatrixCommand,
    stdout: &mut dyn Write,
) -> Result<i32, Stop> {
    match command {
        MatrixCommand::Render { check } => matrix_render(env, check, stdout),
        MatrixCommand::Check => matrix_check(env, stdout),
        MatrixCommand::Fix => matrix_fix(env, stdout),
    }
}

/// Writes `text` to `stdout`; failing to is a failure (exit 1).
fn write_out(stdout: &mut dyn Write, text: &str) -> Result<(), Stop> {
    stdout
        .write_all(text.as_bytes())
        .map_err(Stop::cannot_write)
}

/// `parity matrix render [--check]`: the documents rendered from the matrix, written or checked.
fn matrix_render(env: &Environment, check: bool, stdout: &mut dyn Write) -> Result<i32, Stop> {
    let workspace = &env.workspace;
    let names = ScenarioPaths::discover(&workspace.scenarios_dir())
        .map_err(|e| Stop::bad_input(e.to_string()))?;
    let names: BTreeSet<String> = names.names().map(str::to_owned).collect();
    let matrix = load_matrix(workspace, &names, Matrix::load)?;
    let docs = rendered_docs(workspace, &matrix).map_err(|e| Stop::bad_input(e.to_string()))?;
    let mut stale = false;
    for (path, rendered) in docs {
        let shown = workspace.display(&path);
        if check {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current == rendered {
                write_out(stdout, &format!("{shown} is fresh\n"))?;
            } else {
                stale = true;
                write_out(
                    stdout,
                    &format!("{shown} is stale: run `parity matrix render`\n"),
                )?;
            }
            continue;
        }
        std::fs::write(&path, rendered)
            .map_err(|e| Stop::failure(format!("cannot write {shown}: {e}")))?;
        write_out(stdout, &format!("wrote {shown}\n"))?;
    }
    Ok(if stale { EXIT_FAILURE } else { EXIT_OK })
}

/// `parity matrix check`: a full run against the matrix, its mismatches and non-passing cells.
fn matrix_check(env: &Environment, stdout: &mut dyn Write) -> Result<i32, Stop> {
    let workspace = &env.workspace;
    let plan = plan_for(
        workspace,
        &[],
        &[],
        None,
        None,
        NewGoldens::Keep,
        MatrixUse::Judge,
    )?;
    let mut progress = Progress::new(&plan, env.progress);
    let report = execute(workspace, &plan, |event| progress.on_event(&event));
    progress.finish();
    let mut text = String::new();
    for verdict in report.matrix.iter().flatten() {
        if !verdict.ok {
            text.push_str(&format!(
                "MISMATCH {} / {}: declared {}, {}\n",
                verdict.feature, verdict.subject, verdict.declared, verdict.message
            ));
        }
    }
    for result in report
        .results
        .iter()
        .filter(|r| !matches!(r.status, Status::Pass | Status::Deviation))
    {
        text.push_str(&format!(
            "{} {} / {}: {}\n",
            result.status.as_str().to_uppercase(),
            result.scenario,
            result.subject,
            result.message
        ));
    }
    let cells = report.matrix.as_ref().map_or(0, Vec::len);
    text.push_str(&format!(
        "{} matrix cells checked against {} results ({})\n",
        cells,
        report.results.len(),
        report.summary_counts()
    ));
    write_out(stdout, &text)?;
    Ok(if report.all_passed() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

/// `parity matrix fix`: a full run without the matrix applied, its raw verdicts written into
/// the matrix file.
fn matrix_fix(env: &Environment, stdout: &mut dyn Write) -> Result<i32, Stop> {
    let workspace = &env.workspace;
    // A full run, without the matrix applied: the raw verdicts are what fix records.
    let plan = plan_for(
        workspace,
        &[],
        &[],
        None,
        None,
        NewGoldens::Keep,
        MatrixUse::Fix,
    )?;
    let matrix = plan
        .matrix
        .clone()
        .expect("the project's scenarios have a matrix");
    let unjudged = Plan {
        matrix: None,
        ..plan
    };
    let mut progress = Progress::new(&unjudged, env.progress);
    let report = execute(workspace, &unjudged, |event| progress.on_event(&event));
    progress.finish();
    let path = workspace.matrix_path();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Stop::failure(format!("cannot read {}: {e}", workspace.display(&path))))?;
    let fixed =
        fix_matrix(&matrix, &text, &report.results).map_err(|e| Stop::failure(e.to_string()))?;
    let changed = fixed != text;
    if changed {
        std::fs::write(&path, &fixed).map_err(|e| {
            Stop::failure(format!("cannot write {}: {e}", workspace.display(&path)))
        })?;
    }
    write_out(
        stdout,
        &format!(
            "{} {} from {} results; then run `parity matrix render`\n",
            if changed { "rewrote" } else { "unchanged:" },
            workspace.display(&path),
            report.results.len()
        ),
    )?;
    Ok(EXIT_OK)
}

/// Checks `--scenario` filters against the project's scenarios before anything is installed.
fn check_filters(workspace: &Workspace, filters: &[String]) -> Result<(), Stop> {
    plan_for(
        workspace,
        &[],
        filters,
        None,
        None,
        NewGoldens::Keep,
        MatrixUse::Skip,
    )
    .map(|_| ())
}

/// The report destination: `--out FILE` or stdout.
fn with_out(
    out: Option<&Path>,
    stdout: &mut dyn Write,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), Stop> {
    match out {
        Some(path) => File::create(path)
            .map_err(|e| Stop::bad_input(format!("cannot create {}: {e}", path.display())))
            .and_then(|mut file| {
                write(&mut file).map_err(|e| Stop::failure(format!("cannot write the report: {e}")))
            }),
        None => write(stdout).map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => Stop::cannot_write(e),
            _ => Stop::failure(format!("cannot write the report: {e}")),
        }),
    }
}

fn drift_command(
    workspace: &Workspace,
    args: DriftArgs,
    stdout: &mut dyn Write,
) -> Result<i32, Stop> {
    check_filters(workspace, &args.report.scenarios)?;
    let version = drift::resolve_version(&args.python_client).map_err(|e| Stop::bad_input(e.0))?;
    let mut report = drift::drift(workspace, &version, &args.report.scenarios)
        .map_err(|e| Stop::bad_input(e.0))?;
    if args.bisect {
        drift::fill_first_releases(workspace, &mut report).map_err(|e| Stop::bad_input(e.0))?;
    }
    with_out(args.report.out.as_deref(), stdout, |out| {
        drift::write_drift(out, &report, args.report.format)
    })?;
    Ok(if report.is_clean() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}

fn bisect_command(
    workspace: &Workspace,
    args: BisectArgs,
    stdout: &mut dyn Write,
) -> Result<i32, Stop> {
    check_filters(workspace, &args.report.scenarios)?;
    let from = drift::resolve_version(&args.from).map_err(|e| Stop::bad_input(e.0))?;
    let to = drift::resolve_version(&args.to).map_err(|e| Stop::bad_input(e.0))?;
    let report = drift::bisect(workspace, &from, &to, &args.report.scenarios)
        .map_err(|e| Stop::bad_input(e.0))?;
    with_out(args.report.out.as_deref(), stdout, |out| {
        drift::write_bisect(out, &report, args.report.format)
    })?;
    Ok(if report.changed() {
        EXIT_FAILURE
    } else {
        EXIT_OK
    })
}

fn upgrade_command(
    workspace: &Workspace,
    args: UpgradeArgs,
    stdout: &mut dyn Write,
) -> Result<i32, Stop> {
    let version = drift::resolve_known_version(workspace, &args.python_client)
        .map_err(|e| Stop::bad_input(e.0))?;
    let report =
        drift::upgrade(workspace, &version, args.check).map_err(|e| Stop::bad_input(e.0))?;
    with_out(args.out.as_deref(), stdout, |out| {
        drift::write_upgrade(out, &report, args.format)
    })?;
    Ok(EXIT_OK)
}

/// The subjects to run, in order, and those of them that may be skipped on this machine: the
/// default set (no `--subject`, or `--subject all`) holds js, which runs only where Node.js does;
/// a subject named on its own must run.
fn parse_subjects(values: &[String]) -> Result<(Vec<SubjectKind>, Vec<String>), Stop> {
    let defaults = values.is_empty() || values.iter().any(|v| v == "all");
    let mut subjects = Vec::new();
    let mut named = Vec::new();
    let given = values.iter().map(String::as_str);
    for value in given.chain(values.is_empty().then_some("all")) {
        let parsed = if value == "all" {
            SubjectKind::all()
        } else {
            let subject = value
                .parse::<SubjectKind>()
                .map_err(|e| Stop::bad_input(format!("--subject {value}: {e}")))?;
            named.push(subject.name().to_owned());
            vec![subject]
        };
        for subject in parsed {
            if !subjects.contains(&subject) {
                subjects.push(subject);
            }
        }
    }
    let optional = subjects
        .iter()
        .filter(|s| {
            defaults && matches!(s, SubjectKind::Exec(_)) && !named.iter().any(|n| n == s.name())
        })
        .map(|s| s.name().to_owned())
        .collect();
    Ok((subjects, optional))
}

/// An exec subject with `--exec-timeout`; other subjects as they are.
fn with_exec_timeout(subject: SubjectKind, seconds: u64) -> SubjectKind {
    match subject {
        SubjectKind::Exec(exec) => {
            SubjectKind::Exec(exec.with_timeout(std::time::Duration::from_secs(seconds)))
        }
        other => other,
    }
}

/// `parity exec-subject rust`: the exec protocol with the rust subject behind it.
fn exec_subject_command(subject: &str, stdout: &mut dyn Write) -> Result<i32, Stop> {
    if subject != "rust" {
        return Err(Stop::bad_input(format!(
            "exec-subject {subject}: only `rust` can be served over the exec protocol"
        )));
    }
    let mut input = String::new();
    io::Read::read_to_string(&mut io::stdin().lock(), &mut input)
        .map_err(|e| Stop::bad_input(format!("cannot read the scenario document on stdin: {e}")))?;
    let scenario =
        crate::subject::exec::read_request(&input).map_err(|e| Stop::bad_input(e.to_string()))?;
    let log = RustSubject::new()
        .run(&scenario)
        .map_err(|e| Stop::failure(e.to_string()))?;
    stdout
        .write_all(log.to_json_lines().as_bytes())
        .map_err(Stop::cannot_write)?;
    Ok(EXIT_OK)
}

fn show_command(
    workspace: &Workspace,
    args: ShowArgs,
    stdout: &mut dyn Write,
) -> Result<i32, Stop> {
    let subject = args
        .subject
        .parse::<SubjectKind>()
        .map(|subject| with_exec_timeout(subject, args.exec_timeout))
        .map_err(|e| Stop::bad_input(format!("--subject {}: {e}", args.subject)))?;
    let scenario = find_scenario(workspace, &args.scenario, args.scenarios_dir.as_deref())?;
    if args.input {
        let text = serde_json::to_string_pretty(&scenario).expect("a scenario serializes to JSON");
        write_out(stdout, &format!("{text}\n"))?;
        return Ok(EXIT_OK);
    }
    if args.codex_events {
        if subject != SubjectKind::Rust {
            return Err(Stop::bad_input(
                "--codex-events: only the rust subject has Codex events; add --subject rust",
            ));
        }
        let events = RustSubject::new()
            .codex_events(&scenario)
            .map_err(|e| Stop::failure(e.to_string()))?;
        let text = if args.raw {
            events.iter().map(|event| format!("{event}\n")).collect()
        } else {
            normalize_codex_events(&events)
        };
        stdout
            .write_all(text.as_bytes())
            .map_err(Stop::cannot_write)?;
        return Ok(EXIT_OK);
    }
    if args.otlp {
        let text = crate::runner::otlp::otlp_transcript(&subject, workspace, &scenario)
            .map_err(|e| Stop::failure(e.to_string()))?;
        stdout
            .write_all(text.as_bytes())
            .map_err(Stop::cannot_write)?;
        return Ok(EXIT_OK);
    }
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
        .map_err(Stop::cannot_write)?;
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

fn setup_command(
    workspace: &Workspace,
    force: bool,
    js: bool,
    stdout: &mut dyn Write,
) -> Result<i32, Stop> {
    venv::ensure(workspace, force).map_err(|e| Stop::failure(e.to_string()))?;
    let version = PythonSubject::new(workspace.clone())
        .client_version()
        .map_err(|e| Stop::failure(e.to_string()))?;
    writeln!(
        stdout,
        "Python environment ready: {} with openai-agents {version}",
        workspace.display(&workspace.venv_dir())
    )
    .map_err(Stop::cannot_write)?;
    if js {
        let env = js_env::ensure(workspace, force).map_err(|e| Stop::failure(e.to_string()))?;
        writeln!(
            stdout,
            "JS environment ready: {} with @openai/agents {}",
            workspace.display(env.dir()),
            env.sdk_version().unwrap_or_else(|| "?".into())
        )
        .map_err(Stop::cannot_write)?;
    }
    Ok(EXIT_OK)
}

fn doctor_command(workspace: &Workspace, stdout: &mut dyn Write) -> Result<i32, Stop> {
    writeln!(
        stdout,
        "workspace  {} ({})",
        workspace.root().display(),
        workspace.origin_label()
    )
    .map_err(Stop::cannot_write)?;
    let report = doctor(workspace);
    write!(stdout, "{report}").map_err(Stop::cannot_write)?;
    // The js subject's environment, for information (it is optional: not a problem when absent).
    let js = match js_env::node() {
        Err(e) => format!(
            "node: unavailable ({e})
js subject: unavailable
"
        ),
        Ok(node) => {
            let sdk = match js_env::existing(workspace) {
                Ok(Some(env)) => format!(
                    "@openai/agents {} in {}",
                    env.sdk_version().unwrap_or_else(|| "?".into()),
                    workspace.display(env.dir())
                ),
                Ok(None) => "not installed (`parity setup --js` installs it)".into(),
                Err(e) => format!("unavailable ({e})"),
            };
            format!(
                "node: {}
js subject: {sdk}
",
                node.version
            )
        }
    };
    write!(stdout, "{js}").map_err(Stop::cannot_write)?;
    Ok(if report.problems.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILURE
    })
}
