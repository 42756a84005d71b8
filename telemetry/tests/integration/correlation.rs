//! Correlation properties (proptest): generated workloads of nested spans moved across threads
//! and tokio tasks with the library's propagation helpers, several traces at once, observations
//! ("hook calls") at random points, early returns, errors and panics inside scopes. After each
//! case:
//!
//! * every span carries its trace's id; every parent exists in the same trace and encloses its
//!   child in time; a span's parent is the span that was current where it started;
//! * no trace or span id is shared between runs, and ids have the Python client's shapes;
//! * the current trace and span are restored after every scope, on every thread, also after a
//!   panic or an early return;
//! * every observation, and every `openai.agents` log line, carries the trace and span current
//!   where it was made, also after a hand-off to a thread, a task or a blocking task;
//! * the trace export carries the workflow name, group id and metadata given to it;
//! * work spawned *without* the helpers sees no trace and no span (so none of this holds by
//!   accident).
//!
//! The interpreter takes its propagation and scoping from a [`Mechanics`] value; the
//! injected-bug tests swap in a hand-off that drops the context and a scope that forgets to
//! restore its parent, and show that each is caught and shrunk to a small workload.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;

use codex_telemetry::context::{self, Context, InContextExt};
use codex_telemetry::{
    CustomSpanData, FunctionSpanData, JsonMap, TraceOptions, TraceProvider, current_span,
    current_trace,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{Value, json};

use crate::support::Timeline;

/// One step of a workload.
#[derive(Debug, Clone)]
enum Op {
    /// A span around `body`, which ends the way `exit` says.
    Span {
        function: bool,
        exit: Exit,
        body: Vec<Op>,
    },
    /// Reads the current trace and span, as a hook would.
    Observe,
    /// `body` on a new thread through `context::spawn`.
    Thread(Vec<Op>),
    /// `body` as a tokio task, through `InContextExt::in_context`.
    Task(Vec<Op>),
    /// `body` on tokio's blocking pool, through `Context::wrap`.
    Blocking(Vec<Op>),
    /// A plain `std::thread::spawn`, without a helper: it must see nothing.
    PlainThread,
}

/// How a span's scope is left.
#[derive(Debug, Clone, Copy)]
enum Exit {
    Normal,
    /// An early `return` from the middle of the body.
    EarlyReturn,
    /// The body's work fails and the span records the error.
    Error,
    /// The body panics (caught outside the span).
    Panic,
}

/// A run: one trace of its own.
#[derive(Debug, Clone)]
struct Run {
    workflow: String,
    group_id: Option<String>,
    metadata: bool,
    ops: Vec<Op>,
}

fn op() -> impl Strategy<Value = Op> {
    let leaf = prop_oneof![Just(Op::Observe), Just(Op::PlainThread)];
    leaf.prop_recursive(5, 40, 4, |inner| {
        let body = prop::collection::vec(inner, 0..4);
        prop_oneof![
            4 => (any::<bool>(), exit(), body.clone())
                .prop_map(|(function, exit, body)| Op::Span { function, exit, body }),
            1 => body.clone().prop_map(Op::Thread),
            1 => body.clone().prop_map(Op::Task),
            1 => body.prop_map(Op::Blocking),
        ]
    })
}

fn exit() -> impl Strategy<Value = Exit> {
    prop_oneof![
        4 => Just(Exit::Normal),
        1 => Just(Exit::EarlyReturn),
        1 => Just(Exit::Error),
        1 => Just(Exit::Panic),
    ]
}

fn runs() -> impl Strategy<Value = Vec<Run>> {
    prop::collection::vec(
        (
            "[A-Z][a-z]{1,6}",
            prop::option::of("[a-z]{2,4}"),
            any::<bool>(),
            prop::collection::vec(op(), 1..4),
        )
            .prop_map(|(workflow, group_id, metadata, ops)| Run {
                workflow,
                group_id,
                metadata,
                ops,
            }),
        1..4,
    )
}

/// How work crosses threads and how a span scope is entered: the library's helpers, or an
/// injected bug.
#[derive(Debug, Clone, Copy)]
struct Mechanics {
    /// Hands a closure to a new thread (correct: `context::spawn`).
    drop_context_on_thread: bool,
    /// Leaves a span scope without restoring the parent (the guard is leaked).
    forget_to_restore: bool,
}

const CORRECT: Mechanics = Mechanics {
    drop_context_on_thread: false,
    forget_to_restore: false,
};

/// What the interpreter expected, to compare with what was emitted.
#[derive(Debug, Default)]
struct Expected {
    /// span id → (trace id, expected parent span id).
    spans: BTreeMap<String, (String, Option<String>)>,
    /// Problems seen while running (restore failures, wrong observations).
    problems: Vec<String>,
}

type Shared = std::sync::Arc<std::sync::Mutex<Expected>>;

/// The current (trace id, span id), as the library reports it.
type Ids = (Option<String>, Option<String>);

fn ids() -> Ids {
    (
        current_trace().map(|t| t.id().to_owned()),
        current_span().map(|s| s.id().to_owned()),
    )
}

struct Interpreter {
    provider: TraceProvider,
    mechanics: Mechanics,
    expected: Shared,
    timeline: Timeline,
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
}

impl Interpreter {
    fn problem(&self, text: String) {
        self.expected.lock().unwrap().problems.push(text);
    }

    /// Runs `ops` where the interpreter expects `here` to be current (it tracks the context
    /// itself, from the scopes it entered, independently of the library).
    fn run_ops(&self, ops: &[Op], here: &Ids) {
        for op in ops {
            self.run_op(op, here);
        }
    }

    fn run_op(&self, op: &Op, here: &Ids) {
        match op {
            Op::Observe => {
                let seen = ids();
                if &seen != here {
                    self.problem(format!("an observation saw {seen:?}, expected {here:?}"));
                }
            }
            Op::PlainThread => {
                let seen = std::thread::spawn(ids).join().unwrap();
                if seen != (None, None) {
                    self.problem(format!("a plain thread inherited {seen:?}"));
                }
            }
            Op::Span {
                function,
                exit,
                body,
            } => {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                    self.span_scope(*function, *exit, body, here);
                }));
                if outcome.is_err() != matches!(exit, Exit::Panic) {
                    self.problem(format!("panic mismatch for {exit:?}"));
                }
            }
            Op::Thread(body) => {
                let (this, body, at) = (self.detached(), body.clone(), here.clone());
                let work = move || this.with_logs(|| this.run_ops(&body, &at));
                let handle = if self.mechanics.drop_context_on_thread {
                    std::thread::spawn(work)
                } else {
                    context::spawn(work)
                };
                handle.join().unwrap();
            }
            Op::Task(body) => {
                let (this, body, at) = (self.detached(), body.clone(), here.clone());
                let future = async move { this.with_logs(|| this.run_ops(&body, &at)) }
                    .in_context(Context::current());
                self.wait(self.runtime.spawn(future));
            }
            Op::Blocking(body) => {
                let (this, body, at) = (self.detached(), body.clone(), here.clone());
                let work =
                    Context::current().wrap(move || this.with_logs(|| this.run_ops(&body, &at)));
                self.wait(self.runtime.spawn_blocking(work));
            }
        }
        let after = ids();
        if &after != here {
            self.problem(format!(
                "{} did not restore the context: {here:?} became {after:?}",
                name(op)
            ));
        }
    }

    /// Waits for a task from anywhere: a plain thread, a runtime worker or the blocking pool.
    fn wait<T>(&self, handle: tokio::task::JoinHandle<T>) {
        let joined = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::task::block_in_place(|| self.runtime.handle().block_on(handle))
        } else {
            self.runtime.block_on(handle)
        };
        joined.unwrap();
    }

    fn span_scope(&self, function: bool, exit: Exit, body: &[Op], here: &Ids) {
        let (trace, parent) = here.clone();
        let span = if function {
            self.provider
                .span(FunctionSpanData::new("tool"))
                .into_span()
        } else {
            self.provider.span(CustomSpanData::new("step")).into_span()
        };
        if let Some(trace) = &trace {
            self.expected
                .lock()
                .unwrap()
                .spans
                .insert(span.id().to_owned(), (trace.clone(), parent));
        }
        let inside: Ids = (trace, Some(span.id().to_owned()));
        let guard = span.start_as_current();
        let (first, rest) = body.split_at(body.len() / 2);
        self.run_ops(first, &inside);
        match exit {
            Exit::EarlyReturn => {
                self.leave(guard);
                return;
            }
            Exit::Error => span.set_error(codex_telemetry::SpanError::new("Error running tool")),
            Exit::Panic => {
                self.run_ops(rest, &inside);
                panic!("a panic inside a span");
            }
            Exit::Normal => {}
        }
        self.run_ops(rest, &inside);
        self.leave(guard);
    }

    fn leave(&self, guard: codex_telemetry::SpanGuard) {
        if self.mechanics.forget_to_restore {
            std::mem::forget(guard);
        } else {
            drop(guard);
        }
    }

    /// A handle for another thread or task, sharing everything.
    fn detached(&self) -> std::sync::Arc<Interpreter> {
        std::sync::Arc::new(Interpreter {
            provider: self.provider.clone(),
            mechanics: self.mechanics,
            expected: self.expected.clone(),
            timeline: self.timeline.clone(),
            runtime: self.runtime.clone(),
        })
    }

    fn with_logs<R>(&self, f: impl FnOnce() -> R) -> R {
        self.timeline.capture_logs(f)
    }
}

fn name(op: &Op) -> &'static str {
    match op {
        Op::Span { .. } => "a span scope",
        Op::Observe => "an observation",
        Op::Thread(_) => "a thread hand-off",
        Op::Task(_) => "a task hand-off",
        Op::Blocking(_) => "a blocking hand-off",
        Op::PlainThread => "a plain thread",
    }
}

/// Runs the workload and checks every property; `Err` names the first broken one.
fn check(runs: &[Run], mechanics: Mechanics) -> Result<(), TestCaseError> {
    let timeline = Timeline::with_ids();
    let provider = TraceProvider::builder()
        .with_processor(timeline.processor())
        .build();
    let expected: Shared = Default::default();
    let runtime = std::sync::Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    );
    let interpreter = std::sync::Arc::new(Interpreter {
        provider: provider.clone(),
        mechanics,
        expected: expected.clone(),
        timeline: timeline.clone(),
        runtime: runtime.clone(),
    });
    // Runs go concurrently, each on its own thread started without any context.
    let mut trace_ids = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = runs
            .iter()
            .map(|run| {
                let this = interpreter.clone();
                scope.spawn(move || {
                    this.with_logs(|| {
                        let mut options = TraceOptions::new(run.workflow.clone());
                        if let Some(group) = &run.group_id {
                            options = options.with_group_id(group.clone());
                        }
                        if run.metadata {
                            options = options.with_metadata(JsonMap::from_iter([(
                                "run".to_owned(),
                                json!(run.workflow),
                            )]));
                        }
                        let trace = this.provider.trace(options).start_as_current();
                        let id = trace.trace().id().to_owned();
                        let here: Ids = (Some(id.clone()), None);
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
                            this.run_ops(&run.ops, &here)
                        }));
                        drop(trace);
                        if ids() != (None, None) {
                            this.problem(format!("the run's thread kept {:?}", ids()));
                        }
                        id
                    })
                })
            })
            .collect();
        for handle in handles {
            trace_ids.push(handle.join().unwrap());
        }
    });
    drop(interpreter);
    let expected = std::mem::take(&mut *expected.lock().unwrap());
    if let Some(problem) = expected.problems.first() {
        return Err(TestCaseError::fail(problem.clone()));
    }
    verify_exports(runs, &trace_ids, &expected, &timeline.entries())
}

fn verify_exports(
    runs: &[Run],
    trace_ids: &[String],
    expected: &Expected,
    timeline: &[Value],
) -> Result<(), TestCaseError> {
    let fail = |text: String| Err(TestCaseError::fail(text));
    let distinct: BTreeSet<&String> = trace_ids.iter().collect();
    if distinct.len() != trace_ids.len() {
        return fail("two runs share a trace id".into());
    }
    let mut starts: BTreeMap<String, Value> = BTreeMap::new();
    let mut ends: BTreeMap<String, Value> = BTreeMap::new();
    for entry in timeline {
        let kind = entry[0].as_str().unwrap_or_default();
        match kind {
            "trace_start" => {
                let data = &entry[1];
                let Some(i) = trace_ids.iter().position(|t| data["id"] == json!(t)) else {
                    return fail(format!("an unknown trace started: {data}"));
                };
                let run = &runs[i];
                let metadata = run.metadata.then(|| json!({"run": run.workflow}));
                if data["workflow_name"] != json!(run.workflow)
                    || data["group_id"] != json!(run.group_id)
                    || data["metadata"] != json!(metadata)
                {
                    return fail(format!("trace fields do not reach the export: {data}"));
                }
                if !is_shaped(data["id"].as_str(), "trace_", 32) {
                    return fail(format!("trace id shape: {}", data["id"]));
                }
            }
            "span_start" => {
                starts.insert(
                    entry[1]["id"].as_str().unwrap_or_default().to_owned(),
                    entry[1].clone(),
                );
            }
            "span_end" => {
                ends.insert(
                    entry[1]["id"].as_str().unwrap_or_default().to_owned(),
                    entry[1].clone(),
                );
            }
            "log" => {
                // Every log line carries ids of one run: the span, if any, is in that trace.
                let (trace, span) = (entry[3].as_str(), entry[4].as_str());
                if let Some(span) = span {
                    let Some((span_trace, _)) = expected.spans.get(span) else {
                        return fail(format!("a log line names an unknown span: {entry}"));
                    };
                    if trace != Some(span_trace.as_str()) {
                        return fail(format!("a log line's span is in another trace: {entry}"));
                    }
                }
                if let Some(trace) = trace
                    && !trace_ids.iter().any(|t| t == trace)
                {
                    return fail(format!("a log line names an unknown trace: {entry}"));
                }
            }
            _ => {}
        }
    }
    for (id, (trace, parent)) in &expected.spans {
        let (Some(start), Some(end)) = (starts.get(id), ends.get(id)) else {
            return fail(format!("span {id} did not start and end exactly once"));
        };
        if !is_shaped(Some(id), "span_", 24) {
            return fail(format!("span id shape: {id}"));
        }
        if end["trace_id"] != json!(trace) {
            return fail(format!(
                "span {id} is in trace {}, expected {trace}",
                end["trace_id"]
            ));
        }
        if end["parent_id"] != json!(parent) || start["parent_id"] != json!(parent) {
            return fail(format!(
                "span {id} has parent {}, expected {parent:?}",
                end["parent_id"]
            ));
        }
        if let Some(parent) = parent {
            let Some(parent_end) = ends.get(parent) else {
                return fail(format!("the parent {parent} of {id} never ended"));
            };
            if parent_end["trace_id"] != end["trace_id"] {
                return fail(format!("the parent {parent} of {id} is in another trace"));
            }
            let time = |v: &Value| micros(v.as_str());
            if time(&parent_end["started_at"]) > time(&end["started_at"])
                || time(&parent_end["ended_at"]) < time(&end["ended_at"])
            {
                return fail(format!("the parent {parent} does not enclose {id} in time"));
            }
        }
    }
    if starts.len() != expected.spans.len() {
        return fail(format!(
            "{} spans started, {} expected",
            starts.len(),
            expected.spans.len()
        ));
    }
    Ok(())
}

fn is_shaped(id: Option<&str>, prefix: &str, hex: usize) -> bool {
    id.and_then(|id| id.strip_prefix(prefix))
        .is_some_and(|rest| {
            rest.len() == hex
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        })
}

/// Microseconds since the epoch of a Python `isoformat()` UTC timestamp (enough to order).
fn micros(text: Option<&str>) -> i128 {
    let Some(text) = text else { return i128::MIN };
    let text = text.trim_end_matches("+00:00");
    let (main, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits: String = main.chars().filter(char::is_ascii_digit).collect();
    let whole: i128 = digits.parse().unwrap_or(0);
    let fraction: i128 = format!("{fraction:0<6}")[..6].parse().unwrap_or(0);
    whole * 1_000_000 + fraction
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2048,
        ..Config::default()
    }
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(config(cases))
}

/// For the tests of the properties themselves: how far a failure shrinks depends on the
/// cases drawn (a nested span cannot always be lifted out), so they draw the same cases
/// every run instead of sometimes stopping one level short.
fn seeded_runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        config(cases),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    )
}

fn size(runs: &[Run]) -> usize {
    runs.iter().map(|r| count_ops(&r.ops)).sum()
}

fn count_ops(ops: &[Op]) -> usize {
    ops.iter()
        .map(|op| {
            1 + match op {
                Op::Span { body, .. } | Op::Thread(body) | Op::Task(body) | Op::Blocking(body) => {
                    count_ops(body)
                }
                _ => 0,
            }
        })
        .sum()
}

#[test]
fn correlation_invariants_hold_for_generated_workloads() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let result = runner(cases).run(&runs(), |runs| check(&runs, CORRECT));
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The properties catch a hand-off that drops the context, and shrink it to a small case.
#[test]
fn a_thread_hand_off_that_drops_the_context_is_caught_and_shrunk() {
    let buggy = Mechanics {
        drop_context_on_thread: true,
        ..CORRECT
    };
    match seeded_runner(256).run(&runs(), |runs| check(&runs, buggy)) {
        Err(TestError::Fail(reason, minimal)) => {
            assert!(
                reason.message().contains("observation"),
                "{}",
                reason.message()
            );
            assert!(size(&minimal) <= 3, "not shrunk: {minimal:?}");
        }
        other => panic!("the dropped context was not caught: {other:?}"),
    }
}

/// The properties catch a span scope that does not restore its parent.
#[test]
fn a_span_that_forgets_to_restore_its_parent_is_caught_and_shrunk() {
    let buggy = Mechanics {
        forget_to_restore: true,
        ..CORRECT
    };
    match seeded_runner(256).run(&runs(), |runs| check(&runs, buggy)) {
        Err(TestError::Fail(reason, minimal)) => {
            assert!(
                reason.message().contains("did not restore"),
                "{}",
                reason.message()
            );
            assert!(size(&minimal) <= 2, "not shrunk: {minimal:?}");
        }
        other => panic!("the unrestored parent was not caught: {other:?}"),
    }
}
