//! Correlation across processes (proptest): a parent opens a trace and nested spans, serializes
//! the current context ([`PropagatedContext`]) and hands it to real child processes (this test
//! binary again, running [`child_process_entry`]); everything the children record must join
//! the parent's trace under the span that was current at the hand-off, and their log lines must
//! carry those ids.

use std::process::Command;

use codex_telemetry::propagation::{HEADER, PropagatedContext};
use codex_telemetry::{CustomSpanData, TraceProvider};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use crate::support::Timeline;

/// The child's work: nested spans this deep, this many times.
const CHILD_WORK: &str = "CODEX_TELEMETRY_CHILD_WORK";
/// The prefix of the child's record lines on stdout (the test harness prints its own lines).
const RECORD: &str = "child-record ";

/// Entry point of the child processes of the cross-process property; does nothing unless
/// started by it (with the context in [`HEADER`]).
#[test]
#[ignore = "run by cross_process_children_join_the_parent_trace in a child process"]
fn child_process_entry() {
    let Ok(header) = std::env::var(HEADER) else {
        return;
    };
    let remote = PropagatedContext::from_header(&header).expect("the parent's context parses");
    let work: Vec<usize> = std::env::var(CHILD_WORK)
        .unwrap_or_default()
        .split(',')
        .filter_map(|n| n.parse().ok())
        .collect();
    let timeline = Timeline::with_ids();
    let provider = TraceProvider::builder()
        .with_processor(timeline.processor())
        .build();
    timeline.capture_logs(|| {
        let _resumed = provider.resume(&remote).attach();
        for depth in work {
            nest(&provider, depth);
        }
    });
    for entry in timeline.entries() {
        println!("{RECORD}{entry}");
    }
}

fn nest(provider: &TraceProvider, depth: usize) {
    if depth == 0 {
        return;
    }
    let span = provider.span(CustomSpanData::new(format!("child depth {depth}")));
    let _span = span.start_as_current();
    nest(provider, depth - 1);
}

/// Starts a child with `context` and returns its records.
fn run_child(context: &PropagatedContext, work: &[usize]) -> Result<Vec<Value>, TestCaseError> {
    let exe = std::env::current_exe().expect("the test binary");
    let work: Vec<String> = work.iter().map(ToString::to_string).collect();
    let output = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "cross_process::child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HEADER, context.to_header())
        .env(CHILD_WORK, work.join(","))
        .output()
        .map_err(|e| TestCaseError::fail(format!("cannot start the child: {e}")))?;
    if !output.status.success() {
        return Err(TestCaseError::fail(format!(
            "the child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix(RECORD))
        .map(|l| serde_json::from_str(l).expect("a record line is JSON"))
        .collect())
}

fn check(parent_depth: usize, children: &[Vec<usize>]) -> Result<(), TestCaseError> {
    let provider = TraceProvider::new();
    let trace = provider.trace("Parent workflow").start_as_current();
    let trace_id = trace.trace().id().to_owned();
    let mut spans = Vec::new();
    let mut guards = Vec::new();
    for depth in 0..parent_depth {
        let span = provider.span(CustomSpanData::new(format!("parent depth {depth}")));
        guards.push(span.start_as_current());
        spans.push(span);
    }
    let parent_span = spans.last().map(|s| s.id().to_owned());
    let context = PropagatedContext::current().expect("a trace is current");
    for work in children {
        let records = run_child(&context, work)?;
        let expected_spans: usize = work.iter().sum();
        let mut child_spans = std::collections::BTreeSet::new();
        let mut started = 0;
        for record in &records {
            let kind = record[0].as_str().unwrap_or_default();
            match kind {
                "trace_start" | "trace_end" => {
                    return Err(TestCaseError::fail(format!(
                        "the child emitted {kind}: the trace is the parent's"
                    )));
                }
                "span_start" | "span_end" => {
                    let data = &record[1];
                    prop_assert_eq!(data["trace_id"].as_str(), Some(trace_id.as_str()));
                    let parent = data["parent_id"].as_str().map(str::to_owned);
                    let id = data["id"].as_str().unwrap_or_default().to_owned();
                    prop_assert!(
                        parent == parent_span
                            || parent.as_ref().is_some_and(|p| child_spans.contains(p)),
                        "span {} hangs off {:?}, expected the parent's {:?} or a child span",
                        id,
                        parent,
                        parent_span
                    );
                    if kind == "span_start" {
                        started += 1;
                        child_spans.insert(id);
                    }
                }
                "log" => {
                    prop_assert_eq!(
                        record[3].as_str(),
                        Some(trace_id.as_str()),
                        "log {}",
                        record
                    );
                    let span = record[4].as_str().map(str::to_owned);
                    prop_assert!(
                        span == parent_span
                            || span.as_ref().is_some_and(|s| child_spans.contains(s)),
                        "log {} carries span {:?}",
                        record,
                        span
                    );
                }
                _ => {}
            }
        }
        prop_assert_eq!(started, expected_spans);
    }
    drop(guards);
    drop(trace);
    Ok(())
}

#[test]
fn cross_process_children_join_the_parent_trace() {
    let strategy = (
        0usize..3,
        prop::collection::vec(prop::collection::vec(1usize..4, 1..3), 1..3),
    );
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, |(depth, children)| check(depth, &children)) {
        panic!("{e}");
    }
}
