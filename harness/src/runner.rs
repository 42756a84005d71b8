//! Executing a plan: every (scenario, subject) cell is run, normalized and compared with the
//! golden (or, without a golden, with the python subject), and each result is passed to one
//! callback, the only link between the runner and the reporters.
//!
//! A scenario without a golden is not an error: its python transcript is a *new* golden
//! candidate (status `new`), recorded as the plan's [`GoldenStore`] says (a pending
//! `.snap.new`, the golden itself on `--accept-new`, or nothing in CI).

use std::cell::OnceCell;
use std::collections::BTreeMap;

pub use crate::result::{CellResult, Status};

use serde::Serialize;

use crate::compare::golden::{Golden, GoldenInfo, GoldenStore, NewGoldens, read_golden};
use crate::compare::{diff, first_difference};
use crate::errors::ReadGoldenError;
use crate::matrix::{FeatureVerdict, Matrix, feature_verdicts, fingerprint, judge_cell};
use crate::scenario::Scenario;
use crate::subject::SubjectKind;
use crate::subject::python::{CLIENT_PACKAGE, PythonSubject};
use crate::workspace::Workspace;

/// What to run: validated scenarios × subjects.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The scenarios, sorted by name.
    pub scenarios: Vec<Scenario>,
    /// The subjects, in run order.
    pub subjects: Vec<SubjectKind>,
    /// Where the scenarios' goldens are, and what happens to new ones.
    pub goldens: GoldenStore,
    /// The parity matrix the results are checked against (the project's scenarios only).
    pub matrix: Option<Matrix>,
    /// The subjects that run only where the machine can run them (the default set's js):
    /// elsewhere their cells are `skipped`, with the reason. A subject asked for by name is not
    /// here: if it cannot run, its cells are errors.
    pub optional: Vec<String>,
    /// Where to keep every cell's transcript (`<dir>/<subject>/<scenario>.txt`, or
    /// `<scenario>.error` with the reason when there is none), for bisecting and artifacts.
    pub transcripts: Option<std::path::PathBuf>,
}

/// What the runner reports while it works.
#[derive(Debug)]
pub enum ParityEvent<'a> {
    /// A cell is about to run.
    CellStarted {
        /// Scenario name.
        scenario: &'a str,
        /// Subject name.
        subject: &'a str,
    },
    /// A cell finished.
    CellFinished(&'a CellResult),
}

/// Everything a finished run knows, for the reports.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The reference client (`openai-agents` and its version, if the python subject started).
    pub python_client: ClientInfo,
    /// The normalizer version used.
    pub normalizer_version: u32,
    /// The subjects that ran.
    pub subjects: Vec<String>,
    /// One result per cell, in plan order.
    pub results: Vec<CellResult>,
    /// Counts per status.
    pub summary: BTreeMap<&'static str, usize>,
    /// Every (feature, subject) cell of the parity matrix against this run, when it was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Vec<FeatureVerdict>>,
}

/// The Python client package and version.
#[derive(Debug, Clone, Serialize)]
pub struct ClientInfo {
    /// Package name.
    pub package: String,
    /// Installed version, or null when the Python environment could not start.
    pub version: Option<String>,
}

impl RunReport {
    /// How many cells ended with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.summary.get(status.as_str()).copied().unwrap_or(0)
    }

    /// The client version for display, `not started` when the python subject did not start.
    pub fn client_version_label(&self) -> &str {
        self.python_client
            .version
            .as_deref()
            .unwrap_or("not started")
    }

    /// Whether every cell passed (or deviates as declared, is a new golden candidate, or was
    /// skipped with a reason) and the matrix, if checked, agrees with the run.
    pub fn all_passed(&self) -> bool {
        self.results.iter().all(|r| {
            matches!(
                r.status,
                Status::Pass | Status::Deviation | Status::New | Status::Skipped
            )
        }) && self.matrix_problems().next().is_none()
    }

    /// The matrix cells that disagree with the run.
    pub fn matrix_problems(&self) -> impl Iterator<Item = &FeatureVerdict> {
        self.matrix.iter().flatten().filter(|v| !v.ok)
    }

    /// The counts as one phrase: `3 pass, 0 fail, 0 deviation, 0 error, 1 new`, with
    /// `, N skipped` when a subject was skipped.
    pub fn summary_counts(&self) -> String {
        Status::ALL
            .iter()
            .filter(|status| **status != Status::Skipped || self.count(**status) > 0)
            .map(|status| format!("{} {}", self.count(*status), status.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Runs `plan` and returns the report; `on_event` sees each cell start and finish.
pub fn execute(
    workspace: &Workspace,
    plan: &Plan,
    mut on_event: impl FnMut(ParityEvent<'_>),
) -> RunReport {
    let skipped = skipped_subjects(plan);
    let exec_jobs = exec_jobs(plan, &skipped);
    let exec_results = ExecResults::default();
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .min(exec_jobs.len());
    let queue = std::sync::Mutex::new(exec_jobs.into_iter());
    // The exec subjects run in worker processes while this thread runs the in-process subjects
    // (the embedded Python holds one interpreter; the rust subject is cheap): the two overlap.
    let results = std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    let Some((s, i)) = next else { break };
                    // A panic still answers the cell: the judging thread waits for every one.
                    let transcript = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        plan.subjects[s]
                            .transcript(workspace, &plan.scenarios[i])
                            .map_err(|e| e.to_string())
                    }))
                    .unwrap_or_else(|_| Err("the harness panicked running this cell".into()));
                    exec_results.put((s, i), transcript);
                }
            });
        }
        judge_cells(workspace, plan, &skipped, &exec_results, &mut on_event)
    });

    let mut summary: BTreeMap<&'static str, usize> =
        Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for result in &results {
        *summary.entry(result.status.as_str()).or_default() += 1;
    }
    RunReport {
        python_client: ClientInfo {
            package: CLIENT_PACKAGE.into(),
            // Only if the python subject ran, as a subject or as the reference of another one.
            version: PythonSubject::started_client_version(),
        },
        normalizer_version: crate::normalize::NORMALIZER_VERSION,
        subjects: plan.subjects.iter().map(|s| s.name().to_owned()).collect(),
        matrix: plan
            .matrix
            .as_ref()
            .map(|matrix| feature_verdicts(matrix, &results)),
        results,
        summary,
    }
}

/// Judges every cell in plan order, passing each to `on_event`; the exec subjects' transcripts
/// come from `exec_results` as their workers finish them.
fn judge_cells(
    workspace: &Workspace,
    plan: &Plan,
    skipped: &BTreeMap<usize, String>,
    exec_results: &ExecResults,
    on_event: &mut impl FnMut(ParityEvent<'_>),
) -> Vec<CellResult> {
    let mut results = Vec::new();
    for (scenario_index, scenario) in plan.scenarios.iter().enumerate() {
        let path = plan.goldens.path(&scenario.name);
        let shown = workspace.display(&path);
        let golden = read_golden(&path);
        // The python transcript, computed at most once per scenario: it is a subject's own result
        // and the reference for other subjects when there is no golden.
        let python = OnceCell::new();
        let python_transcript = || {
            python
                .get_or_init(|| {
                    SubjectKind::Python
                        .transcript(workspace, scenario)
                        .map_err(|e| e.to_string())
                })
                .clone()
        };
        for (subject_index, subject) in plan.subjects.iter().enumerate() {
            on_event(ParityEvent::CellStarted {
                scenario: &scenario.name,
                subject: subject.name(),
            });
            if let Some(reason) = skipped.get(&subject_index) {
                let result = CellResult {
                    scenario: scenario.name.clone(),
                    subject: subject.name().to_owned(),
                    status: Status::Skipped,
                    golden: None,
                    message: reason.clone(),
                    first_difference: None,
                    fingerprint: None,
                    diff: None,
                };
                on_event(ParityEvent::CellFinished(&result));
                results.push(result);
                continue;
            }
            let transcript = match subject {
                SubjectKind::Python => python_transcript(),
                SubjectKind::Exec(_) => exec_results.take((subject_index, scenario_index)),
                _ => subject
                    .transcript(workspace, scenario)
                    .map_err(|e| e.to_string()),
            };
            let kept = plan
                .transcripts
                .as_deref()
                .map(|dir| keep_transcript(dir, subject, scenario, &transcript));
            let result = judge(
                scenario,
                subject,
                transcript,
                &golden,
                &shown,
                &python_transcript,
            );
            let mut result = match result.status {
                Status::New => record_new(workspace, &plan.goldens, scenario, result, &python),
                _ => result,
            };
            if let Some(matrix) = &plan.matrix {
                judge_cell(matrix, &mut result);
            }
            if let Some(Err(e)) = kept {
                result.status = Status::Error;
                result.message = format!("cannot keep the transcript: {e}; {}", result.message);
            }
            on_event(ParityEvent::CellFinished(&result));
            results.push(result);
        }
    }
    results
}

/// The optional subjects this machine cannot run, by index, with the reason.
fn skipped_subjects(plan: &Plan) -> BTreeMap<usize, String> {
    plan.subjects
        .iter()
        .enumerate()
        .filter(|(_, subject)| plan.optional.iter().any(|name| name == subject.name()))
        .filter_map(|(index, subject)| Some((index, subject.unavailable()?)))
        .collect()
}

/// The (subject, scenario) cells of the exec subjects that run, in plan order: each is a
/// request to a driver process, so they run on worker threads, as many as the machine has cores.
fn exec_jobs(plan: &Plan, skipped: &BTreeMap<usize, String>) -> Vec<(usize, usize)> {
    let exec_subjects: Vec<usize> = plan
        .subjects
        .iter()
        .enumerate()
        .filter(|(index, subject)| {
            matches!(subject, SubjectKind::Exec(_)) && !skipped.contains_key(index)
        })
        .map(|(index, _)| index)
        .collect();
    (0..plan.scenarios.len())
        .flat_map(|scenario| {
            exec_subjects
                .iter()
                .map(move |&subject| (subject, scenario))
        })
        .collect()
}

/// The exec subjects' transcripts, by (subject, scenario) index, handed from the workers to
/// the thread that judges the cells in plan order.
#[derive(Default)]
struct ExecResults {
    done: std::sync::Mutex<std::collections::HashMap<(usize, usize), Result<String, String>>>,
    changed: std::sync::Condvar,
}

impl ExecResults {
    fn put(&self, cell: (usize, usize), transcript: Result<String, String>) {
        self.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cell, transcript);
        self.changed.notify_all();
    }

    /// Waits for the cell's transcript. Every exec cell of the plan is a job, so it comes.
    fn take(&self, cell: (usize, usize)) -> Result<String, String> {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(transcript) = done.remove(&cell) {
                return transcript;
            }
            done = self.changed.wait(done).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// The verdict of one cell whose transcript is already known, against its golden only (never
/// the python subject), with the matrix applied: what the golden tests check per trial.
pub fn verdict_against_golden(
    scenario: &Scenario,
    subject: &SubjectKind,
    transcript: Result<String, String>,
    golden_path: &std::path::Path,
    golden_shown: &str,
    matrix: Option<&Matrix>,
) -> CellResult {
    let golden = read_golden(golden_path);
    let no_reference = || Err("no golden: record the python transcript first".to_owned());
    let mut result = judge(
        scenario,
        subject,
        transcript,
        &golden,
        golden_shown,
        &no_reference,
    );
    if let Some(matrix) = matrix {
        judge_cell(matrix, &mut result);
    }
    result
}

/// The verdict of one cell: the subject's transcript against the golden or, when there is none
/// and the subject is not python, against the python transcript (computed only then).
fn judge(
    scenario: &Scenario,
    subject: &SubjectKind,
    transcript: Result<String, String>,
    golden: &Result<Option<Golden>, ReadGoldenError>,
    golden_shown: &str,
    python_transcript: &dyn Fn() -> Result<String, String>,
) -> CellResult {
    let cell = |status, golden: Option<&str>, message: String, difference: Option<Difference>| {
        let (first_difference, diff) = match difference {
            Some(d) => (Some(d.path), Some(d.diff)),
            None => (None, None),
        };
        let mut result = CellResult {
            scenario: scenario.name.clone(),
            subject: subject.name().to_owned(),
            status,
            golden: golden.map(str::to_owned),
            message,
            first_difference,
            fingerprint: None,
            diff,
        };
        result.fingerprint = fingerprint(&result);
        result
    };
    let transcript = match transcript {
        Ok(transcript) => transcript,
        Err(message) => return cell(Status::Error, None, message, None),
    };
    match golden {
        Err(error) => cell(Status::Error, Some(golden_shown), error.to_string(), None),
        Ok(Some(golden)) => match compare(&golden.body, golden_shown, &transcript, subject) {
            None => cell(Status::Pass, Some(golden_shown), String::new(), None),
            Some(diff) => cell(
                Status::Fail,
                Some(golden_shown),
                format!(
                    "the {subject} transcript differs from {golden_shown}{}",
                    golden.version_hint()
                ),
                Some(diff),
            ),
        },
        Ok(None) if *subject == SubjectKind::Python => cell(
            Status::New,
            Some(golden_shown),
            format!("no golden yet: the python transcript is a new golden for {golden_shown}"),
            None,
        ),
        Ok(None) => match python_transcript() {
            Err(message) => cell(
                Status::Error,
                None,
                format!(
                    "no golden yet at {golden_shown}, and the python subject (the reference without one) failed: {message}"
                ),
                None,
            ),
            Ok(python) => match compare(&python, "python", &transcript, subject) {
                None => cell(
                    Status::Pass,
                    None,
                    format!("no golden yet at {golden_shown}: compared with the python subject"),
                    None,
                ),
                Some(diff) => cell(
                    Status::Fail,
                    None,
                    format!(
                        "no golden yet at {golden_shown}: the {subject} transcript differs from the python subject's"
                    ),
                    Some(diff),
                ),
            },
        },
    }
}

/// Writes a cell's transcript (or why there is none) under `dir`.
fn keep_transcript(
    dir: &std::path::Path,
    subject: &SubjectKind,
    scenario: &Scenario,
    transcript: &Result<String, String>,
) -> std::io::Result<()> {
    let dir = dir.join(subject.name());
    std::fs::create_dir_all(&dir)?;
    match transcript {
        Ok(text) => std::fs::write(dir.join(format!("{}.txt", scenario.name)), text),
        Err(reason) => std::fs::write(dir.join(format!("{}.error", scenario.name)), reason),
    }
}

/// How a transcript differs from its reference.
struct Difference {
    diff: String,
    path: String,
}

fn compare(
    reference: &str,
    reference_label: &str,
    transcript: &str,
    subject: &SubjectKind,
) -> Option<Difference> {
    let diff = diff(reference, reference_label, transcript, subject.name())?;
    let path =
        first_difference(reference, transcript).unwrap_or_else(|| "trailing whitespace".into());
    Some(Difference { diff, path })
}

/// Records a new golden candidate (`result` is the python cell's `new` verdict) and says in its
/// message what was written and how to accept it.
fn record_new(
    workspace: &Workspace,
    goldens: &GoldenStore,
    scenario: &Scenario,
    mut result: CellResult,
    python: &OnceCell<Result<String, String>>,
) -> CellResult {
    let Some(Ok(transcript)) = python.get() else {
        return result;
    };
    let info = GoldenInfo {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        client: CLIENT_PACKAGE.into(),
        client_version: PythonSubject::started_client_version().unwrap_or_default(),
        normalizer_version: crate::normalize::NORMALIZER_VERSION,
    };
    let shown = result.golden.clone().unwrap_or_default();
    match goldens.record_new(&info, transcript) {
        Ok(Some(_)) if goldens.new_goldens() == NewGoldens::Accept => {
            result.message = format!("no golden yet: recorded the python transcript as {shown}");
        }
        Ok(Some(path)) => {
            // cargo-insta finds pending snapshots only inside the workspace's packages.
            let review = if goldens.dir() == workspace.golden_dir() {
                "review it with `cargo insta review`, or run again with --accept-new"
            } else {
                "read it, then record it with --accept-new"
            };
            result.message = format!(
                "no golden yet: the python transcript is pending in {}; {review}",
                workspace.display(&path)
            );
        }
        Ok(None) => {
            result.message = format!(
                "no golden yet at {shown} (CI is set, so nothing was written); record it locally with --accept-new, review it and commit it"
            );
        }
        Err(e) => {
            result.status = Status::Error;
            result.message = format!("no golden yet at {shown}, and recording it failed: {e}");
        }
    }
    result
}
