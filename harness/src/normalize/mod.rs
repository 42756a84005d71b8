//! Normalization: a raw log ([`RawLog`](crate::record::RawLog)) in, a canonical
//! [`Transcript`](crate::transcript::Transcript) out (DESIGN §5).
//!
//! [`normalize`] reads the records through `view` (lenient access and an index by id; nothing
//! there can panic), then runs four pure passes in order, each in its own file:
//!
//! 1. `order`: canonical order: per trace, emission (= causal) order; traces whose records
//!    interleave (concurrent runs) are grouped and sorted by content; since v4, so are
//!    concurrent runs inside one trace (other concurrency inside a trace is not reordered).
//! 2. `rename`: every trace and span id becomes `trace#N` / `span#N`, numbered by first
//!    appearance in canonical order, the same placeholder wherever the id occurs.
//! 3. `validate`: every rule of the raw schema, as findings (never a panic); findings name
//!    placeholders, not random ids or timestamps.
//! 4. `render`: drops what was validated (`object`, timestamps, raw ids) and builds the
//!    transcript: events, span tree with end payloads, findings.
//!
//! The transcript's first line is `normalizer: v{NORMALIZER_VERSION}`.
//!
//! `codex_events` is the rust subject's extension transcript: its Codex lifecycle events
//! ([`normalize_codex_events`]), compared with `golden/extensions/`, never across subjects.
//! `otlp` is the OTLP layer's transcript ([`normalize_otlp`]): what a subject's OpenTelemetry
//! export delivered, compared with `golden/otlp/` and across subjects.
//!
//! ```
//! use parity::normalize::normalize;
//! use parity::record::RawLog;
//!
//! let log = RawLog::from_json_lines(
//!     r#"{"seq":0,"kind":"outcome","data":{"status":"completed","final_output":"hi"}}"#,
//! )
//! .unwrap();
//! let text = normalize(&log).to_string();
//! assert!(text.starts_with("normalizer: v5\n--- events\noutcome {\"final_output\":\"hi\",\"status\":\"completed\"}\n"));
//! ```

mod codex_events;
mod json;
mod order;
mod otlp;
mod pipeline;
mod rename;
mod render;
#[cfg(test)]
mod testing;
mod timestamp;
mod validate;
mod view;

pub use codex_events::{CODEX_EVENTS_VERSION, normalize_codex_events};
pub use otlp::{OTLP_TRANSCRIPT_VERSION, normalize_otlp};
pub use pipeline::{NORMALIZER_VERSION, normalize};
