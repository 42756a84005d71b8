//! Executing a plan: every (scenario, subject) cell is run, normalized and compared with the
//! golden (or, without a golden, with the python subject), and each result is passed to one
//! callback, the only link between the runner and the reporters.
//!
//! The plan's decisions come first ([`Plan::decide`]); then the exec subjects' cells run on
//! worker threads while this thread runs the in-process subjects and judges every cell in plan
//! order (`judge.rs`).

use std::cell::OnceCell;
use std::collections::BTreeMap;

use super::events::{ClientInfo, ParityEvent, RunReport};
use super::judge::{judge, keep_transcript, record_new};
use super::plan::{Decision, Decisions, Plan};
use super::stages::cell_transcript;
use crate::compare::golden::read_golden;
use crate::matrix::{feature_verdicts, judge_cell};
use crate::result::{CellResult, Status};
use crate::subject::SubjectKind;
use crate::subject::python::{CLIENT_PACKAGE, PythonSubject};
use crate::workspace::Workspace;

/// Runs `plan` and returns the report; `on_event` sees each cell start and finish.
pub fn execute(
    workspace: &Workspace,
    plan: &Plan,
    mut on_event: impl FnMut(ParityEvent<'_>),
) -> RunReport {
    // What each subject can run is decided here, once, before any subject starts.
    let decisions = plan.decide();
    let exec_jobs = exec_jobs(plan, &decisions);
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
                        cell_transcript(&plan.subjects[s], workspace, &plan.scenarios[i])
                    }))
                    .unwrap_or_else(|_| Err("the harness panicked running this cell".into()));
                    exec_results.put((s, i), transcript);
                }
            });
        }
        judge_cells(workspace, plan, &decisions, &exec_results, &mut on_event)
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
    decisions: &Decisions,
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
                .get_or_init(|| cell_transcript(&SubjectKind::Python, workspace, scenario))
                .clone()
        };
        for (subject_index, subject) in plan.subjects.iter().enumerate() {
            on_event(ParityEvent::CellStarted {
                scenario: &scenario.name,
                subject: subject.name(),
            });
            let transcript = match decisions.cell(subject_index, scenario_index) {
                Decision::Skipped(reason) => {
                    let result = CellResult {
                        scenario: scenario.name.clone(),
                        subject: subject.name().to_owned(),
                        status: Status::Skipped,
                        golden: None,
                        message: reason.to_owned(),
                        first_difference: None,
                        fingerprint: None,
                        diff: None,
                    };
                    on_event(ParityEvent::CellFinished(&result));
                    results.push(result);
                    continue;
                }
                // An error from the plan's decision, judged like a subject's error.
                Decision::Unsupported(error) => Err(error.to_owned()),
                Decision::Run => match subject {
                    SubjectKind::Python => python_transcript(),
                    SubjectKind::Exec(_) => exec_results.take((subject_index, scenario_index)),
                    _ => cell_transcript(subject, workspace, scenario),
                },
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

/// The (subject, scenario) cells of the exec subjects that run, in plan order: each is a
/// request to a driver process, so they run on worker threads, as many as the machine has cores.
fn exec_jobs(plan: &Plan, decisions: &Decisions) -> Vec<(usize, usize)> {
    let exec_subjects: Vec<usize> = plan
        .subjects
        .iter()
        .enumerate()
        .filter(|(_, subject)| matches!(subject, SubjectKind::Exec(_)))
        .map(|(index, _)| index)
        .collect();
    (0..plan.scenarios.len())
        .flat_map(|scenario| {
            exec_subjects
                .iter()
                .map(move |&subject| (subject, scenario))
        })
        .filter(|&(subject, scenario)| decisions.cell(subject, scenario) == Decision::Run)
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
