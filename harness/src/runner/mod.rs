//! The runner: a [`Plan`] of (scenario, subject) cells, decided, executed and judged, each
//! result passed to one callback ([`execute`]), the only link between the runner and the
//! reporters.
//!
//! * `plan.rs`: the [`Plan`], and what it decides for every cell before any subject runs
//!   (skipped subjects, scenarios a subject declares it cannot express).
//! * `stages.rs`: one cell's stages: subject → raw records → normalizer → transcript;
//!   [`otlp`]: the OTLP layer's stage (subject → OTLP export → OTLP transcript) and its
//!   scenario list.
//! * `judge.rs`: a transcript against its golden (or the python subject's), new goldens.
//! * `execute.rs`: the exec subjects' cells on worker threads, every cell judged in plan order.
//! * `events.rs`: what the reporters get: [`ParityEvent`]s, then the [`RunReport`].
//!
//! The result model ([`CellResult`], [`Status`]) lives below the runner and the matrix, in
//! [`crate::result`]; it is re-exported here.

mod events;
mod execute;
mod judge;
pub mod otlp;
mod plan;
mod stages;

pub use crate::result::{CellResult, Status};
pub use events::{ClientInfo, ParityEvent, RunReport};
pub use execute::execute;
pub use judge::verdict_against_golden;
pub use plan::Plan;
