//! Subscribers: what reads the crate's `tracing` events (the `openai.agents` log lines and
//! the Codex events) and its spans, above everything that emits them. The default logger
//! ([`logger`]) and the test capture ([`capture`], public as `testing`).

pub mod capture;
pub mod logger;
