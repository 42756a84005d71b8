//! Comparing transcripts: equality as insta sees it ([`diff`]), a unified diff for people, the
//! path of the first difference ([`first_difference`]) for reports, the kinds of lines a diff
//! changes ([`change_kinds`]), and the insta-format golden
//! store they are compared with ([`golden`], re-exported as `parity::golden`).
//!
//! `diff.rs` and `path.rs` are pure text in, text out; `golden.rs` reads (and, for new goldens
//! only, writes) `golden/*.snap` and compares through `diff.rs`.

mod diff;
pub mod golden;
mod kinds;
mod path;

pub use diff::{diff, normalize_for_compare};
pub use kinds::change_kinds;
pub use path::first_difference;
