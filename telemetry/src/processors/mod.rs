//! Concrete processors, above the SDK's [`TracingProcessor`](crate::TracingProcessor) trait:
//! the in-memory record of tests ([`memory`]), the batch queue with its exporter
//! ([`batch`]) and JSON lines on a writer ([`json_lines`]).

pub mod batch;
pub(crate) mod json_lines;
pub(crate) mod memory;
