//! Normalization: a raw log ([`RawLog`](crate::record::RawLog)) in, a canonical
//! [`Transcript`](crate::transcript::Transcript) out (DESIGN §5).
//!
//! [`normalize`] reads the records through `view` (lenient access and an index by id; nothing
//! there can panic), then runs four pure passes in order, each in its own file:
//!
//! 1. `order`: canonical order: per trace, emission (= causal) order; traces whose records
//!    interleave (concurrent runs) are grouped and sorted by content. Concurrency *inside* one
//!    trace is not reordered in v1.
//! 2. `rename`: every trace and span id becomes `trace#N` / `span#N`, numbered by first
//!    appearance in canonical order, the same placeholder wherever the id occurs.
//! 3. `validate`: every rule of the raw schema, as findings (never a panic); findings name
//!    placeholders, not random ids or timestamps.
//! 4. `render`: drops what was validated (`object`, timestamps, raw ids) and builds the
//!    transcript: events, span tree with end payloads, findings.
//!
//! The transcript's first line is `normalizer: v{NORMALIZER_VERSION}`.
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
//! assert!(text.starts_with("normalizer: v4\n--- events\noutcome {\"final_output\":\"hi\",\"status\":\"completed\"}\n"));
//! ```

mod json;
mod order;
mod pipeline;
mod rename;
mod render;
#[cfg(test)]
mod testing;
mod timestamp;
mod validate;
mod view;

pub use pipeline::{NORMALIZER_VERSION, normalize};
