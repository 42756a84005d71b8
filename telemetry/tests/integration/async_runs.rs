//! Lifecycle runs driven by async code, as a tokio-based agent SDK drives them: each run
//! lives inside `tokio::spawn` on a multi-thread runtime, is held across `.await`s and
//! yields between lifecycle steps (so it moves between worker threads; one step even runs
//! on the blocking pool), many runs at once. Its model request and tools are futures run
//! in the contexts the handles give out, and a tool hands work to another task.
//!
//! The recorded stream (processor events, `openai.agents` log lines and hook calls in one
//! timeline) must show each run's spans in its own trace, every parent started before and
//! ended after its children, no id crossing runs, log lines and hooks carrying the ids of
//! the span current at emission, and the caller's context unchanged between steps and
//! afterwards.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::thread::ThreadId;

use codex_telemetry::config::{EnvConfig, RunConfig};
use codex_telemetry::context::{Context, InContext, InContextExt};
use codex_telemetry::hooks::{AgentHooks, RunContext, RunHooks};
use codex_telemetry::lifecycle::{
    AgentInfo, Item, ModelCall, ModelCallOptions, ModelResponse, Run, RunOptions, Runner,
    ToolBatch, ToolInfo, Turn,
};
use codex_telemetry::{
    CallToolError, CustomSpanData, JsonMap, RunAgentError, SpanOptions, TraceProvider,
    current_span, current_trace,
};
use serde_json::{Value, json};
use tokio::task::yield_now;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::Timeline;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn lifecycle_handles_are_send_and_sync() {
    assert_send_sync::<Runner>();
    assert_send_sync::<RunOptions>();
    assert_send_sync::<Run>();
    assert_send_sync::<Turn<'static>>();
    assert_send_sync::<ModelCall<'static>>();
    assert_send_sync::<ToolBatch<'static>>();
    assert_send_sync::<Context>();
    assert_send_sync::<InContext<std::future::Ready<()>>>();
}

// === the SDK side ===

/// The ids current on this thread, no-op handles counting as none.
fn current_ids() -> (Option<String>, Option<String>) {
    (
        current_trace()
            .filter(|t| !t.is_noop())
            .map(|t| t.id().to_owned()),
        current_span()
            .filter(|s| !s.is_noop())
            .map(|s| s.id().to_owned()),
    )
}

fn ids_of(context: &Context) -> (Option<String>, Option<String>) {
    (
        context.trace().map(|t| t.id().to_owned()),
        context.span().map(|s| s.id().to_owned()),
    )
}

/// Records hook calls as `["hook", "HOOK", name, trace_id, span_id]`, the layout of log
/// entries.
struct IdHooks(Timeline);

impl IdHooks {
    fn add(&self, name: &str) {
        let (trace_id, span_id) = current_ids();
        self.0
            .record(json!(["hook", "HOOK", name, trace_id, span_id]));
    }
}

impl RunHooks for IdHooks {
    fn on_agent_start(&self, _: &RunContext, _: &AgentInfo) {
        self.add("on_agent_start");
    }
    fn on_agent_end(&self, _: &RunContext, _: &AgentInfo, _: &Value) {
        self.add("on_agent_end");
    }
    fn on_llm_start(&self, _: &RunContext, _: &AgentInfo, _: Option<&str>, _: &[Item]) {
        self.add("on_llm_start");
    }
    fn on_llm_end(&self, _: &RunContext, _: &AgentInfo, _: &ModelResponse) {
        self.add("on_llm_end");
    }
    fn on_tool_start(&self, _: &RunContext, _: &AgentInfo, _: &ToolInfo) {
        self.add("on_tool_start");
    }
    fn on_tool_end(&self, _: &RunContext, _: &AgentInfo, _: &ToolInfo, _: &str) {
        self.add("on_tool_end");
    }
}

impl AgentHooks for IdHooks {
    fn on_tool_start(&self, _: &RunContext, _: &AgentInfo, _: &ToolInfo) {
        self.add("on_tool_start");
    }
}

/// One run's task.
struct Task {
    runner: Runner,
    hooks: Arc<IdHooks>,
    index: usize,
    /// What the task's own context is between lifecycle calls (its caller's).
    caller: (Option<String>, Option<String>),
    threads: HashSet<ThreadId>,
}

impl Task {
    /// Between lifecycle steps: the task's context is its caller's, whatever the run has
    /// open; then the task yields, and may resume on another worker thread.
    async fn step(&mut self) {
        assert_eq!(current_ids(), self.caller, "run {}", self.index);
        self.threads.insert(std::thread::current().id());
        yield_now().await;
        self.threads.insert(std::thread::current().id());
        assert_eq!(current_ids(), self.caller, "run {}", self.index);
    }

    /// A two-turn run: two tool calls, then a final output. Returns the threads it ran on.
    async fn run(mut self) -> HashSet<ThreadId> {
        let i = self.index;
        let tool = ToolInfo::new(format!("lookup{i}")).with_parameters(["q"]);
        let agent = AgentInfo::new(format!("agent{i}"))
            .with_tool(tool.clone())
            .with_hooks(self.hooks.clone());
        let options = RunOptions::new()
            .with_config(RunConfig::new().with_workflow_name(format!("run{i}")))
            .with_input(vec![Item::user_message("Look it up.")])
            .with_hooks(self.hooks.clone());
        let run = self.runner.start_run(options);
        self.step().await;
        // A step on the blocking pool: the run moves to another thread and back. (The
        // task's log dispatcher goes along, as the task's own polls have it.)
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let (mut run, thread) = tokio::task::spawn_blocking(move || {
            let mut run = run;
            tracing::dispatcher::with_default(&dispatch, || run.start_agent(&agent));
            (run, std::thread::current().id())
        })
        .await
        .unwrap();
        self.threads.insert(thread);
        self.step().await;
        let outcome = self.drive(&mut run).await;
        self.step().await;
        assert_eq!(run.finish(outcome).unwrap(), json!(format!("done {i}")));
        assert_eq!(current_ids(), self.caller);
        self.threads
    }

    async fn drive(&mut self, run: &mut Run) -> Result<Value, RunAgentError> {
        let i = self.index;
        let provider = self.runner.provider().clone();
        for turn_number in 1.. {
            let mut turn = run.start_turn()?;
            self.step().await;
            let call = turn.start_model_call(ModelCallOptions::new());
            self.step().await;
            // The model request: a future polled in the call's context.
            let generation = ids_of(&call.context());
            let (response, seen, request_parent) = model(&provider, i, turn_number)
                .in_context(call.context())
                .await;
            assert_eq!(seen, generation, "the request sees its generation span");
            assert_eq!(request_parent, generation.1, "its spans are children");
            self.step().await;
            let processed = call.finish(response)?;
            self.step().await;
            if processed.has_tools_or_handoffs() {
                let mut batch = turn.start_tools(processed.tool_calls());
                self.step().await;
                for j in 0..batch.len() {
                    let function = ids_of(&batch.context(j)).1.unwrap();
                    let provider = provider.clone();
                    let text = batch
                        .invoke_async(j, move |args| tool_call(provider, i, args))
                        .await?;
                    assert_eq!(text, function, "the tool sees its function span");
                    self.step().await;
                }
                batch.finish();
                self.step().await;
                turn.end();
                self.step().await;
                continue;
            }
            let output = json!(processed.final_text().unwrap_or_default());
            turn.final_output(&output);
            self.step().await;
            turn.end();
            return Ok(output);
        }
        unreachable!()
    }
}

/// The scripted model: awaits, records a child span of the request, answers with two
/// tool calls, then with text. Returns what it saw as current and its span's parent.
async fn model(
    provider: &TraceProvider,
    i: usize,
    turn: u32,
) -> (
    ModelResponse,
    (Option<String>, Option<String>),
    Option<String>,
) {
    yield_now().await;
    let request = provider.span(CustomSpanData::new(format!("request{i}")));
    request.start();
    yield_now().await;
    let seen = current_ids();
    request.finish();
    let output = if turn == 1 {
        vec![
            Item::function_call(format!("lookup{i}"), "call_1", r#"{"q":"a"}"#),
            Item::function_call(format!("lookup{i}"), "call_2", r#"{"q":"b"}"#),
        ]
    } else {
        vec![Item::assistant_message(format!("done {i}"))]
    };
    (
        ModelResponse::new(output),
        seen,
        request.parent_id().map(str::to_owned),
    )
}

/// An async tool: awaits, hands work to another task in its own context, and answers
/// with the id of the span current inside it.
async fn tool_call(
    provider: TraceProvider,
    i: usize,
    args: JsonMap,
) -> Result<Value, CallToolError> {
    assert!(args["q"].is_string());
    yield_now().await;
    let function = current_span().unwrap().id().to_owned();
    let subtask = tokio::spawn(
        async move {
            yield_now().await;
            let span = provider.span(CustomSpanData::new(format!("subtask{i}")));
            span.start();
            span.finish();
            span.parent_id().map(str::to_owned)
        }
        .in_current_context()
        .with_current_subscriber(),
    );
    assert_eq!(subtask.await.unwrap().as_deref(), Some(function.as_str()));
    yield_now().await;
    Ok(json!(current_span().unwrap().id()))
}

/// Runs `runs` tasks concurrently on a 4-worker runtime, each polled in `caller` and with
/// its log lines recorded into `timeline`. Returns the threads each ran on.
fn run_concurrently(
    timeline: &Timeline,
    provider: &TraceProvider,
    runs: usize,
    caller: &Context,
) -> Vec<HashSet<ThreadId>> {
    // The binary's global subscriber first (see `Timeline::layer`).
    Timeline::default().capture_logs(|| ());
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(timeline.layer()));
    let runner = Runner::new(provider.clone(), EnvConfig::default());
    let hooks = Arc::new(IdHooks(timeline.clone()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let before = current_ids();
    let threads = runtime.block_on(async {
        let tasks: Vec<_> = (0..runs)
            .map(|index| {
                let task = Task {
                    runner: runner.clone(),
                    hooks: hooks.clone(),
                    index,
                    caller: ids_of(caller),
                    threads: HashSet::new(),
                };
                tokio::spawn(
                    task.run()
                        .in_context(caller.clone())
                        .with_subscriber(dispatch.clone()),
                )
            })
            .collect();
        let mut threads = Vec::new();
        for task in tasks {
            threads.push(task.await.expect("the run's task succeeds"));
        }
        threads
    });
    assert_eq!(current_ids(), before, "the caller's context is unchanged");
    threads
}

// === checking the stream ===

#[derive(Debug)]
struct SpanRecord {
    trace_id: String,
    parent_id: Option<String>,
    start: usize,
    end: Option<usize>,
    data: Value,
    /// The run the span belongs to, from its name (`agent3`, `lookup3`, …).
    owner: Option<usize>,
}

/// The run index a span names: the number ending its task, agent, turn, function or
/// custom name.
fn named_owner(span_data: &Value) -> Option<usize> {
    let name = match (span_data["type"].as_str()?, span_data["name"].as_str()) {
        ("custom", Some("task")) => span_data["data"]["name"].as_str()?,
        ("custom", Some("turn")) => span_data["data"]["agent_name"].as_str()?,
        ("agent" | "function" | "custom", Some(name)) => name,
        _ => return None,
    };
    let digits = name.trim_start_matches(|c: char| !c.is_ascii_digit());
    digits.parse().ok()
}

fn kind(span_data: &Value) -> String {
    match span_data["type"].as_str().unwrap() {
        "custom" => format!("custom:{}", span_data["name"].as_str().unwrap()),
        other => other.to_owned(),
    }
}

/// Checks the records of `runs` runs (see the module docs) and returns their spans. With
/// `outer` (a trace id and span id), the runs ran inside that caller's trace and span,
/// whose own records are not in `entries`; else each run made its own trace.
fn check_timeline(
    entries: &[Value],
    runs: usize,
    outer: Option<(&str, &str)>,
) -> HashMap<String, SpanRecord> {
    let user_trace = outer.map(|(trace, _)| trace);
    let outer_span = outer.map(|(_, span)| span);
    // trace id -> the run whose workflow it is (None for the user's trace)
    let mut traces: HashMap<String, Option<usize>> = HashMap::new();
    if let Some(user_trace) = user_trace {
        traces.insert(user_trace.to_owned(), None);
    }
    let mut spans: HashMap<String, SpanRecord> = HashMap::new();
    // (trace, parent) -> spans announced by `Creating span with id None` and not started
    let mut announced: HashMap<(String, Option<String>), usize> = HashMap::new();
    let mut ended_traces = BTreeSet::new();

    for (at, entry) in entries.iter().enumerate() {
        let what = entry[0].as_str().unwrap();
        match what {
            "trace_start" => {
                assert!(user_trace.is_none(), "runs in a user trace make no trace");
                let name = entry[1]["workflow_name"].as_str().unwrap();
                let run = name.strip_prefix("run").unwrap().parse().unwrap();
                let id = entry[1]["id"].as_str().unwrap().to_owned();
                assert!(traces.insert(id, Some(run)).is_none());
            }
            "trace_end" => {
                let id = entry[1]["id"].as_str().unwrap();
                assert!(traces.contains_key(id));
                assert!(ended_traces.insert(id.to_owned()));
                assert!(
                    spans
                        .values()
                        .filter(|s| s.trace_id == id)
                        .all(|s| s.end.is_some()),
                    "a trace ends after its spans"
                );
            }
            "span_start" => {
                let data = &entry[1];
                let id = data["id"].as_str().unwrap().to_owned();
                let trace_id = data["trace_id"].as_str().unwrap().to_owned();
                let parent_id = data["parent_id"].as_str().map(str::to_owned);
                assert!(traces.contains_key(&trace_id), "{data}");
                let key = (trace_id.clone(), parent_id.clone());
                let pending = announced.get_mut(&key).filter(|n| **n > 0);
                *pending.unwrap_or_else(|| {
                    panic!("`Creating span` is logged under the new span's parent: {data}")
                }) -= 1;
                let named = named_owner(&data["span_data"]);
                let owner = match &parent_id {
                    Some(parent) if Some(parent.as_str()) == outer_span => named,
                    Some(parent) => {
                        let parent = spans.get(parent).expect("the parent started first");
                        assert_eq!(parent.trace_id, trace_id, "{data}");
                        assert!(parent.end.is_none(), "the parent is open: {data}");
                        parent.owner.or(named)
                    }
                    None => named,
                };
                assert!(owner.is_some(), "every span belongs to a run: {data}");
                if let Some(named) = named {
                    assert_eq!(Some(named), owner, "no span crosses runs: {data}");
                }
                if let Some(Some(run)) = traces.get(&trace_id) {
                    assert_eq!(Some(*run), owner, "each run has its own trace: {data}");
                }
                spans.insert(
                    id,
                    SpanRecord {
                        trace_id,
                        parent_id,
                        start: at,
                        end: None,
                        data: data["span_data"].clone(),
                        owner,
                    },
                );
            }
            "span_end" => {
                let id = entry[1]["id"].as_str().unwrap();
                let span = spans.get_mut(id).expect("ended spans started");
                assert_eq!(span.end.replace(at), None);
            }
            "log" | "hook" => {
                let message = entry[2].as_str().unwrap();
                let trace_id = entry[3].as_str();
                let span_id = entry[4].as_str();
                let Some(trace_id) = trace_id else {
                    assert!(
                        user_trace.is_none()
                            && matches!(message, "Creating trace" | "Setting current trace")
                            && span_id.is_none(),
                        "only a run's trace setup is logged outside its trace: {entry}"
                    );
                    continue;
                };
                assert!(traces.contains_key(trace_id), "{entry}");
                if message == "Creating span with id None" {
                    let key = (trace_id.to_owned(), span_id.map(str::to_owned));
                    *announced.entry(key).or_default() += 1;
                }
                let Some(span_id) = span_id.filter(|id| Some(*id) != outer_span) else {
                    assert!(
                        matches!(
                            message,
                            "Creating span with id None" | "Resetting current trace"
                        ),
                        "only a task span's creation and the trace's reset are logged \
                         outside a run's spans: {entry}"
                    );
                    continue;
                };
                let span = spans.get(span_id).expect("the current span started");
                assert_eq!(span.trace_id, trace_id, "{entry}");
                assert!(span.end.is_none(), "the current span is open: {entry}");
                let expected = match message {
                    m if m.starts_with("Running agent") => Some("agent"),
                    "No conversation_id available for request"
                    | "on_agent_start"
                    | "on_llm_start"
                    | "on_llm_end"
                    | "on_agent_end" => Some("custom:turn"),
                    m if m.starts_with("Processing output item") => Some("custom:turn"),
                    m if m.starts_with("Invoking tool") || m.ends_with("completed.") => {
                        Some("function")
                    }
                    "on_tool_start" | "on_tool_end" => Some("function"),
                    "Creating span with id None" => None,
                    other => panic!("unexpected line {other:?}"),
                };
                if let Some(expected) = expected {
                    assert_eq!(kind(&span.data), expected, "{entry}");
                }
                if let Some(run) = message
                    .strip_prefix("Running agent agent")
                    .or_else(|| message.strip_prefix("Invoking tool lookup"))
                {
                    let run: usize = run.split(' ').next().unwrap().parse().unwrap();
                    assert_eq!(span.owner, Some(run), "{entry}");
                }
            }
            other => panic!("unexpected entry {other}"),
        }
    }

    assert!(
        announced.values().all(|n| *n == 0),
        "every announced span started"
    );
    for (id, span) in &spans {
        let end = span.end.unwrap_or_else(|| panic!("span {id} never ended"));
        if let Some(parent) = span.parent_id.as_ref().and_then(|p| spans.get(p)) {
            assert!(parent.start < span.start && end < parent.end.unwrap());
        }
    }
    let run_traces = traces.values().filter(|run| run.is_some()).count();
    assert_eq!(run_traces, if user_trace.is_some() { 0 } else { runs });
    assert_eq!(ended_traces.len(), run_traces);
    // Per run: task, agent, 2 turns, 2 generations, 2 requests, 2 functions, 2 subtasks.
    for run in 0..runs {
        let kinds: Vec<String> = {
            let mut kinds: Vec<String> = spans
                .values()
                .filter(|s| s.owner == Some(run))
                .map(|s| kind(&s.data))
                .collect();
            kinds.sort();
            kinds
        };
        assert_eq!(
            kinds,
            [
                "agent",
                "custom:request0",
                "custom:request0",
                "custom:subtask0",
                "custom:subtask0",
                "custom:task",
                "custom:turn",
                "custom:turn",
                "function",
                "function",
                "generation",
                "generation",
            ]
            .map(|k| k.replace('0', &run.to_string())),
            "run {run}"
        );
    }
    spans
}

#[test]
fn concurrent_lifecycle_runs_on_tokio_tasks_never_cross() {
    const RUNS: usize = 16;
    let timeline = Timeline::with_ids();
    let provider = TraceProvider::builder()
        .with_processor(timeline.processor())
        .build();
    let threads = run_concurrently(&timeline, &provider, RUNS, &Context::default());
    for (run, threads) in threads.iter().enumerate() {
        assert!(threads.len() > 1, "run {run} moved between threads");
    }
    let spans = check_timeline(&timeline.entries(), RUNS, None);
    assert_eq!(spans.len(), RUNS * 12);
    // Each run's spans share one trace id, and no two runs share one.
    let mut trace_of_run: HashMap<usize, BTreeSet<&str>> = HashMap::new();
    for span in spans.values() {
        trace_of_run
            .entry(span.owner.unwrap())
            .or_default()
            .insert(&span.trace_id);
    }
    let distinct: BTreeSet<&str> = trace_of_run
        .values()
        .map(|traces| {
            assert_eq!(traces.len(), 1);
            *traces.first().unwrap()
        })
        .collect();
    assert_eq!(distinct.len(), RUNS);
}

#[test]
fn lifecycle_runs_join_the_trace_of_the_context_they_are_polled_in() {
    const RUNS: usize = 6;
    let timeline = Timeline::with_ids();
    let provider = TraceProvider::builder()
        .with_processor(timeline.processor())
        .build();
    let trace = provider.trace("batch");
    trace.start();
    let batch = provider.create_span(
        CustomSpanData::new("batch"),
        SpanOptions::new().with_parent_trace(&trace),
    );
    batch.start();
    let caller = Context::default()
        .with_trace(trace.clone())
        .with_span(batch.clone().into_span());
    run_concurrently(&timeline, &provider, RUNS, &caller);
    batch.finish();
    trace.finish();

    let entries = timeline.entries();
    // The caller's own records: its trace and span, around the runs'.
    assert_eq!(entries[0][0], "trace_start");
    assert_eq!(entries[1][0], "span_start");
    let runs = &entries[2..entries.len() - 2];
    let spans = check_timeline(runs, RUNS, Some((trace.id(), batch.id())));
    assert_eq!(spans.len(), RUNS * 12);
    for span in spans.values().filter(|s| kind(&s.data) == "custom:task") {
        assert_eq!(span.parent_id.as_deref(), Some(batch.id()));
        assert_eq!(span.trace_id, trace.id());
    }
}

#[test]
fn async_tools_get_the_default_failure_handler() {
    use codex_telemetry::InMemoryProcessor;
    use codex_telemetry::lifecycle::{DEFAULT_TOOL_ERROR_OUTPUT, ToolCallRequest};

    let memory = InMemoryProcessor::new();
    let provider = TraceProvider::builder()
        .with_processor(memory.clone())
        .build();
    let runner = Runner::new(provider, EnvConfig::default());
    let tool = ToolInfo::new("flaky");
    let mut run = runner.start_run(RunOptions::new());
    run.start_agent(&AgentInfo::new("a").with_tool(tool.clone()));
    let mut turn = run.start_turn().unwrap();
    let mut batch = turn.start_tools(&[
        ToolCallRequest::new(tool.clone(), "c1", "{}"),
        ToolCallRequest::new(tool, "c2", "{not json"),
    ]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let failed = runtime
        .block_on(batch.invoke_async(0, |_| async {
            yield_now().await;
            Err(CallToolError::new("down"))
        }))
        .expect("the default handler handles it");
    let invalid = runtime
        .block_on(batch.invoke_async(1, |_| async {
            unreachable!("invalid arguments never reach the tool")
        }))
        .expect("the default handler handles it");
    assert_eq!(
        (failed.as_str(), invalid.as_str()),
        (DEFAULT_TOOL_ERROR_OUTPUT, DEFAULT_TOOL_ERROR_OUTPUT)
    );
    batch.finish();
    turn.end();
    drop(run);
    let errors: Vec<Value> = memory
        .events()
        .iter()
        .filter(|e| e.data["span_data"]["type"] == "function" && !e.data["error"].is_null())
        .map(|e| e.data["error"]["message"].clone())
        .collect();
    assert_eq!(errors, ["Error running tool (non-fatal)"; 2]);
}
