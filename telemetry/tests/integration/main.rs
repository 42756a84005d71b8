//! Integration tests of `codex-telemetry`: one binary, one module per behaviour.

mod async_runs;
mod batching;
mod concurrency;
mod correlation;
mod cross_process;
mod events;
mod layers;
mod lifecycle;
mod logger;
mod metrics;
mod no_alloc;
mod otlp;
mod python_timelines;
mod scrubbing;
mod support;
mod write_export;
