//! The model: plain data and pure functions that depend on nothing else in the crate.
//!
//! Typed span data ([`span_data`]) and the error a span carries ([`span_error`]), the
//! clock and timestamps ([`clock`]), id generators ([`ids`]), the export wire format
//! ([`export`]), the environment configuration ([`config`]), Python's `str()`/`repr()`
//! ([`pyrepr`]) and secret scrubbing ([`scrub`]). Every other layer imports from here;
//! nothing here imports from them.

pub(crate) mod clock;
pub mod config;
pub mod export;
pub(crate) mod ids;
pub mod pyjson;
pub mod pyrepr;
pub mod scrub;
pub mod span_data;
pub(crate) mod span_error;
