//! Context isolation: concurrent runs on threads and on tokio tasks never cross ids, and
//! work handed to other threads or tasks through the helpers sees the right span.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use codex_telemetry::context::{self, Context, InContextExt};
use codex_telemetry::{
    AgentSpanData, EventKind, FunctionSpanData, InMemoryProcessor, RecordedEvent, TaskSpanData,
    TraceProvider, current_span, current_trace,
};
use serde_json::Value;

/// Checks the recorded stream: every span's parent exists in the same trace, every start
/// has an end, and each trace holds `expected_spans` spans. Returns the spans per trace.
fn check_stream(
    events: &[RecordedEvent],
    traces: usize,
    expected_spans: usize,
) -> BTreeMap<String, Vec<Value>> {
    let mut spans: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut starts = BTreeSet::new();
    let mut trace_ids = BTreeSet::new();
    for event in events {
        match event.kind {
            EventKind::TraceStart => {
                assert!(trace_ids.insert(event.data["id"].as_str().unwrap().to_owned()))
            }
            EventKind::TraceEnd => assert!(trace_ids.contains(event.data["id"].as_str().unwrap())),
            EventKind::SpanStart => {
                assert!(starts.insert(event.data["id"].as_str().unwrap().to_owned()));
            }
            EventKind::SpanEnd => {
                assert!(
                    starts.remove(event.data["id"].as_str().unwrap()),
                    "end without start"
                );
                let trace_id = event.data["trace_id"].as_str().unwrap().to_owned();
                spans.entry(trace_id).or_default().push(event.data.clone());
            }
        }
    }
    assert!(starts.is_empty(), "spans without an end: {starts:?}");
    assert_eq!(trace_ids.len(), traces);
    assert_eq!(spans.len(), traces);
    for (trace_id, members) in &spans {
        assert!(trace_ids.contains(trace_id));
        assert_eq!(members.len(), expected_spans, "{trace_id}");
        let ids: BTreeSet<&str> = members.iter().map(|s| s["id"].as_str().unwrap()).collect();
        for span in members {
            if let Some(parent) = span["parent_id"].as_str() {
                assert!(
                    ids.contains(parent),
                    "parent {parent} of {} is not in trace {trace_id}",
                    span["id"]
                );
            }
        }
    }
    spans
}

#[test]
fn concurrent_runs_on_threads_never_cross() {
    const RUNS: usize = 8;
    let memory = InMemoryProcessor::new();
    let provider = TraceProvider::builder()
        .with_processor(memory.clone())
        .build();
    let barrier = Arc::new(Barrier::new(RUNS));
    let runs: Vec<_> = (0..RUNS)
        .map(|i| {
            let (provider, barrier) = (provider.clone(), barrier.clone());
            std::thread::spawn(move || {
                let _trace = provider.trace(format!("run{i}")).start_as_current();
                let _task = provider
                    .span(TaskSpanData::new(format!("run{i}")))
                    .start_as_current();
                let agent = provider.span(AgentSpanData::new(format!("agent{i}")));
                let _agent = agent.start_as_current();
                barrier.wait(); // every run is inside its agent span now
                let tool = provider.span(FunctionSpanData::new(format!("tool{i}")));
                let _tool = tool.start_as_current();
                // The tool runs its work on another thread, which makes a child span.
                let child_parent = context::spawn(move || {
                    let _child = provider
                        .span(FunctionSpanData::new("inner"))
                        .start_as_current();
                    current_span().unwrap().parent_id().map(str::to_owned)
                })
                .join()
                .unwrap();
                assert_eq!(child_parent.as_deref(), Some(tool.id()));
                assert_eq!(current_span().unwrap().id(), tool.id());
            })
        })
        .collect();
    for run in runs {
        run.join().unwrap();
    }
    assert!(current_trace().is_none() && current_span().is_none());
    check_stream(&memory.events(), RUNS, 4);
}

#[test]
fn concurrent_runs_on_tokio_tasks_never_cross() {
    const RUNS: usize = 20;
    let memory = InMemoryProcessor::new();
    let provider = TraceProvider::builder()
        .with_processor(memory.clone())
        .build();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();

    let observations = runtime.block_on(async {
        let runs: Vec<_> = (0..RUNS)
            .map(|i| tokio::spawn(run(provider.clone(), i)))
            .collect();
        let mut observations = Vec::new();
        for run in runs {
            observations.push(run.await.unwrap());
        }
        observations
    });

    for (tool, blocking, spawned, after_await) in observations {
        assert_eq!(
            blocking.as_deref(),
            Some(tool.as_str()),
            "spawn_blocking-style work sees the tool span"
        );
        assert_eq!(
            spawned.as_deref(),
            Some(tool.as_str()),
            "a task spawned by the tool sees the tool span"
        );
        assert_eq!(
            after_await.as_deref(),
            Some(tool.as_str()),
            "the span stays current across awaits"
        );
    }
    let spans = check_stream(&memory.events(), RUNS, 3);
    for members in spans.values() {
        let agent = members
            .iter()
            .find(|s| s["span_data"]["type"] == "agent")
            .unwrap();
        let tool = members
            .iter()
            .find(|s| s["span_data"]["name"] == "tool")
            .unwrap();
        assert_eq!(tool["parent_id"], agent["id"]);
    }
}

/// One "run": a trace, an agent span, a tool span whose work hops to the blocking pool
/// and to a spawned task. Returns the tool span id and what the hops saw as current.
async fn run(
    provider: TraceProvider,
    i: usize,
) -> (String, Option<String>, Option<String>, Option<String>) {
    assert!(
        current_trace().is_none(),
        "a fresh task starts outside any trace"
    );
    let trace = provider.trace(format!("run{i}"));
    trace.start();
    let result = async {
        let agent = provider.span(AgentSpanData::new(format!("agent{i}")));
        agent.start();
        let result = async {
            tokio::time::sleep(Duration::from_millis((i % 3) as u64)).await;
            let tool = provider.span(FunctionSpanData::new("tool"));
            tool.start();
            let observed = async {
                let current = || current_span().map(|s| s.id().to_owned());
                let blocking = tokio::task::spawn_blocking(Context::current().wrap(current))
                    .await
                    .unwrap();
                let spawned = tokio::spawn(async move { current() }.in_current_context())
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
                let nested = provider.span(FunctionSpanData::new("nested"));
                nested.start();
                nested.finish();
                (blocking, spawned, current())
            }
            .in_context(Context::current().with_span(tool.clone().into_span()))
            .await;
            tool.finish();
            (tool.id().to_owned(), observed.0, observed.1, observed.2)
        }
        .in_context(Context::current().with_span(agent.clone().into_span()))
        .await;
        agent.finish();
        result
    }
    .in_context(Context::current().with_trace(trace.clone()))
    .await;
    trace.finish();
    assert!(current_trace().is_none());
    result
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_helpers_carry_the_context() {
    let provider = TraceProvider::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let _trace = provider.trace("wf").start_as_current();
    let tool = provider.span(FunctionSpanData::new("tool"));
    let _tool = tool.start_as_current();
    let current = || current_span().map(|s| s.id().to_owned());
    let (spawned, blocking) = runtime.block_on(async {
        let spawned = context::spawn_task(async move { current() }).await.unwrap();
        let blocking = context::spawn_blocking(current).await.unwrap();
        (spawned, blocking)
    });
    assert_eq!(spawned.as_deref(), Some(tool.id()));
    assert_eq!(blocking.as_deref(), Some(tool.id()));
}
