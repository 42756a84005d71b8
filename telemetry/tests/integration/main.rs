//! Integration tests of `codex-telemetry`: one binary, one module per behaviour.

mod async_runs;
mod concurrency;
mod lifecycle;
mod correlation;
mod no_alloc;
mod python_timelines;
mod support;
