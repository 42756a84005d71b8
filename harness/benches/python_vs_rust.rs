//! The Python client measured in the same `cargo bench` run as the Rust library, so the
//! Python ÷ Rust ratios in `docs/benchmarks.md` come from figures taken side by side.
//!
//! * `python/span/*`: one `custom_span` started and ended inside a trace, in the real client
//!   (embedded through pyo3, the harness's venv), timed inside Python
//!   (`harness/python/parity_bench.py`); configurations as `telemetry/benches/spans.rs`.
//! * `rust/span/*`: the same in codex-telemetry, in this process.
//! * `run/python/tool_call/*`: the `tool_call` scenario's run (`await Runner.run`, one tool
//!   call then an answer, generation spans on) timed inside Python, with a serializing
//!   processor (`recording`) or tracing disabled (`disabled`).
//! * `run/rust/tool_call/*`: the same scenario through the rust subject's driver of the
//!   lifecycle API, with the same serializing processor as the Python side (`recording`) or
//!   tracing disabled. Recording minus disabled is the telemetry share of a run.
//! * `run/rust_subject/tool_call/*`: the rust subject as the harness runs it, recording every
//!   export as a value and every `openai.agents` DEBUG line (more than the Python side records).
//! * `run/*/tool_call/telemetry_share`: per iteration, a recording run and a disabled run back
//!   to back, the difference summed: the telemetry share without the drift between two
//!   separately measured configurations.
//!
//! `cargo bench -p parity-harness --bench python_vs_rust` (`-- --quick` for a smoke run);
//! `bash scripts/benchmarks.sh` runs it with the library's benchmarks and writes the ratios.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Duration;

use codex_telemetry::{CustomSpanData, Span, Trace, TraceProvider, TracingProcessor};
use criterion::{Criterion, criterion_group, criterion_main};
use parity::scenario::load_scenario;
use parity::subject::SubjectKind;
use parity::subject::python::PythonSubject;
use parity::subject::rust::RustSubject;
use parity::workspace::Workspace;

/// Serializes every export to bytes, as the Python side's `_SerializingProcessor` does.
#[derive(Default)]
struct Serializing(Mutex<Vec<u8>>);

impl Serializing {
    fn write(&self, write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<bool>) {
        let mut buffer = self.0.lock().unwrap();
        buffer.clear();
        let _ = write(&mut buffer);
        black_box(buffer.len());
    }
}

impl TracingProcessor for Serializing {
    fn on_trace_start(&self, trace: &Trace) {
        self.write(|b| trace.write_export(b));
    }
    fn on_trace_end(&self, trace: &Trace) {
        self.write(|b| trace.write_export(b));
    }
    fn on_span_start(&self, span: &Span) {
        self.write(|b| span.write_export(b));
    }
    fn on_span_end(&self, span: &Span) {
        self.write(|b| span.write_export(b));
    }
}

fn spans(c: &mut Criterion) {
    let python = PythonSubject::new(Workspace::current());
    for config in ["recording", "no_processor", "disabled"] {
        c.bench_function(&format!("python/span/{config}"), |b| {
            b.iter_custom(|iters| {
                python
                    .bench("custom_spans", config, iters)
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        });
        let provider = match config {
            "recording" => TraceProvider::builder()
                .with_processor(Serializing(Mutex::new(Vec::with_capacity(1024))))
                .build(),
            "no_processor" => TraceProvider::new(),
            _ => TraceProvider::builder().with_disabled(true).build(),
        };
        let _trace = provider.trace("bench").start_as_current();
        c.bench_function(&format!("rust/span/{config}"), |b| {
            b.iter(|| {
                let span = provider.span(CustomSpanData::new("step"));
                let _guard = black_box(span.start_as_current());
            })
        });
    }
}

fn runs(c: &mut Criterion) {
    let workspace = Workspace::current();
    let recording = load_scenario(&workspace.scenarios_dir().join("tool_call.toml"))
        .expect("scenarios/tool_call.toml loads");
    let mut disabled = recording.clone();
    disabled.spec.run.tracing_disabled = Some(true);
    let python = PythonSubject::new(workspace.clone());
    let rust = RustSubject::new();
    let mut group = c.benchmark_group("run");
    group.measurement_time(Duration::from_secs(5));
    for (config, scenario) in [("recording", &recording), ("disabled", &disabled)] {
        group.bench_function(format!("python/tool_call/{config}"), |b| {
            b.iter_custom(|iters| {
                python
                    .bench("tool_call_runs", config, iters)
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        });
        group.bench_function(format!("rust/tool_call/{config}"), |b| {
            let processor = std::sync::Arc::new(Serializing::default());
            b.iter(|| {
                rust.run_with_processor(scenario, processor.clone())
                    .expect("the run works")
            })
        });
        group.bench_function(format!("rust_subject/tool_call/{config}"), |b| {
            b.iter(|| {
                black_box(
                    SubjectKind::Rust
                        .run(&workspace, scenario)
                        .expect("the run works"),
                )
            })
        });
    }
    // The telemetry share measured directly: a recording run and a disabled run back to back
    // per iteration, adding the difference (drift stays out of it). A Python run varies by
    // more than its telemetry share, so each sample sums many pairs: few, long samples.
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.bench_function("python/tool_call/telemetry_share", |b| {
        b.iter_custom(|iters| {
            python
                .bench("tool_call_share", "share", iters)
                .unwrap_or_else(|e| panic!("{e}"))
        })
    });
    group.bench_function("rust/tool_call/telemetry_share", |b| {
        let processor = std::sync::Arc::new(Serializing::default());
        b.iter_custom(|iters| {
            let (mut on, mut off) = (Duration::ZERO, Duration::ZERO);
            for _ in 0..iters {
                let start = std::time::Instant::now();
                rust.run_with_processor(&recording, processor.clone())
                    .expect("the run works");
                on += start.elapsed();
                let start = std::time::Instant::now();
                rust.run_with_processor(&disabled, processor.clone())
                    .expect("the run works");
                off += start.elapsed();
            }
            on.saturating_sub(off)
        })
    });
    group.finish();
}

criterion_group!(benches, spans, runs);
criterion_main!(benches);
