//! The SDK core: the provider, traces and spans, the processor trait and its dispatch, the
//! current context, propagation to other processes, and the `openai.agents` log lines they
//! emit.
//!
//! The only import cycle of the crate is here, and it is inherent: a span dispatches to the
//! processors, which receive spans (`span` ↔ `processor`, through the provider's
//! [`shared`] state); a span's log lines carry the ids of the current context, which holds
//! spans (`span` → `log` → `context` → `span`). Everything above (processors, lifecycle,
//! OTLP, subscribers) imports from here, never the other way.

pub mod context;
pub mod log;
pub(crate) mod processor;
pub mod propagation;
pub(crate) mod provider;
pub(crate) mod shared;
pub(crate) mod span;
pub(crate) mod trace;
