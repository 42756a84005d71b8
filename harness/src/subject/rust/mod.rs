//! The rust subject: scenarios driven through `codex-telemetry`, in process.
//!
//! It maps scenario steps onto the library's lifecycle calls and records what the library emits
//! (processor events, `openai.agents` log events, hook callbacks) as raw records. A scenario that
//! uses something the subject cannot express yet is an error for that scenario, never a pass.
//!
//! Each run is isolated: its own `TraceProvider` (never the global one) with a recording
//! processor, its own scoped `tracing` subscriber, and the scenario's `[env]` read through a
//! lookup function (falling back to the process environment, as the python driver's overlay
//! does) without touching the process environment. So parallel trials do not interfere.
//!
//! The agent loop is async, as in a tokio-based agent SDK: the lifecycle handles are held
//! across `.await`s.
//!
//! * A single run (`run.copies = 1`, with or without a user `[trace]`) runs synchronously
//!   on the calling thread: a current-thread runtime drives it, inside the user trace's and
//!   custom spans' guards, and it never yields. Its records are in program order.
//! * Concurrent copies (`run.copies > 1`) run as tasks on a multi-thread tokio runtime
//!   (several worker threads), each with its own agents and model script, the subscriber
//!   attached to the task, and an empty context at its start (like Python's
//!   `asyncio.gather` tasks). A copy yields to the runtime between lifecycle steps, so the
//!   copies interleave and move between worker threads; an async start gate holds each copy
//!   once its run has started until every copy's trace is open, so their records overlap as
//!   in Python.
//!
//! * `subject.rs`: [`RustSubject`], its entry points (run, OTLP export, default logger, Codex
//!   events, a bare processor) and the isolated recording run behind them.
//! * `capabilities.rs`: what the subject can express, declared once per scenario before it runs.
//! * `record.rs`: the recorders (processor, log layer, hooks, outcome).
//! * `script.rs`: the scripted model, tools and output types (the runtime, not telemetry).
//! * `drive.rs`: the agent loop over lifecycle calls, and concurrent copies.
//!
//! Imports go one way: `subject.rs` → `capabilities.rs`, `drive.rs` → `record.rs`, `script.rs`.

mod capabilities;
mod drive;
mod record;
mod script;
mod subject;

pub use subject::RustSubject;

#[cfg(test)]
mod tests;
